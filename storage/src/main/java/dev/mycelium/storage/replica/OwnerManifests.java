package dev.mycelium.storage.replica;

import dev.mycelium.wire.NodeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latest signed manifest of each owner a holder keeps replicas for (and the node's own),
 * as opaque bytes: the replication core signs and verifies them, this class only keeps them.
 * One small file per owner, {@code <dir>/<owner hex>.manifest}, written to a temporary file,
 * synced and renamed into place, so a crash leaves the old manifest or the new one, never half
 * of one. Manifests change only when an owner's holders change, so a file each costs nothing
 * and needs no map. With no directory, they are kept in memory only (tests, the simulator).
 *
 * <p>Thread-safe.
 */
public final class OwnerManifests {
  /** Folder of the manifests in the data directory. */
  public static final String DIR_NAME = "manifests";
  private static final String SUFFIX = ".manifest";
  private static final HexFormat HEX = HexFormat.of();
  private static final Logger LOG = LoggerFactory.getLogger(OwnerManifests.class);

  private final Path dir;
  private final Map<NodeId, byte[]> manifests = new ConcurrentHashMap<>();

  private OwnerManifests(Path dir) {
    this.dir = dir;
  }

  /** Manifests kept in memory only. */
  public static OwnerManifests inMemory() {
    return new OwnerManifests(null);
  }

  /**
   * Manifests kept in {@code dir} (made if missing), loading those already there; a file that
   * cannot be read is skipped and logged (the owner's next anti-entropy round sends it again).
   */
  public static OwnerManifests open(Path dir) throws IOException {
    Files.createDirectories(dir);
    OwnerManifests m = new OwnerManifests(dir);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        String hex = name.substring(0, name.length() - SUFFIX.length());
        try {
          m.manifests.put(NodeId.of(HEX.parseHex(hex)), Files.readAllBytes(f));
        } catch (IllegalArgumentException | IOException e) {
          LOG.warn("skipping unreadable manifest file {} ({})", f, e.toString());
        }
      }
    }
    return m;
  }

  /** The owners with a manifest kept. */
  public Set<NodeId> owners() {
    return Set.copyOf(manifests.keySet());
  }

  /** One owner's manifest bytes. */
  public Optional<byte[]> get(NodeId owner) {
    byte[] b = manifests.get(owner);
    return b == null ? Optional.empty() : Optional.of(b.clone());
  }

  /**
   * Keeps an owner's manifest, replacing the previous one durably. The same manifest again
   * (every replica an owner sends carries it) costs nothing: no write, no sync.
   */
  public void put(NodeId owner, byte[] manifest) {
    if (java.util.Arrays.equals(manifests.get(owner), manifest)) {
      return;
    }
    byte[] copy = manifest.clone();
    if (dir != null) {
      Path file = dir.resolve(HEX.formatHex(owner.toBytes()) + SUFFIX);
      Path tmp = dir.resolve(file.getFileName() + ".tmp");
      try {
        Files.write(tmp, copy);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
          ch.force(true);
        }
        try {
          Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE,
              StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the manifest of " + owner.shortString()
            + " to " + file, e);
      }
    }
    manifests.put(owner, copy);
  }

  /** Forgets an owner's manifest. */
  public void remove(NodeId owner) {
    manifests.remove(owner);
    if (dir != null) {
      try {
        Files.deleteIfExists(dir.resolve(HEX.formatHex(owner.toBytes()) + SUFFIX));
      } catch (IOException e) {
        LOG.warn("could not remove the manifest of {} ({})", owner.shortString(), e.toString());
      }
    }
  }
}
