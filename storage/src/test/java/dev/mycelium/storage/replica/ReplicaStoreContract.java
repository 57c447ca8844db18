package dev.mycelium.storage.replica;

import static dev.mycelium.storage.replica.Replicas.ALICE;
import static dev.mycelium.storage.replica.Replicas.BOB;
import static dev.mycelium.storage.replica.Replicas.CODEC;
import static dev.mycelium.storage.replica.Replicas.idOf;
import static dev.mycelium.storage.replica.Replicas.sealed;
import static dev.mycelium.storage.replica.Replicas.shared;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.storage.Scrubber;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link ReplicaStore} promises, run against each implementation. */
abstract class ReplicaStoreContract {
  protected final AtomicLong clock = new AtomicLong(1_000);
  protected ReplicaStore store;

  protected abstract ReplicaStore newStore(long capacity) throws Exception;

  @BeforeEach
  void open() throws Exception {
    store = newStore(100);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static SignedTombstone tombstone(FragmentId id) {
    return CODEC.tombstone(ALICE, id, 1_800_000_000_000L);
  }

  private static void corrupt(ReplicaStore s, FragmentId id) {
    ((AbstractReplicaStore) s).corruptForTest(id);
  }

  @Test
  void putThenGetReturnsTheExactReplicaWithItsOwner() {
    SignedReplica r = sealed(ALICE, 1);
    assertThat(store.put(r)).isEqualTo(FragmentState.PRESENT);
    HeldReplica h = store.get(idOf(r)).orElseThrow();
    assertThat(h.state()).isEqualTo(FragmentState.PRESENT);
    assertThat(h.owner()).isEqualTo(ALICE.nodeId());
    assertThat(h.replica()).contains(r);
    assertThat(h.tombstone()).isEmpty();
    assertThat(h.storedAtMillis()).isEqualTo(1_000);
    assertThat(store.put(r)).isEqualTo(FragmentState.PRESENT);
    assertThat(store.stats().entries()).isEqualTo(1);
  }

  @Test
  void unknownIdsAnswerEmpty() {
    FragmentId id = idOf(shared(ALICE, 2));
    assertThat(store.get(id)).isEmpty();
    assertThat(store.check(id)).isNull();
  }

  @Test
  void forgedOrMalformedReplicasAreRefused() {
    SignedReplica r = shared(ALICE, 3);
    SignedReplica forged = r.toBuilder()
        .setSignature(ByteString.copyFrom(BOB.sign(new byte[32]))).build();
    assertThatThrownBy(() -> store.put(forged)).isInstanceOf(InvalidFragmentException.class)
        .hasMessageContaining("signature");
    SignedReplica garbage = SignedReplica.newBuilder()
        .setBody(ByteString.copyFromUtf8("not a body")).build();
    assertThatThrownBy(() -> store.put(garbage)).isInstanceOf(InvalidFragmentException.class);
    assertThat(store.stats().entries()).isZero();
  }

  @Test
  void anotherOwnerCannotSquatOnAnId() {
    SignedReplica r = sealed(ALICE, 4);
    store.put(r);
    // Bob wraps Alice's fragment ID in an envelope of his own and signs it.
    dev.mycelium.wire.proto.ReplicaBody body = ReplicaChecks.parse(r).body().toBuilder()
        .setOwnerPublicKey(ByteString.copyFrom(BOB.publicKey())).build();
    SignedReplica bobs = Replicas.sign(BOB, body);
    assertThatThrownBy(() -> store.put(bobs)).isInstanceOf(InvalidFragmentException.class)
        .hasMessageContaining("held here for");
    assertThatThrownBy(() -> store.delete(idOf(r), CODEC.tombstone(BOB, idOf(r), 5)))
        .isInstanceOf(InvalidFragmentException.class);
    assertThat(store.get(idOf(r)).orElseThrow().replica()).contains(r);
  }

  @Test
  void aTombstoneDropsTheBytesAndKeepsTheIdDeleted() {
    SignedReplica r = shared(ALICE, 5);
    store.put(r);
    FragmentId id = idOf(r);
    store.delete(id, tombstone(id));
    HeldReplica h = store.get(id).orElseThrow();
    assertThat(h.state()).isEqualTo(FragmentState.DELETED);
    assertThat(h.replica()).isEmpty();
    assertThat(h.tombstone()).contains(tombstone(id));
    assertThat(store.put(r)).isEqualTo(FragmentState.DELETED);
    assertThat(store.get(id).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
    assertThat(store.stats().byState()).containsEntry(FragmentState.DELETED, 1L)
        .containsEntry(FragmentState.PRESENT, 0L);
  }

  @Test
  void aTombstoneCanArriveBeforeTheReplica() {
    SignedReplica r = sealed(ALICE, 6);
    FragmentId id = idOf(r);
    store.delete(id, tombstone(id));
    assertThat(store.put(r)).isEqualTo(FragmentState.DELETED);
    assertThat(store.get(id).orElseThrow().owner()).isEqualTo(ALICE.nodeId());
  }

  @Test
  void aTombstoneForAnotherIdIsRefused() {
    FragmentId a = idOf(shared(ALICE, 7));
    FragmentId b = idOf(shared(ALICE, 8));
    assertThatThrownBy(() -> store.delete(a, tombstone(b)))
        .isInstanceOf(InvalidFragmentException.class);
  }

  @Test
  void damagedBytesReadAsBlankKeepTheOwnerAndTellTheListener() {
    SignedReplica r = sealed(ALICE, 9);
    store.put(r);
    FragmentId id = idOf(r);
    List<String> told = new CopyOnWriteArrayList<>();
    store.onBlank((i, o) -> told.add(i + "/" + o));
    corrupt(store, id);
    HeldReplica h = store.get(id).orElseThrow();
    assertThat(h.state()).isEqualTo(FragmentState.BLANK);
    assertThat(h.owner()).isEqualTo(ALICE.nodeId());
    assertThat(h.replica()).isEmpty();
    assertThat(told).containsExactly(id + "/" + ALICE.nodeId());
    assertThat(store.stats().blankDetections()).isEqualTo(1);
    assertThat(store.stats().byState()).containsEntry(FragmentState.BLANK, 1L)
        .containsEntry(FragmentState.PRESENT, 0L);
    // A pull from another holder fills it again.
    assertThat(store.put(r)).isEqualTo(FragmentState.PRESENT);
    assertThat(store.get(id).orElseThrow().replica()).contains(r);
    assertThat(store.stats().byState()).containsEntry(FragmentState.BLANK, 0L);
  }

  @Test
  void aDamagedTombstoneStaysDeletedWhenRewritten() {
    SignedReplica r = shared(ALICE, 10);
    FragmentId id = idOf(r);
    store.delete(id, tombstone(id));
    corrupt(store, id);
    assertThat(store.get(id).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    store.delete(id, tombstone(id));
    assertThat(store.get(id).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
  }

  @Test
  void markBlankKeepsTheOwnerAndMakesPlaceholders() {
    SignedReplica r = shared(ALICE, 11);
    store.put(r);
    store.markBlank(idOf(r), ALICE.nodeId());
    assertThat(store.get(idOf(r)).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    FragmentId unseen = idOf(sealed(BOB, 12));
    store.markBlank(unseen, BOB.nodeId());
    HeldReplica p = store.get(unseen).orElseThrow();
    assertThat(p.state()).isEqualTo(FragmentState.BLANK);
    assertThat(p.owner()).isEqualTo(BOB.nodeId());
    assertThat(store.stats().blankDetections()).isZero();
    FragmentId gone = idOf(shared(ALICE, 13));
    store.delete(gone, tombstone(gone));
    store.markBlank(gone, ALICE.nodeId());
    assertThat(store.get(gone).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
  }

  @Test
  void entriesAreListedByOwner() {
    Set<FragmentId> alices = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      SignedReplica r = sealed(ALICE, 20 + i);
      store.put(r);
      alices.add(idOf(r));
    }
    SignedReplica bobs = shared(BOB, 30);
    store.put(bobs);
    FragmentId deleted = idOf(shared(ALICE, 31));
    store.delete(deleted, tombstone(deleted));
    alices.add(deleted);
    Set<FragmentId> seen = new HashSet<>();
    store.forEachOfOwner(ALICE.nodeId(), seen::add);
    assertThat(seen).isEqualTo(alices);
    assertThat(store.owners()).containsExactlyInAnyOrder(ALICE.nodeId(), BOB.nodeId());
    assertThat(store.countOf(ALICE.nodeId())).isEqualTo(6);
    assertThat(store.countOf(NodeId.fromPublicKey(new byte[32]))).isZero();
    List<FragmentId> all = new ArrayList<>();
    store.forEachId(all::add);
    assertThat(all).hasSize(7);
  }

  @Test
  void oldTombstonesArePurgedAndYoungOnesKept() {
    FragmentId old = idOf(shared(ALICE, 40));
    store.delete(old, tombstone(old));
    clock.set(5_000);
    FragmentId young = idOf(shared(ALICE, 41));
    store.delete(young, tombstone(young));
    SignedReplica kept = shared(ALICE, 42);
    store.put(kept);
    assertThat(store.purgeTombstones(2_000)).isEqualTo(1);
    assertThat(store.get(old)).isEmpty();
    assertThat(store.get(young)).isPresent();
    assertThat(store.get(idOf(kept))).isPresent();
    assertThat(store.countOf(ALICE.nodeId())).isEqualTo(2);
    assertThat(store.stats().entries()).isEqualTo(2);
  }

  @Test
  void theScrubberFindsRotAndCountsIt() {
    List<FragmentId> ids = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      SignedReplica r = i % 2 == 0 ? sealed(ALICE, 50 + i) : shared(BOB, 50 + i);
      store.put(r);
      ids.add(idOf(r));
    }
    corrupt(store, ids.get(3));
    corrupt(store, ids.get(8));
    List<FragmentId> told = new CopyOnWriteArrayList<>();
    store.onBlank((id, owner) -> told.add(id));
    Scrubber scrubber = new Scrubber(store, 1_000, 100);
    List<FragmentId> scrubbed = new CopyOnWriteArrayList<>();
    scrubber.onFailure(scrubbed::add);
    scrubber.step(0);
    scrubber.step(1_000_000_000L);
    assertThat(scrubber.checked()).isEqualTo(10);
    assertThat(scrubber.failures()).isEqualTo(2);
    assertThat(told).containsExactlyInAnyOrder(ids.get(3), ids.get(8));
    assertThat(scrubbed).containsExactlyInAnyOrder(ids.get(3), ids.get(8));
    assertThat(store.stats().byState()).containsEntry(FragmentState.BLANK, 2L)
        .containsEntry(FragmentState.PRESENT, 8L);
  }

  @Test
  void aFullStoreRefusesNewIdsButTakesKnownOnes() throws Exception {
    store.close();
    store = newStore(2);
    SignedReplica a = shared(ALICE, 60);
    SignedReplica b = shared(ALICE, 61);
    store.put(a);
    store.put(b);
    assertThatThrownBy(() -> store.put(shared(ALICE, 62)))
        .isInstanceOf(StoreFullException.class)
        .hasMessageContaining("replication.capacity-entries");
    store.delete(idOf(a), tombstone(idOf(a)));
    assertThat(store.put(b)).isEqualTo(FragmentState.PRESENT);
  }

  @Test
  void aVerifiedPutSkipsNoConsistencyCheck() {
    SignedReplica r = sealed(ALICE, 80);
    assertThat(store.putVerified(idOf(r), ALICE.nodeId(), r)).isEqualTo(FragmentState.PRESENT);
    assertThat(store.get(idOf(r)).orElseThrow().replica()).contains(r);
    SignedReplica other = sealed(ALICE, 81);
    assertThatThrownBy(() -> store.putVerified(idOf(r), ALICE.nodeId(), other))
        .isInstanceOf(InvalidFragmentException.class).hasMessageContaining("names fragment");
    assertThatThrownBy(() -> store.putVerified(idOf(other), BOB.nodeId(), other))
        .isInstanceOf(InvalidFragmentException.class);
  }

  @Test
  void removeAndDropOwnerForgetEntriesAndCounts() {
    SignedReplica a = sealed(ALICE, 90);
    SignedReplica b = shared(ALICE, 91);
    SignedReplica c = shared(BOB, 92);
    store.put(a);
    store.put(b);
    store.put(c);
    FragmentId gone = idOf(shared(ALICE, 93));
    store.delete(gone, tombstone(gone));
    assertThat(store.remove(idOf(a))).isTrue();
    assertThat(store.remove(idOf(a))).isFalse();
    assertThat(store.get(idOf(a))).isEmpty();
    assertThat(store.countOf(ALICE.nodeId())).isEqualTo(2);
    assertThat(store.dropOwner(ALICE.nodeId())).isEqualTo(2);
    assertThat(store.owners()).containsExactly(BOB.nodeId());
    assertThat(store.stats().entries()).isEqualTo(1);
    assertThat(store.stats().byState()).containsEntry(FragmentState.PRESENT, 1L)
        .containsEntry(FragmentState.DELETED, 0L);
    // Room freed by removals is usable again.
    assertThat(store.put(a)).isEqualTo(FragmentState.PRESENT);
  }

  @Test
  void aClosedStoreSaysSo() {
    store.close();
    assertThatThrownBy(() -> store.get(idOf(shared(ALICE, 70))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }
}
