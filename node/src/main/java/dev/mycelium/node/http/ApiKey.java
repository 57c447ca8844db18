package dev.mycelium.node.http;

import dev.mycelium.node.identity.SecretFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The secret a client presents as {@code Authorization: Bearer <key>}. Made on first start
 * (32 random bytes, base64url) into {@code <data>/api.key}, mode 0600, so only the user who
 * runs the node (and their CLI, which reads the same file) can use the API, even on a shared
 * machine where the loopback port is reachable by every account.
 */
public final class ApiKey {
  /** File name in the data directory. */
  public static final String FILE_NAME = "api.key";

  private static final Logger LOG = LoggerFactory.getLogger(ApiKey.class);
  private static final String BEARER = "Bearer ";

  private final byte[] key;

  private ApiKey(String key) {
    this.key = key.getBytes(StandardCharsets.UTF_8);
  }

  /** A key with the given value (for tests and clients). */
  public static ApiKey of(String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("an API key must not be empty");
    }
    return new ApiKey(value.trim());
  }

  /** Loads the key of a data directory, making one on first start. */
  public static ApiKey loadOrCreate(Path dataDir) {
    Path file = dataDir.resolve(FILE_NAME);
    try {
      if (Files.exists(file)) {
        String value = SecretFiles.read(file, LOG).trim();
        if (value.isEmpty()) {
          throw new IllegalStateException(file + " is empty; delete it to have a new key made");
        }
        return new ApiKey(value);
      }
      byte[] raw = new byte[32];
      new SecureRandom().nextBytes(raw);
      String value = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
      SecretFiles.write(file, value + "\n");
      LOG.info("made a new API key in {}", file);
      return new ApiKey(value);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Whether an {@code Authorization} header value carries this key. The comparison takes the
   * same time wherever the first difference is, so the key cannot be guessed byte by byte.
   */
  public boolean matchesHeader(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0,
        BEARER.length())) {
      return false;
    }
    byte[] presented =
        authorization.substring(BEARER.length()).trim().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(key, presented);
  }

  /** The key itself, for clients in the same process (tests). */
  public String value() {
    return new String(key, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "ApiKey[hidden]";
  }
}
