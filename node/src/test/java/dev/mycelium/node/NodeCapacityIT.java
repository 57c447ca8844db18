package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigLoader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node with a tiny store: it warns, turns not-ready, then refuses writes naming the key. */
class NodeCapacityIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path data;

  @Test
  void nearlyFullTurnsNotReadyAndFullRefusesWithStoreFull() throws Exception {
    try (Node node =
        Node.start(
            new ConfigLoader()
                .preset("test")
                .flag("mycelium.node.data-dir", data.toString())
                .flag("mycelium.storage.capacity-entries", "4")
                .flag("mycelium.storage.nearly-full-ratio", "0.5")
                .load(),
            NodeBackendsForTests.backends())) {
      HttpClient http = HttpClient.newHttpClient();
      await().atMost(Duration.ofSeconds(10)).until(() -> get(http, node, "/ready").statusCode()
          == 200);
      int stored = 0;
      HttpResponse<String> last = null;
      for (int i = 0; i < 20; i++) {
        last = put(http, node, "{\"text\":\"fragment " + i + "\"}");
        if (last.statusCode() != 201) {
          break;
        }
        stored++;
      }
      assertThat(stored).isBetween(2, 4);
      assertThat(last.statusCode()).isEqualTo(507);
      JsonNode err = JSON.readTree(last.body());
      assertThat(err.get("error").asText()).isEqualTo("store_full");
      assertThat(err.get("message").asText()).contains("storage.capacity-entries");
      HttpResponse<String> ready = get(http, node, "/ready");
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(JSON.readTree(ready.body()).get("reasons").toString())
          .contains("store nearly full: raise storage.capacity-entries");
    }
  }

  private static HttpResponse<String> get(HttpClient http, Node node, String path)
      throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.apiUrl() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> put(HttpClient http, Node node, String body)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(node.apiUrl() + "/v1/fragments"))
            .header("Authorization", "Bearer " + node.apiKey().value())
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
