package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

/**
 * The HTTP pipeline without sockets. The backend answers every fragment operation with "not
 * ready" (503), so any request that a check should stop but that slips through to the store
 * shows up as a 503 instead of the expected 4xx.
 */
class ApiHandlerTest {
  private static final String KEY = "test-key";
  private static final int MAX_BODY = 2048;

  private final ApiBackend backend =
      new StubBackend() {
        @Override
        public Map<String, Object> status() {
          return Map.of("node_id", "x");
        }

        @Override
        public List<String> notReadyReasons() {
          return List.of("store opening");
        }
      };
  private final NodeMetrics metrics = backend.metrics();

  private EmbeddedChannel channel() {
    ApiRoutes routes = new ApiRoutes(backend, ApiKey.of(KEY), 4);
    return new EmbeddedChannel(
        new HttpServerCodec(),
        new HttpServerKeepAliveHandler(),
        new JsonObjectAggregator(MAX_BODY),
        new ApiHandler(routes, Runnable::run, metrics));
  }

  private static RawReply exchange(EmbeddedChannel ch, String method, String path, String auth,
      String body) {
    byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    StringBuilder req = new StringBuilder();
    req.append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: localhost\r\n");
    if (auth != null) {
      req.append("Authorization: ").append(auth).append("\r\n");
    }
    req.append("Content-Type: application/json\r\nContent-Length: ").append(b.length)
        .append("\r\n\r\n");
    ByteBuf in = Unpooled.buffer();
    in.writeBytes(req.toString().getBytes(StandardCharsets.US_ASCII));
    in.writeBytes(b);
    ch.writeInbound(in);
    return RawReply.read(ch);
  }

