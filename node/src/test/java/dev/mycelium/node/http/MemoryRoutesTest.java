package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The memory routes' checks: bad input is refused with the field named, before the store is
 * touched (the backend answers every store call with 503, so a check that let bad input through
 * would show up as 503), and every new path has its own metrics label.
 */
class MemoryRoutesTest {
  private static final String KEY = "k";
  private final ApiRoutes routes = new ApiRoutes(new StubBackend() {}, ApiKey.of(KEY), 4);

  private JsonNode call(int status, String method, String path, String body) throws Exception {
    ApiResponse r = routes.handle(method, path, "Bearer " + KEY,
        body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8));
    JsonNode json = RequestParser.JSON.readTree(r.body());
    assertThat(r.status()).as(json.toString()).isEqualTo(status);
    return json;
  }

  private void refused(String field, String method, String path, String body) throws Exception {
    JsonNode e = call(400, method, path, body);
    assertThat(e.get("field").asText()).isEqualTo(field);
  }

  @Test
  void badMemoryInputIsRefusedBeforeTheStore() throws Exception {
    refused("agent", "POST", "/v1/fragments", "{\"text\":\"x\",\"agent\":\"\"}");
    refused("run", "POST", "/v1/fragments", "{\"text\":\"x\",\"run\":7}");
    refused("agent", "POST", "/v1/fragments", "{\"text\":\"x\",\"agent\":\"" + "a".repeat(257)
        + "\"}");
    refused("expires_at", "POST", "/v1/fragments", "{\"text\":\"x\",\"expires_at\":-5}");
    refused("metadata.supersedes", "POST", "/v1/fragments",
        "{\"text\":\"x\",\"metadata\":{\"supersedes\":\"nope\"}}");
    refused("supersedes", "POST", "/v1/fragments", "{\"text\":\"x\",\"supersedes\":\"nope\"}");
    refused("dedup", "POST", "/v1/fragments", "{\"text\":\"x\",\"dedup\":0}");
    refused("filter.agent", "POST", "/v1/search", "{\"text\":\"x\",\"filter\":{\"agent\":1}}");
    refused("limit", "POST", "/v1/fragments/list", "{\"limit\":0}");
    refused("include_superseded", "POST", "/v1/fragments/list",
        "{\"include_superseded\":\"yes\"}");
    refused("states", "POST", "/v1/fragments/list", "{\"states\":[]}");
    refused("states", "POST", "/v1/fragments/list", "{\"states\":\"BLANK\"}");
    refused("states", "POST", "/v1/fragments/list", "{\"states\":[\"blank\"]}");
    refused("states", "POST", "/v1/fragments/list", "{\"states\":[1]}");
    refused("filter", "POST", "/v1/fragments/forget", "{\"filter\":{}}");
    refused("expect", "POST", "/v1/fragments/forget",
        "{\"filter\":{\"agent\":\"a\"},\"dry_run\":false}");
    refused("id", "GET", "/v1/fragments/zz/history", null);
  }

  @Test
  void goodMemoryInputReachesTheStore() throws Exception {
    call(503, "POST", "/v1/fragments/list", "{\"filter\":{\"agent\":\"a\",\"run\":\"r\"}}");
    call(503, "POST", "/v1/fragments/list",
        "{\"states\":[\"PRESENT\",\"BLANK\",\"LOST\",\"DELETED\"]}");
    call(503, "POST", "/v1/fragments/forget", "{\"filter\":{\"run\":\"r\"}}");
    call(503, "GET", "/v1/fragments/" + "a".repeat(64) + "/history", null);
    call(503, "GET", "/v1/export", null);
    call(405, "DELETE", "/v1/export", null);
    call(405, "GET", "/v1/fragments/list", null);
  }

  @Test
  void everyMemoryPathHasItsOwnLabel() {
    assertThat(ApiRoutes.routeOf("/v1/fragments/list")).isEqualTo("/v1/fragments/list");
    assertThat(ApiRoutes.routeOf("/v1/fragments/forget")).isEqualTo("/v1/fragments/forget");
    assertThat(ApiRoutes.routeOf("/v1/export")).isEqualTo("/v1/export");
    assertThat(ApiRoutes.routeOf("/v1/fragments/" + "a".repeat(64) + "/history"))
        .isEqualTo("/v1/fragments/{id}/history");
    assertThat(ApiRoutes.routeOf("/v1/fragments/a/b/history")).isEqualTo("other");
    assertThat(ApiRoutes.routeOf("/v1/fragments/" + "a".repeat(64)))
        .isEqualTo("/v1/fragments/{id}");
  }
}
