package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.node.search.SharedKnowledge;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.search.NetworkSearch;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import dev.mycelium.wire.proto.SignedFragment;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three whole nodes on loopback: a shared fragment put on A reaches B, which subscribes to its
 * topic, and B finds it locally; a network search from C finds a shared fragment that only A
 * holds, and never A's private ones; a forged shared fragment is dropped and its origin is no
 * longer trusted.
 */
class SharedKnowledgeIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path tmp;
  @RegisterExtension final TestNodes fixture = new TestNodes(() -> tmp);

  private Node start(String name, String seed, String topics) {
    ConfigLoader loader = fixture.config(name, seed)
        .flag("mycelium.search.network-timeout", "3s");
    if (topics != null) {
      loader.flag("mycelium.shared.topics", topics);
    }
    return fixture.start(name, loader);
  }

  private String put(Node node, String text, String visibility, String topic) throws Exception {
    String meta = topic == null ? "{}" : "{\"topic\":\"" + topic + "\"}";
    return fixture.call(node, "POST", "/v1/fragments", "{\"text\":\"" + text
        + "\",\"visibility\":\"" + visibility + "\",\"metadata\":" + meta + "}", 201)
        .get("id").asText();
  }

  private static List<String> ids(JsonNode searchResult) {
    return searchResult.get("hits").findValuesAsText("id");
  }

  @Test
  void sharedFragmentsReachSubscribersAndNetworkSearchFindsWhatOnlyAnotherNodeHolds()
      throws Exception {
    Node a = start("a", null, null);
    String seed = fixture.call(a, "GET", "/v1/status", null, 200).get("peer").asText();
    Node b = start("b", seed, "garden");
    Node c = start("c", seed, null);
    for (Node n : List.of(a, b, c)) {
      await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
          .until(() -> n.peerService().orElseThrow().activeView().size() >= 1);
    }
    await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
        .until(() -> a.peerService().orElseThrow().activeView().size() == 2);

    // Shared knowledge: A's garden note reaches B, which stores, indexes and finds it.
    String garden = put(a, "tomatoes want water at dawn", "shared", "garden");
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() ->
        fixture.send(b, "GET", "/v1/fragments/" + garden, null).statusCode() == 200);
    JsonNode atB = fixture.call(b, "GET", "/v1/fragments/" + garden, null, 200);
    assertThat(atB.get("state").asText()).isEqualTo("PRESENT");
    assertThat(atB.get("owner").asText()).isEqualTo(a.nodeId().toString());
    assertThat(atB.get("visibility").asText()).isEqualTo("shared");
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
        assertThat(ids(fixture.call(b, "POST", "/v1/search",
            "{\"text\":\"tomatoes want water at dawn\",\"k\":3}", 200))).contains(garden));
    assertThat(fixture.send(c, "GET", "/v1/fragments/" + garden, null).statusCode())
        .as("C subscribes to nothing").isEqualTo(404);
    assertThat(b.sharedAndSearch().orElseThrow().shared().stats().stored()).isEqualTo(1);
    JsonNode statusB = fixture.call(b, "GET", "/v1/status", null, 200);
    assertThat(statusB.at("/shared/topics/0").asText()).isEqualTo("garden");
    assertThat(statusB.at("/shared/stored").asLong()).isEqualTo(1);
    assertThat(fixture.call(a, "GET", "/v1/status", null, 200).at("/shared/published").asLong())
        .isEqualTo(1);

    // Network search: a shared fragment on a topic nobody subscribes to stays on A alone.
    String kitchen = put(a, "bread rises overnight in the cold", "shared", "kitchen");
    String secret = put(a, "bread rises overnight in the cold, my secret", "private", null);
    String query = "{\"text\":\"bread rises overnight in the cold\",\"k\":5}";
    assertThat(ids(fixture.call(c, "POST", "/v1/search", query, 200))).doesNotContain(kitchen);
    String networkQuery = "{\"text\":\"bread rises overnight in the cold\",\"k\":5,"
        + "\"scope\":\"network\",\"hops\":2}";
    await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      JsonNode r = fixture.call(c, "POST", "/v1/search", networkQuery, 200);
      assertThat(r.get("scope").asText()).isEqualTo("network");
      assertThat(r.get("asked").asInt()).isPositive();
      JsonNode first = r.get("hits").get(0);
      assertThat(first.get("id").asText()).isEqualTo(kitchen);
      assertThat(first.get("node").asText()).isEqualTo(a.nodeId().toString());
      assertThat(first.get("text").asText()).isEqualTo("bread rises overnight in the cold");
      assertThat(first.get("score").asDouble()).isGreaterThan(0.99);
      assertThat(ids(r)).doesNotContain(secret).doesNotHaveDuplicates();
    });
    assertThat(a.sharedAndSearch().orElseThrow().search().stats().requestsServed()).isPositive();

    // A forged shared fragment from C is dropped by B, counted, and C is no longer trusted.
    FragmentCodec codec = new FragmentCodec(a.config().storage().limits());
    SignedFragment genuine = codec.create(OwnerKeys.generate(new SecureRandom()), 1,
        "forged", new float[0], Map.of("topic", "garden"), Visibility.SHARED).signed();
    SignedFragment forged = genuine.toBuilder()
        .setSignature(ByteString.copyFrom(new byte[64])).build();
    c.peerService().orElseThrow().broadcast(SharedKnowledge.TOPIC_PREFIX + "garden",
        forged.toByteArray());
    SharedKnowledge atBShared = b.sharedAndSearch().orElseThrow().shared();
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
        .until(() -> atBShared.stats().rejected() == 1);
    assertThat(atBShared.distrusts(c.nodeId())).isTrue();
    assertThat(b.peerService().orElseThrow().score(c.nodeId())).isNegative();
    assertThat(atBShared.stats().stored()).isEqualTo(1);
    HttpResponse<String> metrics = fixture.send(b, "GET", "/metrics", null);
    assertThat(metrics.body()).containsPattern("mycelium_shared_rejected_total 1(\\.0)?\\s")
        .containsPattern("mycelium_shared_stored_total 1(\\.0)?\\s");
  }

  @Test
  void forgedNetworkSearchHitsAreDroppedAndCostTheSender() throws Exception {
    Node a = start("a", null, null);
    String seedText = fixture.call(a, "GET", "/v1/status", null, 200).get("peer").asText();
    String[] hp = seedText.split(":");
    InetSocketAddress seed = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
    // A bare overlay node that answers every search with a fragment whose signature is forged.
    FragmentCodec codec = new FragmentCodec(a.config().storage().limits());
    SignedFragment genuine = codec.create(OwnerKeys.generate(new SecureRandom()), 1,
        "too good to be true", new float[0], Map.of(), Visibility.SHARED).signed();
    SignedFragment forged = genuine.toBuilder()
        .setSignature(ByteString.copyFrom(new byte[64])).build();
    OwnerKeys rogueKeys = OwnerKeys.generate(new SecureRandom());
    PeerService rogue = PeerService.start(rogueKeys, new InetSocketAddress("127.0.0.1", 0), null,
        List.of(seed), OverlayConfig.test(), Optional.empty(), 7);
    try {
      rogue.attachSearch(new NetworkSearch(rogueKeys.nodeId(),
          NetworkSearch.Limits.defaults(3), new SplittableRandom(7)));
      rogue.work(new PeerService.Work() {
        @Override
        public List<NetworkSearchHit> searchLocally(NetworkSearchRequest request) {
          return List.of(NetworkSearchHit.newBuilder().setFragment(forged).setScore(1f)
              .setNode(ByteString.copyFrom(rogueKeys.nodeId().toBytes())).build());
        }

        @Override
        public PeerService.CheckedHits checkHits(NodeId from, NetworkSearchResponse response) {
          return new PeerService.CheckedHits(response, List.of());
        }

        @Override
        public Optional<String> ingestShared(NodeId origin, String topic, ByteString payload) {
          return Optional.empty();
        }
      });
      await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
          .until(() -> a.peerService().orElseThrow().activeView().contains(rogue.nodeId()));
      String mine = put(a, "too good to be true", "shared", null);
      String forgedId = FragmentId.of(Canonical.sha256(genuine.getBody().toByteArray()))
          .toString();
      // A text-only put is embedded in the background: search until it is found locally.
      await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
        JsonNode r = fixture.call(a, "POST", "/v1/search",
            "{\"text\":\"too good to be true\",\"k\":5,\"scope\":\"network\"}", 200);
        assertThat(ids(r)).containsExactly(mine).doesNotContain(forgedId);
        assertThat(r.get("partial").asBoolean()).isFalse();
      });
      assertThat(a.sharedAndSearch().orElseThrow().search().stats().hitsRejected()).isPositive();
      assertThat(a.peerService().orElseThrow().score(rogue.nodeId())).isNegative();
    } finally {
      rogue.close();
    }
  }
}
