package dev.mycelium.node.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The data directory and what is in it end up owner-only, whatever they were. */
class DataDirPermissionsTest {
  @TempDir Path tmp;

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void aNewDataDirectoryIsOwnerOnly() throws Exception {
    assumeTrue(SecretFiles.posix(tmp), "POSIX permissions only");
    Path data = tmp.resolve("a").resolve("data");
    DataDirPermissions.secure(data, LoggerFactory.getLogger(getClass()));
    assertThat(mode(data)).isEqualTo("rwx------");
  }

  @Test
  void anOpenDataDirectoryAndItsFilesAreTightenedAndLinksLeftAlone() throws Exception {
    assumeTrue(SecretFiles.posix(tmp), "POSIX permissions only");
    Path data = Files.createDirectory(tmp.resolve("data"));
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path store = Files.writeString(data.resolve("fragments.cm3"), "private memories");
    Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rw-rw-r--"));
    Path sub = Files.createDirectory(data.resolve("manifests"));
    Files.setPosixFilePermissions(sub, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path manifest = Files.writeString(sub.resolve("m.bin"), "x");
    Files.setPosixFilePermissions(manifest, PosixFilePermissions.fromString("rw-r-----"));
    Path already = Files.writeString(data.resolve("api.key"), "k");
    Files.setPosixFilePermissions(already, PosixFilePermissions.fromString("r--------"));
    Path outside = Files.writeString(tmp.resolve("outside.txt"), "not ours");
    Files.setPosixFilePermissions(outside, PosixFilePermissions.fromString("rw-r--r--"));
    Files.createSymbolicLink(data.resolve("link"), outside);

    assertThat(DataDirPermissions.tighten(data)).containsExactlyInAnyOrder(Path.of(""),
        Path.of("fragments.cm3"), Path.of("manifests"), Path.of("manifests", "m.bin"));

    assertThat(mode(data)).isEqualTo("rwx------");
    assertThat(mode(store)).isEqualTo("rw-------");
    assertThat(mode(sub)).isEqualTo("rwx------");
    assertThat(mode(manifest)).isEqualTo("rw-------");
    // Never widened, and what a link points to outside is not ours to change.
    assertThat(mode(already)).isEqualTo("r--------");
    assertThat(mode(outside)).isEqualTo("rw-r--r--");
    assertThat(DataDirPermissions.tighten(data)).isEmpty();
  }

  @Test
  void aSecretFileIsWrittenOwnerOnlyAndReplacedWhole() throws Exception {
    assumeTrue(SecretFiles.posix(tmp), "POSIX permissions only");
    Path key = tmp.resolve("api.key");
    SecretFiles.write(key, "one\n");
    SecretFiles.write(key, "two\n");
    assertThat(Files.readString(key)).isEqualTo("two\n");
    assertThat(mode(key)).isEqualTo("rw-------");
    try (var left = Files.list(tmp)) {
      assertThat(left).containsExactly(key);
    }
  }
}
