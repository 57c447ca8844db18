package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeyTest {
  @TempDir Path tmp;

  @Test
  void madeOnceWithMode0600And32RandomBytes() throws Exception {
    ApiKey a = ApiKey.loadOrCreate(tmp);
    Path file = tmp.resolve(ApiKey.FILE_NAME);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(Base64.getUrlDecoder().decode(a.value())).hasSize(32);
    assertThat(Files.readString(file).trim()).isEqualTo(a.value());
    assertThat(ApiKey.loadOrCreate(tmp).value()).isEqualTo(a.value());
    assertThat(ApiKey.loadOrCreate(tmp.resolve("other")).value()).isNotEqualTo(a.value());
  }

  @Test
  void matchesOnlyTheBearerHeaderWithTheExactKey() {
    ApiKey k = ApiKey.of("s3cret-key");
    assertThat(k.matchesHeader("Bearer s3cret-key")).isTrue();
    assertThat(k.matchesHeader("bearer s3cret-key")).isTrue();
    assertThat(k.matchesHeader("Bearer s3cret-kez")).isFalse();
    assertThat(k.matchesHeader("Bearer s3cret-key2")).isFalse();
    assertThat(k.matchesHeader("Bearer ")).isFalse();
    assertThat(k.matchesHeader("s3cret-key")).isFalse();
    assertThat(k.matchesHeader("Basic s3cret-key")).isFalse();
    assertThat(k.matchesHeader(null)).isFalse();
    assertThat(k.toString()).doesNotContain("s3cret");
  }
}
