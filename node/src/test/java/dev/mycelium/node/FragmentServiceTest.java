package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.FragmentService.PutResult;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.FragmentCodec;
import dev.mycelium.storage.FragmentLimits;
import dev.mycelium.storage.FragmentState;
import dev.mycelium.storage.InMemoryFragmentStore;
import dev.mycelium.storage.InvalidFragmentException;
import dev.mycelium.storage.OwnerKeys;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.storage.Visibility;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import dev.mycelium.wire.NodeId;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The node's fragment logic on in-memory doubles, with background work run by hand. */
class FragmentServiceTest {
  private static final int DIM = 16;
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final Identity me = Identity.of(OwnerKeys.generate(new SecureRandom()));
  private final AtomicLong clock = new AtomicLong(1_000);
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec, 100, clock::get);
  private final ExactVectorIndex index = new ExactVectorIndex(DIM);
  private final HashEmbedder embedder = new HashEmbedder(DIM);

  private FragmentService service(int queueCapacity) {
    return new FragmentService(me, codec, store, index, embedder, 4, queueCapacity,
        new NodeMetrics(() -> null), clock::get);
  }

  @Test
  void textOnlyPutIsStoredAtOnceAndIndexedOnlyAfterEmbedding() {
    FragmentService s = service(10);
    PutResult r = s.put(new PutRequest("alpha beta", null, Map.of(), Visibility.PRIVATE));
    assertThat(r.embedded()).isFalse();
    assertThat(store.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
    assertThat(index.size()).isZero();
    assertThat(s.embedQueueSize()).isEqualTo(1);
    s.drainEmbedQueue();
    assertThat(index.size()).isEqualTo(1);
    // The stored fragment stays as signed: no vector was written into it.
    assertThat(store.get(r.id()).orElseThrow().fragment().orElseThrow().hasVector()).isFalse();
    List<SearchHit> hits = s.search("alpha", null, 5, SearchFilter.NONE).hits();
    assertThat(hits).extracting(SearchHit::id).containsExactly(r.id());
  }

  @Test
  void aFullEmbeddingQueueDefersInsteadOfBlockingTheWrite() {
    FragmentService s = service(1);
    s.put(new PutRequest("one", null, Map.of(), Visibility.PRIVATE));
    PutResult second = s.put(new PutRequest("two", null, Map.of(), Visibility.PRIVATE));
    assertThat(second.state()).isEqualTo(FragmentState.PRESENT);
    assertThat(s.embedQueueSize()).isEqualTo(1);
  }

  @Test
  void reconcileRebuildsAnEmptyIndexFromTheStore() throws Exception {
    FragmentService first = service(10);
    float[] v = new float[DIM];
    v[2] = 1;
    PutResult withVector = first.put(new PutRequest("vec", v, Map.of(), Visibility.SHARED));
    PutResult textOnly = first.put(new PutRequest("gamma delta", null, Map.of(),
        Visibility.PRIVATE));
    PutResult gone = first.put(new PutRequest("to delete", v.clone(), Map.of("x", "y"),
        Visibility.PRIVATE));
    first.delete(gone.id());
    index.remove(withVector.id());
    // A fresh service over the same store and an empty index, as after losing the index.
    FragmentService second = service(10);
    assertThat(second.indexLoaded()).isFalse();
    second.reconcileIndex();
    assertThat(second.indexLoaded()).isTrue();
    assertThat(index.size()).isEqualTo(1);
    second.drainEmbedQueue();
    assertThat(index.size()).isEqualTo(2);
    assertThat(second.search(null, v, 10, SearchFilter.NONE).hits())
        .extracting(SearchHit::id)
        .contains(withVector.id(), textOnly.id())
        .doesNotContain(gone.id());
  }

  @Test
  void blankHitsComeBackFlaggedWithoutText() {
    FragmentService s = service(10);
    float[] v = new float[DIM];
    v[0] = 1;
    PutResult r = s.put(new PutRequest("soon blank", v, Map.of("k", "v"), Visibility.PRIVATE));
    store.markBlank(r.id());
    List<SearchHit> hits = s.search(null, v, 5, SearchFilter.NONE).hits();
    assertThat(hits).hasSize(1);
    assertThat(hits.get(0).state()).isEqualTo(FragmentState.BLANK);
    assertThat(hits.get(0).fragment()).isEmpty();
    SearchFilter byMetadata =
        new SearchFilter(Optional.empty(), Map.of("k", "v"), Optional.empty(), Optional.empty());
    assertThat(s.search(null, v, 5, byMetadata).hits()).isEmpty();
  }

  @Test
  void deleteIsIdempotentAndOnlyForTheOwner() {
    FragmentService s = service(10);
    PutResult r = s.put(new PutRequest("mine", null, Map.of(), Visibility.PRIVATE));
    assertThat(s.delete(r.id())).contains(FragmentState.DELETED);
    assertThat(s.delete(r.id())).contains(FragmentState.DELETED);
    assertThat(s.put(new PutRequest("mine", null, Map.of(), Visibility.PRIVATE)).state())
        .as("same content, same time: same ID, still deleted")
        .isEqualTo(FragmentState.DELETED);
    OwnerKeys other = OwnerKeys.generate(new SecureRandom());
    var foreign = codec.create(other, 5, "theirs", new float[0], Map.of(), Visibility.SHARED);
    store.put(foreign);
    assertThatThrownBy(() -> s.delete(foreign.id()))
        .isInstanceOf(NotOwnerException.class)
        .hasMessageContaining(NodeId.fromPublicKey(other.publicKey()).toString());
  }

  @Test
  void wrongQueryDimensionIsRejectedNamingTheField() {
    FragmentService s = service(10);
    assertThatThrownBy(() -> s.search(null, new float[3], 5, SearchFilter.NONE))
        .isInstanceOf(InvalidFragmentException.class)
        .satisfies(e -> assertThat(((InvalidFragmentException) e).field()).isEqualTo("vector"));
  }
}
