package dev.mycelium.node.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityTest {
  @TempDir Path tmp;

  @Test
  void firstStartMakesAKeyWithMode0600AndLaterStartsLoadIt() throws Exception {
    Path data = tmp.resolve("data");
    Files.createDirectories(data);
    Identity a = Identity.loadOrCreate(data);
    Path file = data.resolve(Identity.FILE_NAME);
    assertThat(file).exists();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(Files.readString(file)).startsWith(Identity.FORMAT + " ");
    Identity b = Identity.loadOrCreate(data);
    assertThat(b.nodeId()).isEqualTo(a.nodeId());
    assertThat(b.sameAs(a)).isTrue();
    try (var files = Files.list(data)) {
      assertThat(files).containsExactly(file);
    }
  }

  @Test
  void twoDataDirectoriesGetDifferentIdentities() throws Exception {
    Identity a = Identity.loadOrCreate(tmp.resolve("a"));
    Identity b = Identity.loadOrCreate(tmp.resolve("b"));
    assertThat(a.nodeId()).isNotEqualTo(b.nodeId());
  }

  @Test
  void exportThenImportRoundTrips() throws Exception {
    Identity original = Identity.loadOrCreate(tmp.resolve("a"));
    Path exported = tmp.resolve("backup.key");
    original.export(exported);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(exported)))
        .isEqualTo("rw-------");
    Identity imported = Identity.importFrom(exported, tmp.resolve("fresh"), false);
    assertThat(imported.nodeId()).isEqualTo(original.nodeId());
    assertThat(Identity.loadOrCreate(tmp.resolve("fresh")).nodeId())
        .isEqualTo(original.nodeId());
    byte[] msg = {1, 2, 3};
    assertThat(dev.mycelium.model.OwnerKeys.verify(
            original.keys().publicKey(), msg, imported.keys().sign(msg)))
        .isTrue();
  }

  @Test
  void importRefusesToReplaceADifferentIdentityUnlessForced() throws Exception {
    Identity a = Identity.loadOrCreate(tmp.resolve("a"));
    Identity b = Identity.loadOrCreate(tmp.resolve("b"));
    Path exportedA = tmp.resolve("a.key");
    a.export(exportedA);
    assertThatThrownBy(() -> Identity.importFrom(exportedA, tmp.resolve("b"), false))
        .isInstanceOf(IdentityException.class)
        .hasMessageContaining(b.nodeId().toString())
        .hasMessageContaining("--force");
    assertThat(Identity.loadOrCreate(tmp.resolve("b")).nodeId()).isEqualTo(b.nodeId());
    Identity.importFrom(exportedA, tmp.resolve("b"), true);
    assertThat(Identity.loadOrCreate(tmp.resolve("b")).nodeId()).isEqualTo(a.nodeId());
    // Importing the identity that is already there is a no-op, not a conflict.
    assertThat(Identity.importFrom(exportedA, tmp.resolve("b"), false).nodeId())
        .isEqualTo(a.nodeId());
  }

  @Test
  void malformedFilesAreRejectedWithWhatIsWrong() throws Exception {
    Path f = tmp.resolve("bad.key");
    Files.writeString(f, "hello world\n");
    assertThatThrownBy(() -> Identity.read(f))
        .isInstanceOf(IdentityException.class)
        .hasMessageContaining(Identity.FORMAT);
    Files.writeString(f, Identity.FORMAT + " AAAA\n");
    assertThatThrownBy(() -> Identity.read(f))
        .isInstanceOf(IdentityException.class)
        .hasMessageContaining("32 bytes");
    Files.writeString(f, Identity.FORMAT + " !!!!\n");
    assertThatThrownBy(() -> Identity.read(f))
        .isInstanceOf(IdentityException.class)
        .hasMessageContaining("base64");
  }

  @Test
  void aWorldReadableKeyIsTightenedOnRead() throws Exception {
    Path data = tmp.resolve("d");
    Identity a = Identity.loadOrCreate(data);
    Path file = data.resolve(Identity.FILE_NAME);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(Identity.loadOrCreate(data).nodeId()).isEqualTo(a.nodeId());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
  }
}
