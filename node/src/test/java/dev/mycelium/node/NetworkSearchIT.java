package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.node.peer.PeerService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Network search on whole nodes with replication on (as it is by default): thirty searches in
 * a row are all answered and cost no honest peer anything. Every search request and answer is
 * routed to the search core alone; when replication also took them, it penalized them as
 * malformed and the nodes banned each other within a few searches.
 */
class NetworkSearchIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TEXT = "sourdough wants a warm kitchen";

  @TempDir Path tmp;
  @RegisterExtension final TestNodes fixture = new TestNodes(() -> tmp);

  private Node start(String name, String seed) {
    return fixture.start(name, fixture.config(name, seed)
        .flag("mycelium.search.network-timeout", "3s")
        // The shipped overlay timings (the test preset's are tuned for speed, and flap on a
        // loaded machine).
        .flag("mycelium.peer.profile", "lan"));
  }

  private JsonNode networkSearch(Node from) throws Exception {
    return fixture.call(from, "POST", "/v1/search", "{\"text\":\"" + TEXT
        + "\",\"k\":3,\"scope\":\"network\",\"hops\":2}", 200);
  }

  @Test
  void thirtyNetworkSearchesAreAllAnsweredAndNoPeerLosesScore() throws Exception {
    Node first = start("n1", null);
    String seed = fixture.call(first, "GET", "/v1/status", null, 200).get("peer").asText();
    Node second = start("n2", seed);
    Node third = start("n3", seed);
    List<Node> nodes = List.of(first, second, third);
    for (Node n : nodes) {
      await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
          .until(() -> n.peerService().orElseThrow().activeView().size() == 2);
    }
    assertThat(first.replication()).as("replication is on, as by default").isPresent();
    String id = fixture.call(third, "POST", "/v1/fragments", "{\"text\":\"" + TEXT
        + "\",\"visibility\":\"shared\"}", 201).get("id").asText();
    // The put is embedded in the background: wait until the third node can find it.
    await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
        assertThat(fixture.call(third, "POST", "/v1/search",
                "{\"text\":\"" + TEXT + "\",\"k\":3}", 200)
            .get("hits").findValuesAsText("id")).contains(id));

    for (int i = 0; i < 30; i++) {
      JsonNode r = networkSearch(first);
      assertThat(r.get("hits").findValuesAsText("id")).as("search %d: %s", i, r).contains(id);
      assertThat(r.get("partial").asBoolean()).as("search %d: %s", i, r).isFalse();
      assertThat(r.get("asked").asInt()).as("search %d: %s", i, r).isPositive();
    }

    for (Node n : nodes) {
      PeerService peers = n.peerService().orElseThrow();
      PeerService.Stats stats = peers.stats();
      assertThat(stats.bans()).as("bans at %s", n.nodeId()).isZero();
      assertThat(stats.unrouted()).as("unrouted at %s", n.nodeId()).isZero();
      assertThat(peers.activeView()).as("neighbours of %s", n.nodeId()).hasSize(2);
      assertThat(peers.read(c -> Long.valueOf(c.penalties())).longValue()).as("penalties at %s", n.nodeId()).isZero();
      for (Node other : nodes) {
        if (other != n) {
          assertThat(peers.score(other.nodeId())).as("score of %s at %s", other.nodeId(),
              n.nodeId()).isGreaterThanOrEqualTo(0);
          assertThat(peers.isBanned(other.nodeId())).isFalse();
        }
      }
    }
    assertThat(third.sharedAndSearch().orElseThrow().search().stats().requestsServed())
        .isGreaterThanOrEqualTo(30);
  }
}
