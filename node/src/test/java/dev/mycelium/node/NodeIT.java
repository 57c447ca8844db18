package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.config.NodeConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A whole node in process, on a free port, through its HTTP API. */
class NodeIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_BODY = 64 * 1024;

  @TempDir Path data;
  private Node node;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void start() {
    node = Node.start(config(), NodeBackendsForTests.backends());
  }

  private NodeConfig config() {
    return new ConfigLoader()
        .preset("test")
        .flag("mycelium.node.data-dir", data.toString())
        .flag("mycelium.api.max-body-bytes", Integer.toString(MAX_BODY))
        .load();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private record Reply(int status, JsonNode json, String body) {}

  private Reply call(String method, String path, String body, boolean auth) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(node.apiUrl() + path)).timeout(Duration.ofSeconds(10));
    if (auth) {
      b.header("Authorization", "Bearer " + node.apiKey().value());
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = null;
    String ct = r.headers().firstValue("Content-Type").orElse("");
    if (ct.startsWith("application/json")) {
      json = JSON.readTree(r.body());
    }
    return new Reply(r.statusCode(), json, r.body());
  }

  private Reply call(String method, String path, String body) throws Exception {
    return call(method, path, body, true);
  }

  private static String vector(int dim, int hot) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < dim; i++) {
      sb.append(i == 0 ? "" : ",").append(i == hot ? "1.0" : "0.0");
    }
    return sb.append(']').toString();
  }

  @Test
  void writesApiFileAndIsReadyOnceTheIndexIsLoaded() throws Exception {
    Path apiFile = data.resolve(Node.API_FILE);
    JsonNode api = JSON.readTree(Files.readString(apiFile));
    assertThat(api.get("url").asText()).isEqualTo(node.apiUrl());
    assertThat(api.get("node_id").asText()).isEqualTo(node.nodeId().toString());
    assertThat(api.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
    assertThat(call("GET", "/health", null, false).json().get("status").asText())
        .isEqualTo("up");
    await().atMost(Duration.ofSeconds(10))
        .until(() -> call("GET", "/ready", null, false).status() == 200);
    assertThat(call("GET", "/ready", null, false).json().get("ready").asBoolean()).isTrue();
    node.close();
    assertThat(apiFile).doesNotExist();
  }

  @Test
  void aTakenPortStopsTheStartWithAClearMessage(@TempDir Path other) {
    NodeConfig taken =
        new ConfigLoader()
            .preset("test")
            .flag("mycelium.node.data-dir", other.toString())
            .flag("mycelium.api.port", Integer.toString(node.apiAddress().getPort()))
            .load();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Node.start(taken, NodeBackendsForTests.backends()))
        .isInstanceOf(dev.mycelium.node.http.ApiBindException.class)
        .hasMessageContaining(Integer.toString(node.apiAddress().getPort()))
        .hasMessageContaining("api.port");
    assertThat(other.resolve(Node.API_FILE)).doesNotExist();
  }

  @Test
  void putGetSearchDelete() throws Exception {
    Reply put =
        call("POST", "/v1/fragments",
            "{\"text\":\"the heron fishes at dawn\",\"metadata\":{\"topic\":\"birds\"},"
                + "\"visibility\":\"shared\"}");
    assertThat(put.status()).isEqualTo(201);
    assertThat(put.json().get("state").asText()).isEqualTo("PRESENT");
    assertThat(put.json().get("embedded").asBoolean()).isFalse();
    String id = put.json().get("id").asText();
    assertThat(id).hasSize(64);

    Reply got = call("GET", "/v1/fragments/" + id, null);
    assertThat(got.status()).isEqualTo(200);
    assertThat(got.json().get("text").asText()).isEqualTo("the heron fishes at dawn");
    assertThat(got.json().get("metadata").get("topic").asText()).isEqualTo("birds");
    assertThat(got.json().get("visibility").asText()).isEqualTo("shared");
    assertThat(got.json().get("owner").asText()).isEqualTo(node.nodeId().toString());
    assertThat(got.json().get("has_vector").asBoolean()).isFalse();

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      Reply s = call("POST", "/v1/search", "{\"text\":\"heron dawn\",\"k\":3}");
      assertThat(s.status()).isEqualTo(200);
      assertThat(s.json().get("hits")).isNotEmpty();
      assertThat(s.json().get("hits").get(0).get("id").asText()).isEqualTo(id);
    });

    Reply del = call("DELETE", "/v1/fragments/" + id, null);
    assertThat(del.status()).isEqualTo(200);
    assertThat(del.json().get("state").asText()).isEqualTo("DELETED");
    Reply after = call("GET", "/v1/fragments/" + id, null);
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.json().get("state").asText()).isEqualTo("DELETED");
    assertThat(after.json().has("text")).isFalse();
    Reply s = call("POST", "/v1/search", "{\"text\":\"heron dawn\",\"k\":3}");
    for (JsonNode h : s.json().get("hits")) {
      assertThat(h.get("id").asText()).isNotEqualTo(id);
    }
    assertThat(call("DELETE", "/v1/fragments/" + "0".repeat(64), null).status())
        .isEqualTo(404);
    assertThat(call("GET", "/v1/fragments/" + "0".repeat(64), null).status()).isEqualTo(404);
  }

  @Test
  void searchByTextFindsTheRightOneOfFifty() throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      Reply r = call("POST", "/v1/fragments",
          "{\"text\":\"note " + i + " about zeta" + i + " and kappa" + i + " things\"}");
      assertThat(r.status()).isEqualTo(201);
      ids.add(r.json().get("id").asText());
    }
    await().atMost(Duration.ofSeconds(20)).until(
        () -> call("GET", "/v1/status", null).json().get("index").get("size").asLong() >= 50);
    for (int i : new int[] {0, 17, 49}) {
      Reply s = call("POST", "/v1/search", "{\"text\":\"zeta" + i + " kappa" + i + "\",\"k\":5}");
      assertThat(s.status()).isEqualTo(200);
      assertThat(s.json().get("hits").get(0).get("id").asText()).isEqualTo(ids.get(i));
      assertThat(s.json().get("hits").get(0).get("state").asText()).isEqualTo("PRESENT");
      assertThat(s.json().get("hits").size()).isEqualTo(5);
      assertThat(s.json().has("took_ms")).isTrue();
    }
  }

  @Test
  void clientVectorsAndFilters() throws Exception {
    int dim = node.config().storage().dimension();
    Reply a = call("POST", "/v1/fragments",
        "{\"text\":\"a\",\"vector\":" + vector(dim, 3) + ",\"metadata\":{\"team\":\"red\"}}");
    Reply b = call("POST", "/v1/fragments",
        "{\"text\":\"b\",\"vector\":" + vector(dim, 3) + ",\"metadata\":{\"team\":\"blue\"}}");
    assertThat(a.json().get("embedded").asBoolean()).isTrue();
    Reply s = call("POST", "/v1/search",
        "{\"vector\":" + vector(dim, 3) + ",\"k\":10,\"filter\":{\"metadata\":{\"team\":\"blue\"},"
            + "\"owner\":\"" + node.nodeId() + "\"}}");
    assertThat(s.status()).isEqualTo(200);
    assertThat(s.json().get("hits")).hasSize(1);
    assertThat(s.json().get("hits").get(0).get("id").asText())
        .isEqualTo(b.json().get("id").asText());
    Reply none = call("POST", "/v1/search",
        "{\"vector\":" + vector(dim, 3) + ",\"filter\":{\"from\":0,\"to\":1}}");
    assertThat(none.json().get("hits")).isEmpty();
  }

  @Test
  void corruptBytesAnswerBlankInGetAndSearchNeverAnError() throws Exception {
    int dim = node.config().storage().dimension();
    Reply put = call("POST", "/v1/fragments",
        "{\"text\":\"will rot\",\"vector\":" + vector(dim, 7) + "}");
    String id = put.json().get("id").asText();
    ((dev.mycelium.storage.ChronicleFragmentStore) node.store())
        .corruptForTest(dev.mycelium.model.FragmentId.parse(id));
    Reply got = call("GET", "/v1/fragments/" + id, null);
    assertThat(got.status()).isEqualTo(200);
    assertThat(got.json().get("state").asText()).isEqualTo("BLANK");
    assertThat(got.json().has("text")).isFalse();
    Reply s = call("POST", "/v1/search", "{\"vector\":" + vector(dim, 7) + ",\"k\":3}");
    assertThat(s.status()).isEqualTo(200);
    JsonNode hit = s.json().get("hits").get(0);
    assertThat(hit.get("id").asText()).isEqualTo(id);
    assertThat(hit.get("state").asText()).isEqualTo("BLANK");
    assertThat(hit.get("text").isNull()).isTrue();
    assertThat(call("GET", "/metrics", null).body())
        .containsPattern("mycelium_store_blank_detections_total [1-9]")
        .contains("mycelium_store_fragments{state=\"BLANK\"} 1");
  }

  @Test
  void batchStoresGoodItemsAndReportsBadOnes() throws Exception {
    Reply r = call("POST", "/v1/fragments/batch",
        "{\"fragments\":[{\"text\":\"one\"},{\"txt\":\"two\"},{\"text\":\"three\"}]}");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("stored").asInt()).isEqualTo(2);
    assertThat(r.json().get("failed").asInt()).isEqualTo(1);
    assertThat(r.json().get("results").get(1).get("field").asText())
        .isEqualTo("fragments[1].txt");
    assertThat(r.json().get("results").get(2).get("state").asText()).isEqualTo("PRESENT");
  }

  @Test
  void refusesWithoutKeyAndRefusesBadInput() throws Exception {
    Reply unauth = call("GET", "/v1/status", null, false);
    assertThat(unauth.status()).isEqualTo(401);
    assertThat(unauth.json().get("error").asText()).isEqualTo("unauthorized");

    assertBad(call("POST", "/v1/fragments", "{\"text\": oops}"), "bad_request", null);
    assertBad(call("POST", "/v1/fragments", "{\"text\":\"x\",\"vector\":[1,2]}"),
        "invalid_field", "vector");
    assertBad(call("GET", "/v1/fragments/not-an-id", null), "invalid_field", "id");
    assertBad(call("POST", "/v1/search", "{\"text\":\"x\",\"k\":0}"), "invalid_field", "k");
    assertBad(call("POST", "/v1/fragments",
        "{\"text\":\"y\",\"metadata\":{\"a\":\"" + "z".repeat(9000) + "\"}}"), "invalid_field",
        "metadata");

    Reply big = call("POST", "/v1/fragments", "{\"text\":\"" + "x".repeat(MAX_BODY) + "\"}");
    assertThat(big.status()).isEqualTo(413);
    assertThat(big.json().get("error").asText()).isEqualTo("too_large");
    // The node still serves after all that.
    assertThat(call("GET", "/v1/status", null).status()).isEqualTo(200);
  }

  private static void assertBad(Reply r, String code, String field) {
    assertThat(r.status()).as(r.body()).isEqualTo(400);
    assertThat(r.json().get("error").asText()).isEqualTo(code);
    if (field == null) {
      assertThat(r.json().get("field").isNull()).isTrue();
    } else {
      assertThat(r.json().get("field").asText()).isEqualTo(field);
    }
  }

  @Test
  void statusAndMetrics() throws Exception {
    call("POST", "/v1/fragments", "{\"text\":\"counted\"}");
    JsonNode st = call("GET", "/v1/status", null).json();
    assertThat(st.get("node_id").asText()).isEqualTo(node.nodeId().toString());
    assertThat(st.get("fragments").get("PRESENT").asLong()).isEqualTo(1);
    assertThat(st.get("store").get("capacity").asLong())
        .isEqualTo(node.config().storage().capacityEntries());
    assertThat(st.get("api").asText()).isEqualTo(node.apiUrl());
    assertThat(st.has("scrubber")).isTrue();
    // api.metrics-need-key is on by default: a scraper sends the key like any client.
    assertThat(call("GET", "/metrics", null, false).status()).isEqualTo(401);
    Reply m = call("GET", "/metrics", null);
    assertThat(m.status()).isEqualTo(200);
    assertThat(m.body())
        .contains("mycelium_store_fragments{state=\"PRESENT\"} 1")
        .contains("mycelium_store_capacity_entries")
        .contains("mycelium_store_fill_ratio")
        .contains("mycelium_store_blank_detections_total")
        .contains("mycelium_index_vectors")
        .contains("mycelium_index_pending_vectors")
        .contains("mycelium_scrubber_checked_total")
        .contains("mycelium_http_requests_total{code=\"201\",route=\"/v1/fragments\"} 1")
        .contains("mycelium_http_request_duration_seconds")
        .contains("jvm_memory");
    await().atMost(Duration.ofSeconds(10)).until(
        () -> call("GET", "/v1/status", null).json().get("scrubber").get("checked").asLong()
            >= 1);
  }
}
