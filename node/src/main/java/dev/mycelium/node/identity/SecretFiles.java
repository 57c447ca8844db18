package dev.mycelium.node.identity;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes small secret files (the identity seed, the API key) so that they are never readable by
 * others, not even for an instant: the temporary file is created with mode 0600, filled,
 * synced, then moved into place atomically and the directory synced, so a crash leaves either
 * the old file or the new one, never a half-written key.
 */
public final class SecretFiles {
  /** Owner read and write only. */
  public static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  private SecretFiles() {}

  /** Whether the file system of this path supports POSIX permissions. */
  public static boolean posix(Path path) {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
        && path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  /** Writes the text to the file, mode 0600, atomically replacing any old file. */
  public static void write(Path file, String text) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    FileAttribute<?>[] attrs =
        posix(dir)
            ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
            : new FileAttribute<?>[0];
    Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp", attrs);
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Makes a rename in the directory durable: without it a crash right after the move may
   * bring back the old key, or no key, after the new one was handed out.
   */
  static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // Some platforms cannot open a directory to sync it; the rename is then as durable as
      // the file system makes it.
    }
  }

  /**
   * Reads a secret file; when others can read it, tightens it to 0600 and says so, since a key
   * copied in by hand often arrives world-readable.
   */
  public static String read(Path file, org.slf4j.Logger log) throws IOException {
    if (posix(file)) {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      if (!OWNER_ONLY.containsAll(perms)) {
        log.warn("{} was readable by others ({}); setting it to 0600", file,
            PosixFilePermissions.toString(perms));
        Files.setPosixFilePermissions(file, OWNER_ONLY);
      }
    }
    return Files.readString(file, StandardCharsets.UTF_8);
  }
}
