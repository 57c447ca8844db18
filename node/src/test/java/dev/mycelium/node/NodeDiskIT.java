package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.storage.ChronicleFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a node takes on disk: a fresh one claims little, and one whose disk is nearly full keeps
 * serving, is not ready, and refuses new fragments with HTTP 507 saying what is needed.
 */
class NodeDiskIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The aim for a fresh node's data directory. */
  private static final long FRESH_AIM_BYTES = 64L << 20;

  @TempDir Path data;

  @Test
  void aFreshNodeHoldingTwoFragmentsTakesUnder64MiB() throws Exception {
    try (Node node = Node.start(
        new ConfigLoader().preset("test").flag("mycelium.node.data-dir", data.toString())
            // The shipped sizing, not the test preset's.
            .flag("mycelium.storage.capacity-entries", "10000000")
            .flag("mycelium.storage.average-value-bytes", "3072")
            .flag("mycelium.replication.capacity-entries", "30000000")
            .load(),
        NodeBackendsForTests.backends())) {
      HttpClient http = HttpClient.newHttpClient();
      await().atMost(Duration.ofSeconds(30)).until(() -> get(http, node, "/ready").statusCode()
          == 200);
      long empty = ChronicleFile.allocatedBytesUnder(data);
      for (int i = 0; i < 2; i++) {
        HttpResponse<String> r =
            post(http, node, "/v1/fragments", "{\"text\":\"fragment " + i + "\"}");
        assertThat(r.statusCode()).isEqualTo(201);
      }
      long two = ChronicleFile.allocatedBytesUnder(data);
      System.out.printf("NodeDiskIT: fresh data directory %.1f MiB, with 2 fragments %.1f MiB%n",
          empty / 1048576.0, two / 1048576.0);
      assertThat(empty).isLessThanOrEqualTo(FRESH_AIM_BYTES);
      assertThat(two).isLessThanOrEqualTo(FRESH_AIM_BYTES);
    }
  }

  @Test
  void aNodeFillsPastItsFirstFileWithoutARestart() throws Exception {
    try (Node node = Node.start(
        new ConfigLoader().preset("test").flag("mycelium.node.data-dir", data.toString())
            .load(),
        NodeBackendsForTests.backends())) {
      HttpClient http = HttpClient.newHttpClient();
      await().atMost(Duration.ofSeconds(30)).until(() -> get(http, node, "/ready").statusCode()
          == 200);
      long before = JSON.readTree(get(http, node, "/v1/status").body())
          .get("store").get("disk_bytes").asLong();
      int n = 5_000; // past the 4,096 entries the first file is made for
      for (int b = 0; b < n; b += 500) {
        StringBuilder body = new StringBuilder("{\"fragments\":[");
        for (int i = b; i < b + 500; i++) {
          body.append(i == b ? "" : ",").append("{\"text\":\"fragment number ").append(i)
              .append("\"}");
        }
        HttpResponse<String> r = post(http, node, "/v1/fragments/batch", body + "]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).get("failed").asInt()).as(r.body()).isZero();
      }
      // The growth runs in the background: the next file appears and the first one goes.
      await().atMost(Duration.ofSeconds(60)).until(() ->
          Files.exists(data.resolve("fragments.1.cm3"))
              && !Files.exists(data.resolve("fragments.cm3")));
      JsonNode status = JSON.readTree(get(http, node, "/v1/status").body());
      assertThat(status.get("fragments").get("PRESENT").asLong()).isEqualTo(n);
      // The next file is made for the records actually held (short texts here), so it can be
      // smaller in bytes than the first, which was made from storage.average-value-bytes.
      assertThat(status.get("store").get("disk_bytes").asLong()).isPositive()
          .isNotEqualTo(before);
      assertThat(get(http, node, "/ready").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aNearlyFullDiskRefusesWritesWith507AndTurnsNotReadyWithoutStopping() throws Exception {
    try (Node node = Node.start(
        new ConfigLoader().preset("test").flag("mycelium.node.data-dir", data.toString())
            // More free space kept than any disk has: the disk is "nearly full" from the start.
            .flag("mycelium.storage.min-free-disk-mb", "1000000000")
            .load(),
        NodeBackendsForTests.backends())) {
      HttpClient http = HttpClient.newHttpClient();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        HttpResponse<String> r = get(http, node, "/ready");
        return r.statusCode() == 503 && r.body().contains("disk nearly full");
      });
      HttpResponse<String> refused =
          post(http, node, "/v1/fragments", "{\"text\":\"no room for this\"}");
      assertThat(refused.statusCode()).isEqualTo(507);
      JsonNode err = JSON.readTree(refused.body());
      assertThat(err.get("error").asText()).isEqualTo("store_full");
      assertThat(err.get("message").asText()).contains("storage.min-free-disk-mb")
          .contains("MiB free").contains("MiB more");
      assertThat(JSON.readTree(get(http, node, "/ready").body()).get("reasons").toString())
          .contains("storage.min-free-disk-mb");
      assertThat(get(http, node, "/health").statusCode()).isEqualTo(200);
      HttpResponse<String> metrics = get(http, node, "/metrics");
      assertThat(metrics.body()).contains("mycelium_store_free_disk_bytes");
    }
  }

  private static HttpResponse<String> get(HttpClient http, Node node, String path)
      throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(node.apiUrl() + path))
            .header("Authorization", "Bearer " + node.apiKey().value()).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(HttpClient http, Node node, String path,
      String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(node.apiUrl() + path))
            .header("Authorization", "Bearer " + node.apiKey().value())
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
