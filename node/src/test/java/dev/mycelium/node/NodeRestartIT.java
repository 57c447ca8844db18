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
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node stopped cleanly comes back with its identity, fragments and index. */
class NodeRestartIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  @TempDir Path data;

  private NodeConfig config() {
    return new ConfigLoader()
        .preset("test")
        .flag("mycelium.node.data-dir", data.toString())
        .load();
  }

  private JsonNode call(Node node, String method, String path, String body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(node.apiUrl() + path))
            .header("Authorization", "Bearer " + node.apiKey().value());
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  private static boolean ready(Node node) {
    return node.notReadyReasons().isEmpty();
  }

  @Test
  void fragmentsIdentityAndIndexSurviveARestartAndALostIndexIsRebuilt() throws Exception {
    String textId;
    String nodeId;
    try (Node node = Node.start(config(), NodeBackendsForTests.backends())) {
      nodeId = node.nodeId().toString();
      textId = call(node, "POST", "/v1/fragments",
          "{\"text\":\"the lighthouse keeper logs the storm\"}").get("id").asText();
      for (int i = 0; i < 10; i++) {
        call(node, "POST", "/v1/fragments", "{\"text\":\"filler note " + i + "\"}");
      }
      await().atMost(Duration.ofSeconds(20)).until(
          () -> call(node, "GET", "/v1/status", null).get("index").get("size").asLong() == 11);
    }
    assertThat(data.resolve(Node.API_FILE)).doesNotExist();

    try (Node node = Node.start(config(), NodeBackendsForTests.backends())) {
      assertThat(node.nodeId().toString()).isEqualTo(nodeId);
      await().atMost(Duration.ofSeconds(20)).until(() -> ready(node));
      assertThat(call(node, "GET", "/v1/fragments/" + textId, null).get("text").asText())
          .isEqualTo("the lighthouse keeper logs the storm");
      JsonNode hits = call(node, "POST", "/v1/search",
          "{\"text\":\"lighthouse storm\",\"k\":1}").get("hits");
      assertThat(hits.get(0).get("id").asText()).isEqualTo(textId);
    }

    // Lose the saved index: the next start rebuilds it from the store (re-embedding texts).
    try (Stream<Path> files = Files.walk(data.resolve(StandardBackends.INDEX_DIR))) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    try (Node node = Node.start(config(), NodeBackendsForTests.backends())) {
      await().atMost(Duration.ofSeconds(20)).until(() -> ready(node));
      await().atMost(Duration.ofSeconds(20)).until(
          () -> call(node, "GET", "/v1/status", null).get("index").get("size").asLong() == 11);
      JsonNode hits = call(node, "POST", "/v1/search",
          "{\"text\":\"lighthouse storm\",\"k\":1}").get("hits");
      assertThat(hits.get(0).get("id").asText()).isEqualTo(textId);
    }
  }
}
