package dev.mycelium.node.identity;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.wire.NodeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's identity: an Ed25519 key pair (RFC 8032) whose 32-byte seed is kept in
 * {@code <data>/identity.key} with mode 0600. The node ID is the SHA-256 of the public key.
 *
 * <p>It lives in a file of its own, apart from the store, because it is the one thing a user
 * must keep: with it, a node that lost its disk proves it is the owner and pulls its fragments
 * back from neighbours. Hence {@link #export} and {@link #importFrom}.
 *
 * <p>File format, one line: {@code mycelium-identity-v1 <base64 of the 32-byte seed>}.
 */
public final class Identity {
  /** File name in the data directory. */
  public static final String FILE_NAME = "identity.key";

  /** First word of the file, naming its format version. */
  public static final String FORMAT = "mycelium-identity-v1";

  private static final Logger LOG = LoggerFactory.getLogger(Identity.class);

  private final OwnerKeys keys;

  private Identity(OwnerKeys keys) {
    this.keys = keys;
  }

  /** The identity of the given keys (for tests and tools that hold a seed). */
  public static Identity of(OwnerKeys keys) {
    return new Identity(keys);
  }

  /**
   * Loads the identity of a data directory, making a new one on first start.
   *
   * @throws IdentityException when the file exists but is not a valid identity
   */
  public static Identity loadOrCreate(Path dataDir) {
    Path file = dataDir.resolve(FILE_NAME);
    try {
      if (Files.exists(file)) {
        Identity id = read(file);
        LOG.info("loaded identity {} from {}", id.nodeId(), file);
        return id;
      }
      Identity id = new Identity(OwnerKeys.generate(new SecureRandom()));
      SecretFiles.write(file, id.encode());
      LOG.info("made a new identity {} in {}", id.nodeId(), file);
      return id;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads an identity file.
   *
   * @throws IdentityException when it is not in the expected format
   * @throws IOException when it cannot be read
   */
  public static Identity read(Path file) throws IOException {
    String text = SecretFiles.read(file, LOG).trim();
    String[] parts = text.split("\\s+");
    if (parts.length != 2 || !parts[0].equals(FORMAT)) {
      throw new IdentityException(
          file + " is not a Mycelium identity file (expected \"" + FORMAT + " <base64 seed>\")");
    }
    byte[] seed;
    try {
      seed = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw new IdentityException(file + " holds no valid base64 seed");
    }
    if (seed.length != 32) {
      throw new IdentityException(
          file + " holds a " + seed.length + "-byte seed; an Ed25519 seed is 32 bytes");
    }
    try {
      return new Identity(OwnerKeys.fromSeed(seed));
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  /** Writes this identity to a file (mode 0600), for safekeeping. */
  public void export(Path file) throws IOException {
    SecretFiles.write(file, encode());
    LOG.info("exported identity {} to {}", nodeId(), file);
  }

  /**
   * Installs the identity kept in {@code file} as the identity of {@code dataDir}, refusing to
   * replace a different one.
   *
   * @throws IdentityException when the data directory has a different identity
   */
  public static Identity importFrom(Path file, Path dataDir) throws IOException {
    return importFrom(file, dataDir, false);
  }

  /**
   * Installs the identity kept in {@code file} as the identity of {@code dataDir}.
   *
   * @param force replace a different identity that is already there
   * @return the installed identity
   * @throws IdentityException when the data directory has a different identity and
   *     {@code force} is false, or the file is not an identity
   */
  public static Identity importFrom(Path file, Path dataDir, boolean force) throws IOException {
    Identity incoming = read(file);
    Path target = dataDir.resolve(FILE_NAME);
    if (Files.exists(target)) {
      Identity existing = read(target);
      if (existing.sameAs(incoming)) {
        return existing;
      }
      if (!force) {
        throw new IdentityException(
            dataDir + " already has identity " + existing.nodeId() + "; importing "
                + incoming.nodeId() + " would replace it. Export the old one first, then use "
                + "--force");
      }
      LOG.warn("replacing identity {} with {} in {}", existing.nodeId(), incoming.nodeId(),
          dataDir);
    }
    SecretFiles.write(target, incoming.encode());
    LOG.info("imported identity {} into {}", incoming.nodeId(), target);
    return incoming;
  }

  /** The signing keys. */
  public OwnerKeys keys() {
    return keys;
  }

  /** SHA-256 of the public key. */
  public NodeId nodeId() {
    return keys.nodeId();
  }

  /** Whether two identities hold the same key. */
  public boolean sameAs(Identity other) {
    return MessageDigest.isEqual(keys.seed(), other.keys.seed());
  }

  private String encode() {
    return FORMAT + " " + Base64.getEncoder().encodeToString(keys.seed()) + "\n";
  }

  @Override
  public String toString() {
    return "Identity[" + nodeId() + "]";
  }
}
