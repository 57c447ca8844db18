package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.FragmentService.PutResult;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.node.http.ApiKey;
import dev.mycelium.node.http.ApiResponse;
import dev.mycelium.node.http.ApiRoutes;
import dev.mycelium.node.http.StubBackend;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.node.search.NetworkSearcher;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import dev.mycelium.wire.NodeId;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * POST /v1/search through the real routes and a real fragment service on in-memory doubles:
 * flagged and substitute hits, and the network scope over a stand-in for the other nodes.
 */
class SearchRouteTest {
  private static final int DIM = 4;
  private static final ObjectMapper JSON = new ObjectMapper();
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final Identity me = Identity.of(OwnerKeys.generate(new SecureRandom()));
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec);
  private final FragmentService service = new FragmentService(me, codec, store,
      new ExactVectorIndex(DIM), new HashEmbedder(DIM), 4, 10, new NodeMetrics(() -> null),
      System::currentTimeMillis);
  private final AtomicReference<NetworkSearcher> network = new AtomicReference<>();
  private final ApiRoutes routes = new ApiRoutes(new StubBackend(service) {
    @Override
    public Optional<NetworkSearcher> networkSearch() {
      return Optional.ofNullable(network.get());
    }
  }, ApiKey.of("k"), DIM);

  private JsonNode search(int status, String body) throws Exception {
    ApiResponse r = routes.handle("POST", "/v1/search", "Bearer k",
        body.getBytes(StandardCharsets.UTF_8));
    String text = new String(r.body(), StandardCharsets.UTF_8);
    assertThat(r.status()).as(text).isEqualTo(status);
    return JSON.readTree(text);
  }

  private PutResult put(String text, float... v) {
    return service.put(new PutRequest(text, v, Map.of(), Visibility.SHARED));
  }

  @Test
  void blankHitComesBackFlaggedWithItsSubstitutesMarked() throws Exception {
    PutResult gone = put("gone", 1, 0, 0, 0);
    PutResult near = put("near", 1, 0.2f, 0, 0);
    store.markBlank(gone.id());
    JsonNode r = search(200, "{\"vector\":[1,0,0,0],\"k\":1}");
    JsonNode hits = r.get("hits");
    assertThat(hits).hasSize(2);
    assertThat(hits.get(0).get("id").asText()).isEqualTo(gone.id().toString());
    assertThat(hits.get(0).get("state").asText()).isEqualTo("BLANK");
    assertThat(hits.get(0).get("text").isNull()).isTrue();
    assertThat(hits.get(0).has("substitute_for")).isFalse();
    assertThat(hits.get(0).get("node").asText()).isEqualTo(me.nodeId().toString());
    assertThat(hits.get(0).get("owner").asText()).as("a placeholder still names its owner")
        .isEqualTo(me.nodeId().toString());
    assertThat(hits.get(1).get("id").asText()).isEqualTo(near.id().toString());
    assertThat(hits.get(1).get("substitute_for").asText()).isEqualTo(gone.id().toString());
    assertThat(hits.get(1).get("text").asText()).isEqualTo("near");
    assertThat(r.has("scope")).as("a local search keeps the local shape").isFalse();
  }

  @Test
  void networkScopeMergesRemoteHitsDeduplicatedAndSaysWhoDidNotAnswer() throws Exception {
    PutResult mine = put("mine", 1, 0, 0, 0);
    OwnerKeys otherKeys = OwnerKeys.generate(new SecureRandom());
    NodeId other = otherKeys.nodeId();
    NodeId slow = OwnerKeys.generate(new SecureRandom()).nodeId();
    Fragment theirs = codec.create(otherKeys, 5, "theirs", new float[] {1, 0.5f, 0, 0},
        Map.of(), Visibility.SHARED);
    Fragment mineAsSeenThere = store.get(mine.id()).orElseThrow().fragment().orElseThrow();
    int[] hopsAsked = new int[1];
    network.set(new NetworkSearcher() {
      @Override
      public int maxHops() {
        return 2;
      }

      @Override
      public Result search(float[] query, int k, SearchFilter filter, int hops) {
        hopsAsked[0] = hops;
        return new Result(List.of(
            new SearchHit(mine.id(), 0.99f, FragmentState.PRESENT, Optional.of(mineAsSeenThere),
                Optional.empty(), other),
            new SearchHit(theirs.id(), 0.89f, FragmentState.PRESENT, Optional.of(theirs),
                Optional.empty(), other)),
            List.of(other, slow), List.of(slow), false);
      }
    });
    JsonNode r = search(200, "{\"vector\":[1,0,0,0],\"k\":5,\"scope\":\"network\",\"hops\":2}");
    assertThat(hopsAsked[0]).isEqualTo(2);
    assertThat(r.get("scope").asText()).isEqualTo("network");
    assertThat(r.get("asked").asInt()).isEqualTo(2);
    assertThat(r.get("partial").asBoolean()).isTrue();
    assertThat(r.get("unanswered")).extracting(JsonNode::asText).containsExactly(slow.toString());
    JsonNode hits = r.get("hits");
    assertThat(hits).hasSize(2);
    assertThat(hits.get(0).get("id").asText()).isEqualTo(mine.id().toString());
    assertThat(hits.get(0).get("node").asText()).as("the local copy wins")
        .isEqualTo(me.nodeId().toString());
    assertThat(hits.get(1).get("id").asText()).isEqualTo(theirs.id().toString());
    assertThat(hits.get(1).get("node").asText()).isEqualTo(other.toString());
    assertThat(hits.get(1).get("text").asText()).isEqualTo("theirs");
    assertThat(hits.get(1).get("owner").asText()).as("another user's knowledge says whose")
        .isEqualTo(other.toString());
    assertThat(hits.get(0).get("owner").asText()).isEqualTo(me.nodeId().toString());
  }

  @Test
  void networkScopeChecksHopsAndWorksWithoutAPeerService() throws Exception {
    put("mine", 1, 0, 0, 0);
    JsonNode alone = search(200, "{\"vector\":[1,0,0,0],\"scope\":\"network\"}");
    assertThat(alone.get("hits")).hasSize(1);
    assertThat(alone.get("asked").asInt()).isZero();
    assertThat(alone.get("note").asText()).contains("peer service");
    JsonNode tooFar = search(400, "{\"vector\":[1,0,0,0],\"scope\":\"network\",\"hops\":9}");
    assertThat(tooFar.get("field").asText()).isEqualTo("hops");
    JsonNode localHops = search(400, "{\"vector\":[1,0,0,0],\"hops\":2}");
    assertThat(localHops.get("field").asText()).isEqualTo("hops");
    JsonNode badScope = search(400, "{\"vector\":[1,0,0,0],\"scope\":\"galaxy\"}");
    assertThat(badScope.get("field").asText()).isEqualTo("scope");
    network.set(new NetworkSearcher() {
      @Override
      public int maxHops() {
        return 1;
      }

      @Override
      public Result search(float[] query, int k, SearchFilter filter, int hops) {
        throw new IllegalStateException("the peer service is closed");
      }
    });
    JsonNode overLimit = search(400, "{\"vector\":[1,0,0,0],\"scope\":\"network\",\"hops\":2}");
    assertThat(overLimit.get("message").asText()).contains("search.max-hops");
    JsonNode failing = search(200, "{\"vector\":[1,0,0,0],\"scope\":\"network\"}");
    assertThat(failing.get("hits")).hasSize(1);
    assertThat(failing.get("partial").asBoolean()).isTrue();
  }
}
