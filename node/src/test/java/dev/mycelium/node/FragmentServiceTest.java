package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.StoreStats;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.FragmentService.PutResult;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedTombstone;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
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
    assertThat(index.size()).isEqualTo(1);
    assertThat(second.indexLoaded()).as("texts still to embed").isFalse();
    second.drainEmbedQueue();
    assertThat(index.size()).isEqualTo(2);
    assertThat(second.indexLoaded()).isTrue();
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
  void aListingOverFlaggedStatesPutsThemFirstAndFiltersThemOnTheOwnerOnly() {
    FragmentService s = service(10);
    PutResult kept = s.put(new PutRequest("kept", vec(1, 0), Map.of("k", "v"), Visibility.PRIVATE));
    clock.incrementAndGet();
    PutResult rotten = s.put(new PutRequest("rotten", vec(0, 1), Map.of("k", "v"),
        Visibility.PRIVATE));
    store.markBlank(rotten.id());
    // PRESENT only, as before: the BLANK one is left out.
    assertThat(s.list(SearchFilter.NONE, false, 10).fragments())
        .extracting(StoredFragment::id).containsExactly(kept.id());
    FragmentService.Listing all = s.list(SearchFilter.NONE, false,
        Set.of(FragmentState.PRESENT, FragmentState.BLANK), 10);
    assertThat(all.total()).isEqualTo(2);
    assertThat(all.fragments()).extracting(StoredFragment::id)
        .containsExactly(rotten.id(), kept.id());
    assertThat(all.fragments().get(0).state()).isEqualTo(FragmentState.BLANK);
    // Only flagged ones, and a limit that the flagged ones fill.
    assertThat(s.list(SearchFilter.NONE, false, Set.of(FragmentState.BLANK), 10).fragments())
        .extracting(StoredFragment::id).containsExactly(rotten.id());
    FragmentService.Listing one = s.list(SearchFilter.NONE, false,
        Set.of(FragmentState.PRESENT, FragmentState.BLANK), 1);
    assertThat(one.total()).isEqualTo(2);
    assertThat(one.fragments()).extracting(StoredFragment::id).containsExactly(rotten.id());
    // Without its bytes a BLANK fragment cannot pass a metadata filter; the owner filter it can.
    SearchFilter byMetadata =
        new SearchFilter(Optional.empty(), Map.of("k", "v"), Optional.empty(), Optional.empty());
    assertThat(s.list(byMetadata, false, Set.of(FragmentState.PRESENT, FragmentState.BLANK), 10)
        .fragments()).extracting(StoredFragment::id).containsExactly(kept.id());
    SearchFilter byOther = new SearchFilter(
        Optional.of(Identity.of(OwnerKeys.generate(new SecureRandom())).nodeId()), Map.of(),
        Optional.empty(), Optional.empty());
    assertThat(s.list(byOther, false, Set.of(FragmentState.BLANK), 10).fragments()).isEmpty();
    SearchFilter byMe = new SearchFilter(Optional.of(me.nodeId()), Map.of(), Optional.empty(),
        Optional.empty());
    assertThat(s.list(byMe, false, Set.of(FragmentState.BLANK), 10).fragments())
        .extracting(StoredFragment::id).containsExactly(rotten.id());
  }

  @Test
  void replicasAreShownForOwnFragmentsOnlyWhileReplicationRuns() {
    FragmentService s = service(10);
    PutResult r = s.put(new PutRequest("placed", vec(1, 0), Map.of(), Visibility.PRIVATE));
    assertThat(s.replicas(r.id(), Optional.of(me.nodeId()))).isEmpty();
    NodeId a = Identity.of(OwnerKeys.generate(new SecureRandom())).nodeId();
    NodeId b = Identity.of(OwnerKeys.generate(new SecureRandom())).nodeId();
    s.replication(new dev.mycelium.node.replica.ReplicationHooks() {
      @Override
      public void stored(FragmentId id) {}

      @Override
      public void deleted(FragmentId id, SignedTombstone tombstone) {}

      @Override
      public void blank(FragmentId id) {}

      @Override
      public java.util.concurrent.CompletableFuture<Set<NodeId>> awaitConfirmed(FragmentId id,
          int w) {
        return new java.util.concurrent.CompletableFuture<>();
      }

      @Override
      public Set<NodeId> confirmed(FragmentId id) {
        return id.equals(r.id()) ? Set.of(a) : Set.of();
      }

      @Override
      public List<NodeId> holders() {
        return List.of(a, b);
      }
    }, java.time.Duration.ofSeconds(1));
    FragmentService.Replicas rep = s.replicas(r.id(), Optional.of(me.nodeId())).orElseThrow();
    assertThat(rep.holders()).containsExactly(a, b);
    assertThat(rep.confirmed()).containsExactly(a);
    assertThat(s.replicas(r.id(), Optional.of(a))).as("another owner's").isEmpty();
    assertThat(s.replicas(r.id(), Optional.empty())).as("owner unknown").isEmpty();
  }

  private static float[] vec(float... head) {
    float[] v = new float[DIM];
    System.arraycopy(head, 0, v, 0, head.length);
    return v;
  }

  /** The in-memory store, with some IDs answered as LOST (repair gave up on them). */
  private static final class LosingStore implements FragmentStore {
    final InMemoryFragmentStore inner;
    final Set<FragmentId> lost = ConcurrentHashMap.newKeySet();

    LosingStore(InMemoryFragmentStore inner) {
      this.inner = inner;
    }

    @Override
    public FragmentState put(Fragment fragment) {
      return inner.put(fragment);
    }

    @Override
    public Optional<StoredFragment> get(FragmentId id) {
      if (lost.contains(id)) {
        Optional<StoredFragment> sf = inner.get(id);
        return Optional.of(new StoredFragment(id, FragmentState.LOST,
            sf.flatMap(StoredFragment::owner), Optional.empty()));
      }
      return inner.get(id);
    }

    @Override
    public void delete(FragmentId id, SignedTombstone tombstone) {
      inner.delete(id, tombstone);
    }

    @Override
    public void markBlank(FragmentId id) {
      inner.markBlank(id);
    }

    @Override
    public FragmentState check(FragmentId id) {
      return inner.check(id);
    }

    @Override
    public void forEachId(Consumer<FragmentId> visitor) {
      inner.forEachId(visitor);
    }

    @Override
    public StoreStats stats() {
      return inner.stats();
    }

    @Override
    public void close() {
      inner.close();
    }
  }

  @Test
  void unavailableHitIsFlaggedAndFollowedByTheSurvivingNeighboursOfTheLostVector() {
    LosingStore losing = new LosingStore(store);
    FragmentService s = new FragmentService(me, codec, losing, index, embedder, 4, 10,
        new NodeMetrics(() -> null), clock::get);
    // The query points along x; the lost fragment between x and y. Its nearest survivors lean
    // towards y, away from the query, so they are the lost one's neighbours, not the query's.
    PutResult lostOne = s.put(new PutRequest("lost", vec(1, 1), Map.of(), Visibility.PRIVATE));
    PutResult nearLost = s.put(new PutRequest("near lost", vec(1, 0.9f), Map.of(),
        Visibility.PRIVATE));
    PutResult yish = s.put(new PutRequest("y-ish", vec(0.2f, 1), Map.of(), Visibility.PRIVATE));
    s.put(new PutRequest("far away", vec(0, 0, 1), Map.of(), Visibility.PRIVATE));
    losing.lost.add(lostOne.id());

    List<SearchHit> hits = s.search(null, vec(1, 1.01f), 1, SearchFilter.NONE).hits();

    assertThat(hits).hasSize(3);
    assertThat(hits.get(0).id()).isEqualTo(lostOne.id());
    assertThat(hits.get(0).state()).isEqualTo(FragmentState.LOST);
    assertThat(hits.get(0).fragment()).isEmpty();
    assertThat(hits.get(0).isSubstitute()).isFalse();
    assertThat(hits.subList(1, 3)).extracting(SearchHit::id)
        .containsExactly(nearLost.id(), yish.id());
    assertThat(hits.subList(1, 3)).allSatisfy(h -> {
      assertThat(h.substituteFor()).contains(lostOne.id());
      assertThat(h.state()).isEqualTo(FragmentState.PRESENT);
      assertThat(h.fragment()).isPresent();
      assertThat(h.node()).isEqualTo(me.nodeId());
    });
    // Scored against the query like any hit, not against the lost vector.
    assertThat(hits.get(1).score()).isCloseTo(
        dev.mycelium.storage.index.Vectors.cosine(vec(1, 1.01f), vec(1, 0.9f)),
        org.assertj.core.data.Offset.offset(1e-5f));
  }

  @Test
  void blankHitWithAReachableCopyIsOnlyFlaggedAndSubstitutesCanBeTurnedOff() {
    FragmentService s = service(10);
    PutResult gone = s.put(new PutRequest("gone", vec(1, 0), Map.of(), Visibility.PRIVATE));
    s.put(new PutRequest("other", vec(1, 0.5f), Map.of(), Visibility.PRIVATE));
    store.markBlank(gone.id());
    assertThat(s.search(null, vec(1, 0), 1, SearchFilter.NONE).hits())
        .as("no copy known: a substitute follows")
        .extracting(SearchHit::isSubstitute).containsExactly(false, true);
    s.setCopyLocator(id -> id.equals(gone.id()));
    assertThat(s.search(null, vec(1, 0), 1, SearchFilter.NONE).hits())
        .singleElement().satisfies(h -> assertThat(h.state()).isEqualTo(FragmentState.BLANK));
    s.setCopyLocator(id -> false);
    s.setSubstitutesPerHit(0);
    assertThat(s.search(null, vec(1, 0), 1, SearchFilter.NONE).hits()).hasSize(1);
    assertThatThrownBy(() -> s.setSubstitutesPerHit(11))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void substitutesPassTheSearchFilterAndNeverRepeatAHit() {
    FragmentService s = service(10);
    OwnerKeys other = OwnerKeys.generate(new SecureRandom());
    PutResult gone = s.put(new PutRequest("gone", vec(1, 0), Map.of(), Visibility.PRIVATE));
    PutResult mineNear = s.put(new PutRequest("mine", vec(1, 0.3f), Map.of(),
        Visibility.PRIVATE));
    var theirs = codec.create(other, 5, "theirs", vec(1, 0.01f), Map.of(), Visibility.SHARED);
    store.put(theirs);
    index.add(theirs.id(), theirs.vector());
    store.markBlank(gone.id());
    SearchFilter mineOnly = new SearchFilter(Optional.of(me.nodeId()), Map.of(),
        Optional.empty(), Optional.empty());
    List<SearchHit> hits = s.search(null, vec(1, 0), 2, mineOnly).hits();
    assertThat(hits).extracting(SearchHit::id).containsExactly(gone.id(), mineNear.id());
    assertThat(hits).noneMatch(SearchHit::isSubstitute);
  }

  @Test
  void aSearchDuringLossNeverFails() {
    FragmentService s = service(10);
    java.util.Random rnd = new java.util.Random(7);
    List<FragmentId> ids = new java.util.ArrayList<>();
    for (int i = 0; i < 60; i++) {
      float[] v = new float[DIM];
      for (int d = 0; d < DIM; d++) {
        v[d] = (float) rnd.nextGaussian();
      }
      ids.add(s.put(new PutRequest("f" + i, v, Map.of(), Visibility.PRIVATE)).id());
    }
    for (int i = 0; i < 6; i++) {
      store.markBlank(ids.get(i * 10));
    }
    int flagged = 0;
    for (int q = 0; q < 200; q++) {
      float[] v = new float[DIM];
      for (int d = 0; d < DIM; d++) {
        v[d] = (float) rnd.nextGaussian();
      }
      List<SearchHit> hits = s.search(null, v, 5, SearchFilter.NONE).hits();
      assertThat(hits.stream().filter(h -> !h.isSubstitute())).hasSize(5);
      for (SearchHit h : hits) {
        if (h.state() == FragmentState.BLANK) {
          flagged++;
          assertThat(h.fragment()).isEmpty();
        } else {
          assertThat(h.state()).isEqualTo(FragmentState.PRESENT);
          assertThat(h.fragment()).isPresent();
        }
      }
    }
    assertThat(flagged).as("blank fragments showed up, flagged").isPositive();
  }

  @Test
  void othersSeeOnlySharedPresentFragments() {
    FragmentService s = service(10);
    PutResult shared = s.put(new PutRequest("shared", vec(1, 0), Map.of(), Visibility.SHARED));
    s.put(new PutRequest("private", vec(1, 0.01f), Map.of(), Visibility.PRIVATE));
    PutResult blankShared = s.put(new PutRequest("shared, then blank", vec(1, 0.02f), Map.of(),
        Visibility.SHARED));
    store.markBlank(blankShared.id());
    assertThat(s.searchShared(vec(1, 0), 10, SearchFilter.NONE))
        .extracting(SearchHit::id).containsExactly(shared.id());
  }

  @Test
  void sharedFragmentsOfOthersAreCheckedStoredAndIndexed() {
    FragmentService s = service(10);
    OwnerKeys other = OwnerKeys.generate(new SecureRandom());
    var theirs = codec.create(other, 5, "their note", vec(0, 1), Map.of("topic", "garden"),
        Visibility.SHARED);
    assertThat(s.ingestShared(theirs.signed())).isEqualTo(FragmentState.PRESENT);
    assertThat(s.ingestShared(theirs.signed())).isEqualTo(FragmentState.PRESENT);
    assertThat(s.sharedIngested()).isEqualTo(1);
    assertThat(s.search(null, vec(0, 1), 1, SearchFilter.NONE).hits())
        .singleElement().satisfies(h -> assertThat(h.id()).isEqualTo(theirs.id()));

    var secret = codec.create(other, 6, "private", vec(0, 1), Map.of(), Visibility.PRIVATE);
    assertThatThrownBy(() -> s.ingestShared(secret.signed()))
        .isInstanceOf(InvalidFragmentException.class).hasMessageContaining("private");
    var forged = theirs.signed().toBuilder()
        .setSignature(com.google.protobuf.ByteString.copyFrom(new byte[64])).build();
    var altered = codec.create(other, 7, "x", vec(0, 1), Map.of(), Visibility.SHARED).signed();
    var swapped = altered.toBuilder().setSignature(theirs.signed().getSignature()).build();
    assertThatThrownBy(() -> s.ingestShared(forged)).isInstanceOf(InvalidFragmentException.class);
    assertThatThrownBy(() -> s.ingestShared(swapped)).isInstanceOf(InvalidFragmentException.class);
    assertThat(s.sharedIngested()).isEqualTo(1);
  }

  @Test
  void ownPutsReachPutListenersAndAFailingListenerDoesNotFailThePut() {
    FragmentService s = service(10);
    List<FragmentId> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    s.addPutListener(f -> {
      throw new IllegalStateException("boom");
    });
    s.addPutListener(f -> seen.add(f.id()));
    PutResult r = s.put(new PutRequest("note", vec(1), Map.of(), Visibility.SHARED));
    assertThat(r.state()).isEqualTo(FragmentState.PRESENT);
    assertThat(seen).containsExactly(r.id());
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

  /** An embedder that dies (out of heap while loading its model) is reported, not hidden. */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, threadMode =
      org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void anEmbedderThatDiesOfAnErrorIsReportedAsStopped() throws Exception {
    dev.mycelium.storage.Embedder dying = new dev.mycelium.storage.Embedder() {
      @Override
      public int dimension() {
        return DIM;
      }

      @Override
      public float[] embed(String text) {
        throw new OutOfMemoryError("Java heap space (a test)");
      }
    };
    FragmentService s = new FragmentService(me, codec, store, index, dying, 4, 10,
        new NodeMetrics(() -> null), clock::get);
    assertThat(s.embedderStopped()).isEmpty();
    Throwable[] died = new Throwable[1];
    Thread t = new Thread(s::embedLoop);
    t.setUncaughtExceptionHandler((th, e) -> died[0] = e);
    t.start();
    t.join();
    assertThat(died[0]).isInstanceOf(OutOfMemoryError.class);
    assertThat(s.embedderStopped()).get().asString().contains("OutOfMemoryError")
        .contains("a test");
  }
}