  private static void assertError(RawReply r, int status, String code, String field)
      throws Exception {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.headers()).contains("application/json");
    JsonNode j = r.json();
    assertThat(j.get("error").asText()).isEqualTo(code);
    assertThat(j.get("message").asText()).isNotBlank();
    assertThat(j.get("ref").asText()).matches("[0-9a-f]{12}");
    if (field == null) {
      assertThat(j.get("field").isNull()).isTrue();
    } else {
      assertThat(j.get("field").asText()).isEqualTo(field);
    }
  }

  @Test
  void healthNeedsNoKeyAndReadyGivesReasons() throws Exception {
    EmbeddedChannel ch = channel();
    RawReply health = exchange(ch, "GET", "/health", null, null);
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.json().get("status").asText()).isEqualTo("up");
    RawReply ready = exchange(ch, "GET", "/ready", null, null);
    assertThat(ready.status()).isEqualTo(503);
    assertThat(ready.json().get("ready").asBoolean()).isFalse();
    assertThat(ready.json().get("reasons").get(0).asText()).isEqualTo("store opening");
    // /metrics wants the key unless api.metrics-need-key = false.
    assertError(exchange(ch, "GET", "/metrics", null, null), 401, "unauthorized", null);
    RawReply m = exchange(ch, "GET", "/metrics", "Bearer " + KEY, null);
    assertThat(m.status()).isEqualTo(200);
    assertThat(m.body()).contains("mycelium_http_requests_total");
  }

  @Test
  void everythingElseWantsTheKey() throws Exception {
    EmbeddedChannel ch = channel();
    assertError(exchange(ch, "GET", "/v1/status", null, null), 401, "unauthorized", null);
    assertError(exchange(ch, "GET", "/v1/status", "Bearer wrong", null), 401, "unauthorized",
        null);
    assertError(exchange(ch, "POST", "/v1/fragments", null, "{\"text\":\"a\"}"), 401,
        "unauthorized", null);
    RawReply ok = exchange(ch, "GET", "/v1/status", "Bearer " + KEY, null);
    assertThat(ok.status()).isEqualTo(200);
    assertError(exchange(ch, "GET", "/v1/peers", null, null), 401, "unauthorized", null);
    RawReply peers = exchange(ch, "GET", "/v1/peers", "Bearer " + KEY, null);
    assertThat(peers.status()).isEqualTo(200);
    assertThat(peers.json().get("peers").isArray()).isTrue();
    assertError(exchange(ch, "POST", "/v1/peers", "Bearer " + KEY, "{}"), 405,
        "method_not_allowed", null);
  }

  @Test
  void badInputIsRefusedBeforeItReachesTheStore() throws Exception {
    EmbeddedChannel ch = channel();
    String auth = "Bearer " + KEY;
    assertError(exchange(ch, "POST", "/v1/fragments", auth, "{\"text\": "), 400, "bad_request",
        null);
    assertError(exchange(ch, "POST", "/v1/fragments", auth, "[1,2]"), 400, "bad_request", null);
    assertError(exchange(ch, "POST", "/v1/fragments", auth, ""), 400, "bad_request", null);
    assertError(exchange(ch, "POST", "/v1/fragments", auth, "{\"text\": 5}"), 400,
        "bad_request", "text");
    assertError(exchange(ch, "POST", "/v1/fragments", auth, "{}"), 400, "invalid_field",
        "text");
    assertError(exchange(ch, "POST", "/v1/fragments", auth, "{\"text\":\"a\",\"colour\":1}"),
        400, "invalid_field", "colour");
    assertError(exchange(ch, "POST", "/v1/fragments", auth,
        "{\"text\":\"a\",\"vector\":[1,2,3]}"), 400, "invalid_field", "vector");
    assertError(exchange(ch, "POST", "/v1/fragments", auth,
        "{\"text\":\"a\",\"vector\":[1,2,\"x\",4]}"), 400, "bad_request", "vector");
    assertError(exchange(ch, "POST", "/v1/fragments", auth,
        "{\"text\":\"a\",\"vector\":[1,2,1e300,4]}"), 400, "invalid_field", "vector");
    assertError(exchange(ch, "POST", "/v1/fragments", auth,
        "{\"text\":\"a\",\"metadata\":{\"k\":1}}"), 400, "bad_request", "metadata");
    assertError(exchange(ch, "POST", "/v1/fragments", auth,
        "{\"text\":\"a\",\"visibility\":\"public\"}"), 400, "invalid_field", "visibility");
    assertError(exchange(ch, "POST", "/v1/fragments", auth, "{\"text\":\"a\",\"text\":\"b\"}"),
        400, "bad_request", null);
    assertError(exchange(ch, "POST", "/v1/search", auth, "{\"text\":\"a\",\"k\":0}"), 400,
        "invalid_field", "k");
    assertError(exchange(ch, "POST", "/v1/search", auth, "{\"text\":\"a\",\"k\":1001}"), 400,
        "invalid_field", "k");
    assertError(exchange(ch, "POST", "/v1/search", auth, "{\"text\":\"a\",\"k\":\"ten\"}"), 400,
        "bad_request", "k");
    assertError(exchange(ch, "POST", "/v1/search", auth, "{\"k\":3}"), 400, "invalid_field",
        "text");
    assertError(exchange(ch, "POST", "/v1/search", auth,
        "{\"text\":\"a\",\"filter\":{\"owner\":\"nobody\"}}"), 400, "invalid_field",
        "filter.owner");
    assertError(exchange(ch, "POST", "/v1/search", auth,
        "{\"text\":\"a\",\"filter\":{\"since\":1}}"), 400, "invalid_field", "filter.since");
    assertError(exchange(ch, "GET", "/v1/fragments/xyz", auth, null), 400, "invalid_field",
        "id");
    assertError(exchange(ch, "DELETE", "/v1/fragments/" + "g".repeat(64), auth, null), 400,
        "invalid_field", "id");
    StringBuilder batch = new StringBuilder("{\"fragments\":[");
    for (int i = 0; i < 1001; i++) {
      batch.append(i == 0 ? "" : ",").append("1");
    }
    batch.append("]}");
    assertError(exchange(ch, "POST", "/v1/fragments/batch", auth, batch.toString()), 400,
        "invalid_field", "fragments");
  }

  @Test
  void unknownRoutesAndWrongMethods() throws Exception {
    EmbeddedChannel ch = channel();
    String auth = "Bearer " + KEY;
    assertError(exchange(ch, "GET", "/v2/things", auth, null), 404, "not_found", null);
    assertError(exchange(ch, "GET", "/v1/search", auth, null), 405, "method_not_allowed", null);
    assertError(exchange(ch, "PUT", "/v1/fragments/" + "a".repeat(64), auth, null), 405,
        "method_not_allowed", null);
  }

  @Test
  void validRequestsReachTheBackend() throws Exception {
    EmbeddedChannel ch = channel();
    assertError(exchange(ch, "POST", "/v1/fragments", "Bearer " + KEY,
        "{\"text\":\"hello\",\"vector\":[1,0,0,0],\"metadata\":{\"k\":\"v\"},"
            + "\"visibility\":\"shared\"}"), 503, "unavailable", null);
  }

  @Test
  void oversizedBodyGets413Json() throws Exception {
    EmbeddedChannel ch = channel();
    String big = "{\"text\":\"" + "x".repeat(MAX_BODY) + "\"}";
    RawReply r = exchange(ch, "POST", "/v1/fragments", "Bearer " + KEY, big);
    assertError(r, 413, "too_large", null);
    assertThat(r.json().get("message").asText()).contains("api.max-body-bytes");
  }

  @Test
  void healthIsAnsweredEvenWhenEveryWorkerIsBusy() throws Exception {
    ApiRoutes routes = new ApiRoutes(backend, ApiKey.of(KEY), 4);
    EmbeddedChannel ch = new EmbeddedChannel(
        new HttpServerCodec(),
        new HttpServerKeepAliveHandler(),
        new JsonObjectAggregator(MAX_BODY),
        new ApiHandler(routes, task -> {
          throw new RejectedExecutionException("every worker is busy");
        }, metrics));
    RawReply health = exchange(ch, "GET", "/health", null, null);
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.json().get("status").asText()).isEqualTo("up");
    // What needs a worker is refused with 503 and Retry-After meanwhile.
    assertError(exchange(ch, "GET", "/v1/status", "Bearer " + KEY, null), 503, "busy", null);
  }

  @Test
  void keepAliveConnectionServesSeveralRequests() {
    EmbeddedChannel ch = channel();
    for (int i = 0; i < 3; i++) {
      RawReply r = exchange(ch, "GET", "/health", null, null);
      assertThat(r.status()).isEqualTo(200);
      assertThat(ch.isOpen()).isTrue();
    }
  }
}
