package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.FragmentService.PutResult;
import dev.mycelium.node.http.ApiKey;
import dev.mycelium.node.http.ApiResponse;
import dev.mycelium.node.http.ApiRoutes;
import dev.mycelium.node.http.StubBackend;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.node.replica.ReplicationHooks;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedTombstone;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The fragment service tells replication of puts, deletes and BLANK reads; puts may wait. */
class ReplicationHooksTest {
  private static final int DIM = 8;
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final Identity me = Identity.of(OwnerKeys.generate(new SecureRandom()));
  private final NodeId h1 = Identity.of(OwnerKeys.generate(new SecureRandom())).nodeId();
  private final NodeId h2 = Identity.of(OwnerKeys.generate(new SecureRandom())).nodeId();
  private final AtomicLong clock = new AtomicLong(1_000);
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec, 100, clock::get);
  private final ExactVectorIndex index = new ExactVectorIndex(DIM);
  private final FragmentService service = new FragmentService(me, codec, store, index,
      new HashEmbedder(DIM), 4, 10, new NodeMetrics(() -> null), clock::get);
  private final List<String> told = new CopyOnWriteArrayList<>();
  private volatile Set<NodeId> confirmed = Set.of();
  private volatile CompletableFuture<Set<NodeId>> waiting = new CompletableFuture<>();

  private final ReplicationHooks hooks = new ReplicationHooks() {
    @Override
    public void stored(FragmentId id) {
      told.add("stored " + id);
    }

    @Override
    public void deleted(FragmentId id, SignedTombstone tombstone) {
      assertThat(codec.verifyTombstoneFor(id, tombstone)).isEqualTo(me.nodeId());
      told.add("deleted " + id);
    }

    @Override
    public void blank(FragmentId id) {
      told.add("blank " + id);
    }

    @Override
    public CompletableFuture<Set<NodeId>> awaitConfirmed(FragmentId id, int w) {
      told.add("await " + w);
      return waiting;
    }

    @Override
    public Set<NodeId> confirmed(FragmentId id) {
      return confirmed;
    }
  };

  private final ApiRoutes routes = new ApiRoutes(new StubBackend(service) {}, ApiKey.of("k"), DIM);

  private JsonNode post(String body, int status) throws Exception {
    ApiResponse r = routes.handle("POST", "/v1/fragments", "Bearer k",
        body.getBytes(StandardCharsets.UTF_8));
    assertThat(r.status()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(status);
    return new ObjectMapper().readTree(r.body());
  }

  @Test
  void putsDeletesAndBlankReadsArePassedOn() {
    service.replication(hooks, Duration.ofSeconds(1));
    PutResult r = service.put(new PutRequest("x", null, Map.of(), Visibility.PRIVATE));
    service.delete(r.id());
    PutResult s = service.put(new PutRequest("y", null, Map.of(), Visibility.SHARED));
    store.markBlank(s.id());
    assertThat(service.get(s.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(told).containsExactly("stored " + r.id(), "deleted " + r.id(),
        "stored " + s.id(), "blank " + s.id());
    // Putting a deleted fragment again stores nothing, so nothing is replicated.
    told.clear();
    service.get(r.id());
    assertThat(told).isEmpty();
  }

  @Test
  void aPutMayWaitForHoldersAndSaysWhichConfirmed() throws Exception {
    service.replication(hooks, Duration.ofSeconds(5));
    waiting.complete(Set.of(h1, h2));
    JsonNode n = post("{\"text\":\"wait for two\",\"replicas\":2}", 201);
    assertThat(n.path("replicas").path("wanted").asInt()).isEqualTo(2);
    assertThat(n.path("replicas").path("met").asBoolean()).isTrue();
    assertThat(n.path("replicas").path("confirmed")).extracting(JsonNode::asText)
        .containsExactlyInAnyOrder(h1.toString(), h2.toString());
    assertThat(told).contains("await 2");
  }

  @Test
  void aPutThatWaitsForHoldersHoldsNoThreadWhileItWaits() throws Exception {
    service.replication(hooks, Duration.ofMinutes(5));
    CompletableFuture<ApiResponse> answer = routes.respond("POST", "/v1/fragments", "Bearer k",
        "{\"text\":\"wait\",\"replicas\":1}".getBytes(StandardCharsets.UTF_8));
    // respond() came back to this thread with the answer still open: no thread waits for it.
    assertThat(answer).isNotDone();
    assertThat(store.stats().entries()).isEqualTo(1);
    waiting.complete(Set.of(h1));
    ApiResponse r = answer.get();
    assertThat(r.status()).isEqualTo(201);
    assertThat(new ObjectMapper().readTree(r.body()).path("replicas").path("met").asBoolean())
        .isTrue();
  }

  @Test
  void aPutThatTimesOutAnswersThePartialConfirmation() throws Exception {
    service.replication(hooks, Duration.ofMillis(50));
    confirmed = Set.of(h1);
    JsonNode n = post("{\"text\":\"only one\",\"replicas\":3}", 201);
    assertThat(n.path("state").asText()).isEqualTo("PRESENT");
    assertThat(n.path("replicas").path("met").asBoolean()).isFalse();
    assertThat(n.path("replicas").path("confirmed")).extracting(JsonNode::asText)
        .containsExactly(h1.toString());
  }

  @Test
  void withoutReplicationAPutThatWaitsIsRefusedBeforeStoring() throws Exception {
    JsonNode n = post("{\"text\":\"nobody to wait for\",\"replicas\":1}", 503);
    assertThat(n.path("field").asText()).isEqualTo("replicas");
    assertThat(store.stats().entries()).isZero();
    JsonNode plain = post("{\"text\":\"no wait\",\"replicas\":0}", 201);
    assertThat(plain.has("replicas")).isFalse();
  }

  @Test
  void aBadReplicasValueNamesTheField() throws Exception {
    service.replication(hooks, Duration.ofSeconds(1));
    assertThat(post("{\"text\":\"x\",\"replicas\":-1}", 400).path("field").asText())
        .isEqualTo("replicas");
    assertThat(post("{\"text\":\"x\",\"replicas\":\"two\"}", 400).path("field").asText())
        .isEqualTo("replicas");
    assertThat(store.stats().entries()).isZero();
  }
}
