package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.Node;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigLoader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard end to end: a three-node cluster on loopback, and the first node's {@code /ui}
 * opened in headless Chromium (Debian package chromium), which runs the page's JavaScript
 * against the real API. The rendered page must name both peers of the active view with their
 * state and show the fragment counts; a screenshot goes to {@code target/dashboard.png}
 * (the one in docs/img/ comes from here). Without Chromium the browser part is skipped, saying
 * so; the files and their key handling are still checked over HTTP.
 */
class DashboardIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private final HttpClient http = HttpClient.newHttpClient();
  private final List<Node> running = new ArrayList<>();

  @AfterEach
  void stopAll() {
    running.forEach(Node::close);
  }

  private Node start(String name, String seed) {
    ConfigLoader loader = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve(name).toString());
    if (seed != null) {
      loader.flag("mycelium.peer.seeds", seed);
    }
    Node n = Node.start(loader.load(), new StandardBackends());
    running.add(n);
    return n;
  }

  private HttpResponse<String> get(Node n, String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(n.apiUrl() + path));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private long activePeers(Node n) throws Exception {
    JsonNode peers = JSON.readTree(get(n, "/v1/peers", n.apiKey().value()).body()).get("peers");
    long count = 0;
    for (JsonNode p : peers) {
      if (p.get("view").asText().equals("ACTIVE") && p.get("state").asText().equals("ALIVE")) {
        count++;
      }
    }
    return count;
  }

  @Test
  void theDashboardShowsTheActiveViewAndTheFragmentCountsOfANodeInACluster()
      throws Exception {
    Node one = start("one", null);
    String seed = JSON.readTree(get(one, "/v1/status", one.apiKey().value()).body())
        .get("peer").asText();
    Node two = start("two", seed);
    Node three = start("three", seed);
    for (String text : List.of("first note", "second note", "third note")) {
      HttpResponse<String> put = http.send(HttpRequest.newBuilder(
              URI.create(one.apiUrl() + "/v1/fragments"))
          .header("Authorization", "Bearer " + one.apiKey().value())
          .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"" + text + "\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
    }
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
        .until(() -> activePeers(one) == 2);

    // The files are public (they hold no data) and the page calls the API with the key.
    HttpResponse<String> page = get(one, "/ui", null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-type").orElse("")).startsWith("text/html");
    assertThat(page.body()).contains("/ui/app.js").doesNotContain(one.apiKey().value());
    assertThat(get(one, "/ui/app.js", null).body()).contains("Authorization");
    assertThat(get(one, "/ui/nope.js", null).statusCode()).isEqualTo(404);
    assertThat(get(one, "/v1/status", null).statusCode()).isEqualTo(401);

    Optional<HeadlessChromium> chromium = HeadlessChromium.find(tmp);
    assumeTrue(chromium.isPresent(), "no chromium on PATH (Debian package chromium);"
        + " the browser part of the dashboard test is skipped");
    String url = one.apiUrl() + "/ui#key=" + one.apiKey().value();
    String dom = chromium.get().dumpDom(url);
    assertThat(dom).contains("data-active-peers=\"2\"");
    assertThat(dom).containsPattern("id=\"count-PRESENT\"[^>]*>3<");
    assertThat(dom).containsPattern("id=\"count-BLANK\"[^>]*>0<");
    assertThat(dom).contains(one.nodeId().toString());
    for (Node peer : List.of(two, three)) {
      String shortId = peer.nodeId().toString().substring(0, 8);
      // Drawn in the graph with the failure detector's state (ALIVE unless a slow machine
      // made it suspect a peer for a moment).
      assertThat(dom).contains("data-node-id=\"" + peer.nodeId() + "\"")
          .containsPattern(shortId + " (ALIVE|SUSPECT)");
    }
    assertThat(dom).contains("connected to node");
    // The key left the address bar; the login form stayed hidden.
    assertThat(dom).containsPattern("<section id=\"login\" hidden");

    Path shot = Path.of("target", "dashboard.png").toAbsolutePath();
    chromium.get().screenshot(url, shot, 1200, 900);
    assertThat(shot).isRegularFile();
    byte[] png = Files.readAllBytes(shot);
    assertThat(png.length).isGreaterThan(10_000);
    assertThat(new String(png, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }
}
