package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.identity.SecretFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node started under an ordinary umask (022: new files readable by everyone) leaves nothing
 * in its data directory that another local user can read: the directory and its
 * sub-directories are 0700, the identity, the API key, the store with its private memories in
 * clear, the index and the manifests are 0600; and a data directory opened up while the node
 * was down is closed again at the next start.
 */
class DataDirModesIT {
  @TempDir Path tmp;

  private static final Set<PosixFilePermission> OTHERS = Set.of(
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
      PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
      PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

  private static List<String> openToOthers(Path dir) throws Exception {
    List<String> open = new ArrayList<>();
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
        if (perms.stream().anyMatch(OTHERS::contains)) {
          open.add(dir.relativize(p) + " " + PosixFilePermissions.toString(perms));
        }
      }
    }
    return open;
  }

  @Test
  void everythingTheNodeKeepsIsOwnerOnly() throws Exception {
    assumeTrue(SecretFiles.posix(tmp), "POSIX permissions only");
    // Shows the umask is one that would leave files readable by others.
    Path probe = Files.writeString(tmp.resolve("probe"), "x");
    assumeTrue(Files.getPosixFilePermissions(probe).contains(PosixFilePermission.OTHERS_READ),
        "the test JVM runs under a umask that already keeps others out");
    Path data = tmp.resolve("data");
    Node node = Node.start(new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", data.toString()).load(), new StandardBackends());
    try {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data)))
          .isEqualTo("rwx------");
      assertThat(data.resolve("identity.key")).exists();
      assertThat(data.resolve("api.key")).exists();
      try (Stream<Path> files = Files.list(data)) {
        assertThat(files.count()).isGreaterThan(4);
      }
      assertThat(openToOthers(data)).isEmpty();
    } finally {
      node.close();
    }
    assertThat(openToOthers(data)).isEmpty();

    // Opened up while the node was down: the next start closes it again.
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(data.resolve("api.key"),
        PosixFilePermissions.fromString("rw-r--r--"));
    Node again = Node.start(new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", data.toString()).load(), new StandardBackends());
    try {
      assertThat(openToOthers(data)).isEmpty();
    } finally {
      again.close();
    }
  }
}
