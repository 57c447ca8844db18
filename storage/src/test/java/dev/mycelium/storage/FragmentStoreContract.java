package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.StoreStats;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link FragmentStore} promises, run against each implementation (as Ratis runs one
 * suite over several transports), so the in-memory store is a faithful oracle for the
 * persistent one.
 */
abstract class FragmentStoreContract {
  protected FragmentStore store;

  /** A fresh, empty store holding at most {@code capacity} entries. */
  protected abstract FragmentStore newStore(long capacity) throws Exception;

  /** Damages the kept body of a PRESENT fragment, leaving its state as it was. */
  protected abstract void corrupt(FragmentStore store, FragmentId id);

  @BeforeEach
  void open() throws Exception {
    store = newStore(1_000);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static SignedTombstone tombstone(OwnerKeys owner, FragmentId id) {
    return Fixtures.CODEC.tombstone(owner, id, 1_800_000_000_000L);
  }

  @Test
  void putThenGetReturnsTheVerifiedFragment() {
    Fragment f = Fixtures.fragment(1);
    assertThat(store.put(f)).isEqualTo(FragmentState.PRESENT);
    StoredFragment got = store.get(f.id()).orElseThrow();
    assertThat(got.state()).isEqualTo(FragmentState.PRESENT);
    assertThat(got.owner()).contains(Fixtures.ALICE.nodeId());
    Fragment back = got.fragment().orElseThrow();
    assertThat(back.text()).isEqualTo("fragment number 1");
    assertThat(back.signed()).isEqualTo(f.signed());
    assertThat(back.vector()).containsExactly(f.vector());
    assertThat(back.metadata()).containsEntry("n", "1");
  }

  @Test
  void unknownIdAnswersEmptyAndChecksToNull() {
    FragmentId id = Fixtures.fragment(2).id();
    assertThat(store.get(id)).isEmpty();
    assertThat(store.check(id)).isNull();
  }

  @Test
  void putIsIdempotent() {
    Fragment f = Fixtures.fragment(3);
    store.put(f);
    assertThat(store.put(f)).isEqualTo(FragmentState.PRESENT);
    assertThat(store.stats().entries()).isEqualTo(1);
    assertThat(store.stats().byState()).containsEntry(FragmentState.PRESENT, 1L);
  }

  @Test
  void deletedStaysDeletedWhenPutAgain() {
    Fragment f = Fixtures.fragment(4);
    store.put(f);
    assertThat(store.tombstone(f.id())).isEmpty();
    var t = tombstone(Fixtures.ALICE, f.id());
    store.delete(f.id(), t);
    assertThat(store.tombstone(f.id())).contains(t);
    StoredFragment got = store.get(f.id()).orElseThrow();
    assertThat(got.state()).isEqualTo(FragmentState.DELETED);
    assertThat(got.fragment()).isEmpty();
    assertThat(got.owner()).contains(Fixtures.ALICE.nodeId());
    assertThat(store.put(f)).isEqualTo(FragmentState.DELETED);
    assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
  }

  @Test
  void tombstoneBeforeFragmentKeepsItOut() {
    Fragment f = Fixtures.fragment(5);
    store.delete(f.id(), tombstone(Fixtures.ALICE, f.id()));
    assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
    assertThat(store.put(f)).isEqualTo(FragmentState.DELETED);
    assertThat(store.stats().byState()).containsEntry(FragmentState.DELETED, 1L);
  }

  @Test
  void tombstoneForAnotherIdIsRefused() {
    Fragment f = Fixtures.fragment(6);
    Fragment g = Fixtures.fragment(7);
    store.put(f);
    assertThatThrownBy(() -> store.delete(f.id(), tombstone(Fixtures.ALICE, g.id())))
        .isInstanceOf(InvalidFragmentException.class)
        .extracting(e -> ((InvalidFragmentException) e).field())
        .isEqualTo("tombstone");
    assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
  }

  @Test
  void tombstoneByAnotherOwnerIsRefused() {
    Fragment f = Fixtures.fragment(8);
    store.put(f);
    assertThatThrownBy(() -> store.delete(f.id(), tombstone(Fixtures.BOB, f.id())))
        .isInstanceOf(InvalidFragmentException.class)
        .hasMessageContaining("belongs to");
    assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
  }

  @Test
  void corruptBodyReadsBlankAndIsCounted() {
    Fragment f = Fixtures.fragment(9);
    Fragment other = Fixtures.fragment(10);
    store.put(f);
    store.put(other);
    corrupt(store, f.id());

    StoredFragment got = store.get(f.id()).orElseThrow();
    assertThat(got.state()).isEqualTo(FragmentState.BLANK);
    assertThat(got.fragment()).isEmpty();
    assertThat(got.owner()).contains(Fixtures.ALICE.nodeId());
    assertThat(store.stats().blankDetections()).isEqualTo(1);
    assertThat(store.stats().byState())
        .containsEntry(FragmentState.BLANK, 1L)
        .containsEntry(FragmentState.PRESENT, 1L);
    // Read again: still BLANK, detected once only.
    assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(store.stats().blankDetections()).isEqualTo(1);
    assertThat(store.get(other.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
  }

  @Test
  void checkFindsCorruptionLikeARead() {
    Fragment f = Fixtures.fragment(11);
    store.put(f);
    assertThat(store.check(f.id())).isEqualTo(FragmentState.PRESENT);
    corrupt(store, f.id());
    assertThat(store.check(f.id())).isEqualTo(FragmentState.BLANK);
    assertThat(store.stats().blankDetections()).isEqualTo(1);
  }

  @Test
  void putRepairsABlankFragment() {
    Fragment f = Fixtures.fragment(12);
    store.put(f);
    corrupt(store, f.id());
    assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(store.put(f)).isEqualTo(FragmentState.PRESENT);
    assertThat(store.get(f.id()).orElseThrow().fragment()).isPresent();
    assertThat(store.stats().byState())
        .containsEntry(FragmentState.PRESENT, 1L)
        .containsEntry(FragmentState.BLANK, 0L);
  }

  @Test
  void putOverUndetectedCorruptionRestoresGoodBytes() {
    Fragment f = Fixtures.fragment(13);
    store.put(f);
    corrupt(store, f.id());
    assertThat(store.put(f)).isEqualTo(FragmentState.PRESENT);
    assertThat(store.get(f.id()).orElseThrow().fragment().orElseThrow().signed())
        .isEqualTo(f.signed());
  }

  @Test
  void markBlankKeepsOwnerAndPlaceholdersUnknownIds() {
    Fragment f = Fixtures.fragment(14);
    Fragment unknown = Fixtures.fragment(15);
    store.put(f);
    store.markBlank(f.id());
    store.markBlank(unknown.id());
    StoredFragment got = store.get(f.id()).orElseThrow();
    assertThat(got.state()).isEqualTo(FragmentState.BLANK);
    assertThat(got.owner()).contains(Fixtures.ALICE.nodeId());
    StoredFragment placeholder = store.get(unknown.id()).orElseThrow();
    assertThat(placeholder.state()).isEqualTo(FragmentState.BLANK);
    assertThat(placeholder.owner()).isEmpty();
    assertThat(store.stats().blankDetections()).isZero();
    assertThat(store.put(unknown)).isEqualTo(FragmentState.PRESENT);
  }

  @Test
  void markBlankLeavesDeletedAlone() {
    Fragment f = Fixtures.fragment(16);
    store.delete(f.id(), tombstone(Fixtures.ALICE, f.id()));
    store.markBlank(f.id());
    assertThat(store.check(f.id())).isEqualTo(FragmentState.DELETED);
  }

  @Test
  void statsCountEveryState() {
    for (int i = 0; i < 6; i++) {
      store.put(Fixtures.fragment(100 + i));
    }
    Fragment deleted = Fixtures.fragment(100);
    store.delete(deleted.id(), tombstone(Fixtures.ALICE, deleted.id()));
    Fragment early = Fixtures.fragment(200);
    store.delete(early.id(), tombstone(Fixtures.ALICE, early.id()));
    corrupt(store, Fixtures.fragment(101).id());
    store.get(Fixtures.fragment(101).id());
    store.markBlank(Fixtures.fragment(102).id());

    StoreStats stats = store.stats();
    assertThat(stats.byState())
        .containsEntry(FragmentState.PRESENT, 3L)
        .containsEntry(FragmentState.BLANK, 2L)
        .containsEntry(FragmentState.DELETED, 2L)
        .containsEntry(FragmentState.LOST, 0L);
    assertThat(stats.entries()).isEqualTo(7);
    assertThat(stats.blankDetections()).isEqualTo(1);
  }

  @Test
  void forEachIdVisitsEveryIdOnce() {
    Set<FragmentId> expected = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      Fragment f = Fixtures.fragment(300 + i);
      store.put(f);
      expected.add(f.id());
    }
    Fragment tomb = Fixtures.fragment(400);
    store.delete(tomb.id(), tombstone(Fixtures.ALICE, tomb.id()));
    expected.add(tomb.id());

    List<FragmentId> seen = new CopyOnWriteArrayList<>();
    store.forEachId(seen::add);
    assertThat(seen).hasSize(expected.size()).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void forEachIdVisitorMayCallBackIntoTheStore() {
    for (int i = 0; i < 20; i++) {
      store.put(Fixtures.fragment(500 + i));
    }
    int[] present = {0};
    store.forEachId(id -> {
      if (store.check(id) == FragmentState.PRESENT) {
        present[0]++;
      }
    });
    assertThat(present[0]).isEqualTo(20);
  }

  @Test
  void refusesNewIdsPastCapacityAndKeepsTheRest() throws Exception {
    store.close();
    store = newStore(10);
    for (int i = 0; i < 10; i++) {
      store.put(Fixtures.fragment(600 + i));
    }
    Fragment extra = Fixtures.fragment(700);
    assertThatThrownBy(() -> store.put(extra))
        .isInstanceOf(StoreFullException.class)
        .hasMessageContaining("storage.capacity-entries");
    assertThat(store.get(extra.id())).isEmpty();
    // A known ID still takes updates when full.
    store.delete(Fixtures.fragment(600).id(), tombstone(Fixtures.ALICE, Fixtures.fragment(600).id()));
    for (int i = 1; i < 10; i++) {
      assertThat(store.get(Fixtures.fragment(600 + i).id()).orElseThrow().state())
          .isEqualTo(FragmentState.PRESENT);
    }
    assertThat(store.stats().entries()).isEqualTo(10);
  }

  @Test
  void racingWritersNeverOverfillAndLoseNothingAcknowledged() throws Exception {
    store.close();
    store = newStore(60);
    int perThread = 40;
    List<Fragment> fragments = new java.util.ArrayList<>();
    for (int i = 0; i < 3 * perThread; i++) {
      fragments.add(Fixtures.fragment(800 + i));
    }
    List<FragmentId> acknowledged = new CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
    List<Thread> threads = new java.util.ArrayList<>();
    for (int t = 0; t < 3; t++) {
      List<Fragment> mine = fragments.subList(t * perThread, (t + 1) * perThread);
      Thread thread = new Thread(() -> {
        for (Fragment f : mine) {
          try {
            store.put(f);
            acknowledged.add(f.id());
          } catch (StoreFullException e) {
            refused.incrementAndGet();
          }
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(acknowledged).hasSize(60);
    assertThat(refused.get()).isEqualTo(60);
    assertThat(store.stats().entries()).isEqualTo(60);
    for (FragmentId id : acknowledged) {
      assertThat(store.get(id).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
    }
  }

  @Test
  void racingReadersOfACorruptFragmentCountOneDetection() throws Exception {
    Fragment f = Fixtures.fragment(900);
    store.put(f);
    corrupt(store, f.id());
    List<FragmentState> seen = new CopyOnWriteArrayList<>();
    List<Thread> threads = new java.util.ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread thread = new Thread(() -> {
        for (int i = 0; i < 5; i++) {
          seen.add(store.get(f.id()).orElseThrow().state());
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(seen).hasSize(20).containsOnly(FragmentState.BLANK);
    assertThat(store.stats().blankDetections()).isEqualTo(1);
    assertThat(store.stats().byState()).containsEntry(FragmentState.BLANK, 1L);
  }
}
