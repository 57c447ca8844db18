package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.storage.FragmentId;
import dev.mycelium.storage.FragmentState;
import dev.mycelium.storage.replica.HeldReplica;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent's memories survive the loss of the node's disk with everything the memory
 * operations added: after a wipe and a restore from the neighbours, the update link, the
 * history, the scopes and the tombstone of a forgotten memory are back, and the export is the
 * same bytes as before the loss.
 */
class MemoryRestoreIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SETTLE = Duration.ofSeconds(90);
  private final HttpClient http = HttpClient.newHttpClient();
  private final Map<String, Node> running = new LinkedHashMap<>();
  private final Map<String, Integer> peerPorts = new HashMap<>();

  @TempDir Path tmp;

  @AfterEach
  void stopAll() {
    running.values().forEach(Node::close);
  }

  private Node start(String name, String seed) throws IOException {
    if (!peerPorts.containsKey(name)) {
      try (ServerSocket s = new ServerSocket(0)) {
        peerPorts.put(name, s.getLocalPort());
      }
    }
    ConfigLoader loader = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve(name).toString())
        .flag("mycelium.peer.listen-port", Integer.toString(peerPorts.get(name)));
    if (seed != null) {
      loader.flag("mycelium.peer.seeds", seed);
    }
    Node node = Node.start(loader.load(), new StandardBackends());
    running.put(name, node);
    return node;
  }

  private String seedOf(String name) {
    return "127.0.0.1:" + peerPorts.get(name);
  }

  private HttpResponse<String> send(Node node, String method, String path, String body)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.apiUrl() + path))
        .header("Authorization", "Bearer " + node.apiKey().value());
    b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
        : b.method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 299);
    return r;
  }

  private JsonNode call(Node node, String method, String path, String body) throws Exception {
    return JSON.readTree(send(node, method, path, body).body());
  }

  private String put(Node node, String body) throws Exception {
    return call(node, "POST", "/v1/fragments", body).get("id").asText();
  }

  @Test
  void theRestoredNodeHasTheSameMemoriesHistoryAndExportBytes() throws Exception {
    Node owner = start("n0", null);
    Node h1 = start("n1", seedOf("n0"));
    Node h2 = start("n2", seedOf("n0"));
    await().atMost(SETTLE).until(() -> owner.notReadyReasons().isEmpty()
        && call(owner, "GET", "/v1/peers", null).path("peers").size() >= 2);

    String v1 = put(owner, "{\"text\":\"tea without sugar\",\"agent\":\"a\"}");
    String v2 = put(owner, "{\"text\":\"tea with honey\",\"agent\":\"a\",\"supersedes\":\"" + v1
        + "\"}");
    String door = put(owner, "{\"text\":\"door code 4711\",\"agent\":\"a\",\"visibility\":"
        + "\"shared\",\"expires_at\":" + (System.currentTimeMillis() + 3_600_000) + "}");
    String note = put(owner, "{\"text\":\"call the plumber\",\"agent\":\"a\",\"run\":\"r1\"}");
    JsonNode forgot = call(owner, "POST", "/v1/fragments/forget",
        "{\"filter\":{\"run\":\"r1\"},\"dry_run\":false,\"expect\":1}");
    assertThat(forgot.get("deleted").asLong()).isEqualTo(1);

    List<FragmentId> own = new ArrayList<>();
    for (String id : List.of(v1, v2, door)) {
      own.add(FragmentId.parse(id));
    }
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() -> {
      for (Node h : List.of(h1, h2)) {
        for (FragmentId id : own) {
          if (h.replicaStore().get(id).map(HeldReplica::state).orElse(null)
              != FragmentState.PRESENT) {
            return false;
          }
        }
        if (h.replicaStore().get(FragmentId.parse(note)).map(HeldReplica::state).orElse(null)
            != FragmentState.DELETED) {
          return false;
        }
      }
      return true;
    });
    String before = send(owner, "GET", "/v1/export", null).body();
    assertThat(before.lines()).hasSize(3);

    Path dir = tmp.resolve("n0");
    running.remove("n0").close();
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        if (!p.getFileName().toString().equals("identity.key")) {
          deleteTree(p);
        }
      }
    }
    Node back = start("n0", seedOf("n1"));
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      for (String id : List.of(v1, v2, door)) {
        assertThat(call(back, "GET", "/v1/fragments/" + id, null).path("state").asText())
            .as(id).isEqualTo("PRESENT");
      }
      assertThat(call(back, "GET", "/v1/fragments/" + note, null).path("state").asText())
          .isEqualTo("DELETED");
    });

    assertThat(send(back, "GET", "/v1/export", null).body()).isEqualTo(before);
    JsonNode history = call(back, "GET", "/v1/fragments/" + v1 + "/history", null);
    assertThat(history.get("current").asText()).isEqualTo(v2);
    assertThat(call(back, "GET", "/v1/fragments/" + v1, null).get("superseded_by").asText())
        .isEqualTo(v2);
    JsonNode listed = call(back, "POST", "/v1/fragments/list", "{\"filter\":{\"agent\":\"a\"}}");
    List<String> ids = new ArrayList<>();
    listed.get("fragments").forEach(f -> ids.add(f.get("id").asText()));
    assertThat(ids).containsExactlyInAnyOrder(v2, door);
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p)) {
      try (var s = Files.list(p)) {
        for (Path c : s.toList()) {
          deleteTree(c);
        }
      }
    }
    Files.delete(p);
  }
}
