package dev.mycelium.node;

import dev.mycelium.node.identity.SecretFiles;
import dev.mycelium.node.peer.NetworkKeyring;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code <data-dir>/network.keys}: the node's network keyring as changed by
 * {@code mycelium keyring}, so that a rotation survives a restart. Why a file of its own and not
 * the config: the keyring changes while the node runs, and a config file is the operator's,
 * never rewritten by the node.
 *
 * <p>Format: a first line {@code mycelium-network-keys-v1}, then one line per accepted key,
 * {@code use <base64>} for the key the node presents (exactly one) and {@code install <base64>}
 * for each other one. Mode 0600, written atomically ({@link SecretFiles}). Once the file exists
 * it is the keyring; {@code mycelium.peer.network-key} only seeds the keyring while there is no
 * file. A damaged file stops the start: guessing could open a private network.
 */
final class NetworkKeysFile {
  private static final Logger LOG = LoggerFactory.getLogger(NetworkKeysFile.class);

  /** File name in the data directory. */
  static final String FILE_NAME = "network.keys";

  private static final String HEADER = "mycelium-network-keys-v1";

  private NetworkKeysFile() {}

  /**
   * The keyring to start with: the file's when there is one, else one made of the configured
   * key, else empty (an open network).
   *
   * @throws IllegalStateException saying what is wrong with a damaged file
   */
  static Optional<NetworkKeyring> load(Path file, Optional<byte[]> configured) {
    if (!Files.exists(file)) {
      return configured.map(NetworkKeyring::of);
    }
    List<String> lines;
    try {
      lines = SecretFiles.read(file, LOG).lines().map(String::trim)
          .filter(l -> !l.isEmpty()).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
      throw damaged(file, "the first line is not " + HEADER);
    }
    byte[] use = null;
    List<byte[]> others = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      String[] parts = lines.get(i).split("\\s+");
      if (parts.length != 2 || !(parts[0].equals("use") || parts[0].equals("install"))) {
        throw damaged(file, "line " + (i + 1) + " is not \"use <key>\" or \"install <key>\"");
      }
      byte[] key;
      try {
        key = NetworkKeyring.parse(parts[1]);
      } catch (IllegalArgumentException e) {
        throw damaged(file, "line " + (i + 1) + ": " + e.getMessage());
      }
      if (parts[0].equals("use")) {
        if (use != null) {
          throw damaged(file, "more than one key is marked \"use\"");
        }
        use = key;
      } else {
        others.add(key);
      }
    }
    if (use == null) {
      throw damaged(file, "no key is marked \"use\"");
    }
    NetworkKeyring ring = NetworkKeyring.of(use);
    others.forEach(ring::install);
    if (configured.isPresent() && !ring.accepts(NetworkKeyring.networkId(configured.get()))) {
      LOG.warn("mycelium.peer.network-key is not in {}, which holds the keyring since the last "
          + "`mycelium keyring` change; the configured key is ignored", file);
    }
    return Optional.of(ring);
  }

  private static IllegalStateException damaged(Path file, String why) {
    return new IllegalStateException(file + " is damaged: " + why + "; restore it, or delete it "
        + "to start from mycelium.peer.network-key");
  }

  /** Saves the keyring, mode 0600, atomically. */
  static void write(Path file, NetworkKeyring ring) throws IOException {
    Base64.Encoder b64 = Base64.getEncoder();
    byte[] use = ring.keyInUse();
    StringBuilder sb = new StringBuilder(HEADER).append('\n');
    sb.append("use ").append(b64.encodeToString(use)).append('\n');
    for (byte[] k : ring.keys()) {
      if (!Arrays.equals(k, use)) {
        sb.append("install ").append(b64.encodeToString(k)).append('\n');
      }
    }
    SecretFiles.write(file, sb.toString());
  }
}
