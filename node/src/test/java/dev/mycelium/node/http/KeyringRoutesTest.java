package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code /v1/keyring}: request checks and the mapping of refusals to the API's errors. */
class KeyringRoutesTest {
  private static final String AUTH = "Bearer k";
  private final List<String> changes = new ArrayList<>();

  private final ApiBackend withKeyring = new StubBackend() {
    @Override
    public Map<String, Object> keyring() {
      return Map.of("open", false, "keys", List.of());
    }

    @Override
    public Map<String, Object> changeKeyring(String action, byte[] key) {
      if (action.equals("remove")) {
        throw new IllegalStateException("this network key is in use; use another key first");
      }
      changes.add(action + " " + key.length);
      return keyring();
    }
  };

  private JsonNode call(ApiBackend backend, String method, String body, int status)
      throws Exception {
    ApiResponse r = new ApiRoutes(backend, ApiKey.of("k"), 4).handle(method, "/v1/keyring",
        AUTH, body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8));
    assertThat(r.status()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(status);
    return RequestParser.JSON.readTree(r.body());
  }

  private static String key() {
    return Base64.getEncoder().encodeToString(new byte[32]);
  }

  @Test
  void changesReachTheBackendAndRefusalsMapToErrors() throws Exception {
    assertThat(call(withKeyring, "GET", null, 200).get("open").asBoolean()).isFalse();
    call(withKeyring, "POST", "{\"action\":\"install\",\"key\":\"" + key() + "\"}", 200);
    call(withKeyring, "POST", "{\"action\":\"use\",\"key\":\"" + key() + "\"}", 200);
    assertThat(changes).containsExactly("install 32", "use 32");

    JsonNode inUse = call(withKeyring, "POST",
        "{\"action\":\"remove\",\"key\":\"" + key() + "\"}", 409);
    assertThat(inUse.get("error").asText()).isEqualTo("conflict");
    assertThat(inUse.get("message").asText()).contains("in use");

    JsonNode badAction = call(withKeyring, "POST",
        "{\"action\":\"rotate\",\"key\":\"" + key() + "\"}", 400);
    assertThat(badAction.get("field").asText()).isEqualTo("action");
    JsonNode shortKey = call(withKeyring, "POST",
        "{\"action\":\"install\",\"key\":\"AAAA\"}", 400);
    assertThat(shortKey.get("field").asText()).isEqualTo("key");
    assertThat(shortKey.get("message").asText()).contains("32 bytes");
    assertThat(call(withKeyring, "POST", "{\"action\":\"install\"}", 400)
        .get("error").asText()).isEqualTo("bad_request");
    assertThat(call(withKeyring, "POST", "not json", 400).get("error").asText())
        .isEqualTo("bad_request");
    call(withKeyring, "DELETE", null, 405);
    assertThat(changes).hasSize(2);
  }

  @Test
  void aNodeWithoutPeerServiceHasNoKeyring() throws Exception {
    ApiBackend none = new StubBackend() {
    };
    assertThat(call(none, "GET", null, 409).get("message").asText())
        .contains("mycelium.peer.enabled");
    call(none, "POST", "{\"action\":\"install\",\"key\":\"" + key() + "\"}", 409);
  }
}
