package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.cli.MyceliumCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Three whole nodes form an overlay through one seed, the API and the CLI show it, and a node
 * restarted without seeds rejoins through the peers it saved in {@code peers.json}.
 */
class PeersIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration CONVERGE = Duration.ofSeconds(30);

  @TempDir Path tmp;
  @RegisterExtension final TestNodes fixture = new TestNodes(() -> tmp);

  private Node start(String name, String seeds) {
    return fixture.start(name, fixture.config(name, seeds));
  }

  private JsonNode get(Node node, String path) throws Exception {
    return fixture.call(node, "GET", path, null, 200);
  }

  private List<String> activePeers(Node node) throws Exception {
    List<String> out = new ArrayList<>();
    for (JsonNode p : get(node, "/v1/peers").get("peers")) {
      if (p.get("view").asText().equals("ACTIVE")) {
        out.add(p.get("node_id").asText());
      }
    }
    return out;
  }

  /** Every node has an active peer, and the active views link all nodes into one graph. */
  private boolean connected(List<Node> nodes) throws Exception {
    Map<String, Set<String>> edges = new HashMap<>();
    for (Node n : nodes) {
      List<String> active = activePeers(n);
      if (active.isEmpty()) {
        return false;
      }
      String self = n.nodeId().toString();
      for (String peer : active) {
        edges.computeIfAbsent(self, k -> new HashSet<>()).add(peer);
        edges.computeIfAbsent(peer, k -> new HashSet<>()).add(self);
      }
    }
    Set<String> seen = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(nodes.get(0).nodeId().toString()));
    while (!todo.isEmpty()) {
      String id = todo.pop();
      if (seen.add(id)) {
        todo.addAll(edges.getOrDefault(id, Set.of()));
      }
    }
    return nodes.stream().allMatch(n -> seen.contains(n.nodeId().toString()));
  }

  @Test
  void threeNodesJoinThroughOneSeedAndARestartedNodeRejoinsWithoutSeeds() throws Exception {
    Node one = start("one", null);
    String seed = get(one, "/v1/status").get("peer").asText();
    assertThat(seed).startsWith("127.0.0.1:").doesNotEndWith(":0");
    Node two = start("two", seed);
    Node three = start("three", seed);
    List<Node> all = List.of(one, two, three);
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> connected(all));

    JsonNode status = get(one, "/v1/status");
    assertThat(status.at("/peers/active").asInt()).isGreaterThanOrEqualTo(1);
    assertThat(status.at("/peers/passive").isInt()).isTrue();
    HttpResponse<String> metrics = fixture.send(one, "GET", "/metrics", null);
    assertThat(metrics.body()).containsPattern("mycelium_overlay_active_peers [1-9]")
        .containsPattern("mycelium_overlay_peer_ups_total [1-9]");

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = MyceliumCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    // Node one may still be swapping peers between its views; ask until both others show.
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      out.getBuffer().setLength(0);
      int code = cli.execute("peers", "--api", one.apiUrl(), "--api-key",
          one.apiKey().value(), "--format", "json");
      assertThat(code).as(err.toString()).isZero();
      List<String> ids = JSON.readTree(out.toString()).get("peers").findValuesAsText("node_id");
      assertThat(ids).contains(two.nodeId().toString(), three.nodeId().toString());
    });

    String threeId = three.nodeId().toString();
    fixture.stop("three");
    assertThat(fixture.dataDir("three").resolve("peers.json")).exists();

    Node again = start("three", null);
    assertThat(again.nodeId().toString()).isEqualTo(threeId);
    assertThat(again.config().peer().seeds()).isEmpty();
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> !activePeers(again).isEmpty());
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> connected(List.of(one, two, again)));
  }
}
