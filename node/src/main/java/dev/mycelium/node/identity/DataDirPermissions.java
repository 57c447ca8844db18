package dev.mycelium.node.identity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;

/**
 * Keeps the data directory private to the user who runs the node: the directory and its
 * sub-directories 0700, every file 0600. The directory is what protects: inside a 0700
 * directory no other account can open a file whatever its own mode, which covers the files
 * that Chronicle Map, the index and the manifests create under the process umask. The files'
 * own modes are tightened as well, so that a copy or a later {@code chmod} of the directory
 * does not expose private memories, which the store holds in clear.
 */
public final class DataDirPermissions {
  /** Owner read, write and search only. */
  public static final Set<PosixFilePermission> OWNER_DIR = PosixFilePermissions.fromString(
      "rwx------");

  private DataDirPermissions() {}

  /**
   * Creates the data directory 0700, or tightens an existing one and everything in it, warning
   * about what was open to others (someone or something changed it since the last stop).
   */
  public static void secure(Path dir, Logger log) {
    try {
      if (!Files.exists(dir)) {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        if (SecretFiles.posix(parent == null ? dir : parent)) {
          Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_DIR));
          // The umask may have taken bits away, never added any; set it exactly anyway.
          Files.setPosixFilePermissions(dir, OWNER_DIR);
        } else {
          Files.createDirectory(dir);
        }
        return;
      }
      List<Path> fixed = tighten(dir);
      if (!fixed.isEmpty()) {
        log.warn("{} file(s) in the data directory {} were open to other users, now owner "
            + "only (0700 directories, 0600 files): {}{}", fixed.size(), dir,
            fixed.subList(0, Math.min(5, fixed.size())).stream()
                .map(p -> p.toString().isEmpty() ? "." : p.toString()).toList(),
            fixed.size() > 5 ? " ..." : "");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create or secure the data directory " + dir
          + ": " + e.getMessage(), e);
    }
  }

  /**
   * Sets the data directory and its sub-directories to 0700 and its files to 0600 where they
   * were wider, without following links.
   *
   * @return the paths that were changed
   */
  public static List<Path> tighten(Path dir) throws IOException {
    List<Path> fixed = new ArrayList<>();
    if (!SecretFiles.posix(dir) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return fixed;
    }
    try (Stream<Path> all = Files.walk(dir, 8)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (Files.isSymbolicLink(p)) {
          continue;
        }
        boolean isDir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> allowed = isDir ? OWNER_DIR : SecretFiles.OWNER_ONLY;
        Set<PosixFilePermission> perms;
        try {
          perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException gone) {
          continue;
        }
        if (!allowed.containsAll(perms)) {
          Set<PosixFilePermission> narrowed = EnumSet.noneOf(PosixFilePermission.class);
          narrowed.addAll(perms);
          narrowed.retainAll(allowed);
          Files.setPosixFilePermissions(p, narrowed);
          fixed.add(dir.relativize(p));
        }
      }
    } catch (UncheckedIOException e) {
      // A file removed by a running part of the node while the walk passed by.
      if (!(e.getCause() instanceof java.nio.file.NoSuchFileException)) {
        throw e.getCause();
      }
    }
    return fixed;
  }

  /** Sets one file this process made to 0600 if it exists; failures are ignored. */
  public static void ownerOnly(Path file) {
    try {
      if (SecretFiles.posix(file) && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        Files.setPosixFilePermissions(file, SecretFiles.OWNER_ONLY);
      }
    } catch (IOException | RuntimeException e) {
      // The 0700 directory keeps others out anyway.
    }
  }

  /**
   * Tightens quietly what this process made under its umask (the store, the index, manifests);
   * a failure is logged, not thrown, since the 0700 directory already keeps others out.
   */
  public static void tightenQuietly(Path dir, Logger log) {
    try {
      List<Path> fixed = tighten(dir);
      log.debug("data directory {}: {} new file(s) set to owner only", dir, fixed.size());
    } catch (IOException | RuntimeException e) {
      log.warn("could not set the files in {} to owner only: {}", dir, e.toString());
    }
  }
}
