package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.StoreStats;
import dev.mycelium.model.StoredFragment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The beacon on a virtual clock: time is just the numbers passed to step(). */
class ScrubberTest {
  private static final long SECOND = 1_000_000_000L;

  /** Records which IDs were checked, in order, on top of a real store. */
  private static final class Recording implements FragmentStore {
    final InMemoryFragmentStore inner = new InMemoryFragmentStore(Fixtures.CODEC);
    final List<FragmentId> checks = new ArrayList<>();

    @Override
    public FragmentState put(Fragment fragment) {
      return inner.put(fragment);
    }

    @Override
    public java.util.Optional<StoredFragment> get(FragmentId id) {
      return inner.get(id);
    }

    @Override
    public void delete(FragmentId id, dev.mycelium.wire.proto.SignedTombstone tombstone) {
      inner.delete(id, tombstone);
    }

    @Override
    public void markBlank(FragmentId id) {
      inner.markBlank(id);
    }

    @Override
    public FragmentState check(FragmentId id) {
      checks.add(id);
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

  private static Recording storeWith(int n) {
    Recording store = new Recording();
    for (int i = 0; i < n; i++) {
      store.put(Fixtures.fragment(i));
    }
    return store;
  }

  @Test
  void checksNoMoreThanTheRateAllows() {
    Recording store = storeWith(100);
    Scrubber scrubber = new Scrubber(store, 10, 1_000);
    assertThat(scrubber.step(0)).isZero();
    assertThat(scrubber.step(SECOND)).isEqualTo(10);
    assertThat(scrubber.step(SECOND + SECOND / 2)).isEqualTo(5);
    assertThat(scrubber.step(SECOND + SECOND / 2)).isZero();
    // Fractions carry over: 0.3 s + 0.3 s + 0.4 s make 10 checks in all.
    int sum = scrubber.step(SECOND * 18 / 10) + scrubber.step(SECOND * 21 / 10)
        + scrubber.step(SECOND * 25 / 10);
    assertThat(sum).isEqualTo(10);
    assertThat(scrubber.checked()).isEqualTo(25);
    assertThat(store.checks).hasSize(25).doesNotHaveDuplicates();
  }

  @Test
  void aLateStepIsBoundedAndDoesNotBankTheBacklog() {
    Recording store = storeWith(100);
    Scrubber scrubber = new Scrubber(store, 10, 7);
    scrubber.step(0);
    assertThat(scrubber.step(60 * SECOND)).isEqualTo(7);
    assertThat(scrubber.step(60 * SECOND)).isZero();
  }

  @Test
  void clockGoingBackwardsChecksNothing() {
    Recording store = storeWith(10);
    Scrubber scrubber = new Scrubber(store, 10, 100);
    scrubber.step(10 * SECOND);
    assertThat(scrubber.step(5 * SECOND)).isZero();
    assertThat(scrubber.step(5 * SECOND + SECOND / 2)).isEqualTo(5);
  }

  @Test
  void walksEveryIdOncePerPassAndWrapsAround() {
    Recording store = storeWith(25);
    Scrubber scrubber = new Scrubber(store, 10, 100);
    long now = 0;
    scrubber.step(now);
    for (int i = 0; i < 5; i++) {
      now += SECOND;
      assertThat(scrubber.step(now)).isEqualTo(10);
    }
    assertThat(scrubber.passes()).isEqualTo(2);
    assertThat(store.checks).hasSize(50);
    assertThat(store.checks.subList(0, 25)).doesNotHaveDuplicates();
    assertThat(store.checks.subList(25, 50))
        .containsExactlyInAnyOrderElementsOf(store.checks.subList(0, 25));
  }

  @Test
  void aSmallStoreIsNotCheckedTwiceInOneStep() {
    Recording store = storeWith(3);
    Scrubber scrubber = new Scrubber(store, 100, 100);
    scrubber.step(0);
    assertThat(scrubber.step(SECOND)).isEqualTo(3);
    assertThat(scrubber.passes()).isEqualTo(1);
  }

  @Test
  void anEmptyStoreCompletesNoPass() {
    Recording store = storeWith(0);
    Scrubber scrubber = new Scrubber(store, 100, 100);
    scrubber.step(0);
    assertThat(scrubber.step(SECOND)).isZero();
    assertThat(scrubber.passes()).isZero();
    store.put(Fixtures.fragment(1));
    assertThat(scrubber.step(2 * SECOND)).isEqualTo(1);
  }

  /**
   * A paced scrubber walks the store once per pass interval and says when it next has work, so
   * a node following those deadlines wakes a handful of times per pass instead of every 100 ms.
   */
  @Test
  void aPacedScrubberRestsBetweenPassesAndSaysWhenItNextHasWork() {
    Recording store = storeWith(20);
    Scrubber scrubber = new Scrubber(store, 10, 10, 60 * SECOND);
    scrubber.step(0);
    assertThat(scrubber.nextStepNanos()).as("one check's worth at 10/s").isEqualTo(SECOND / 10);
    List<Long> wakes = new ArrayList<>();
    long now;
    while ((now = scrubber.nextStepNanos()) < 130 * SECOND) {
      wakes.add(now);
      scrubber.step(now);
    }
    assertThat(scrubber.passes()).isEqualTo(3);
    assertThat(store.checks).hasSize(60);
    // 0.1 s, 1.1 s, 2.0 s for the first pass; then two steps a pass, a minute apart.
    assertThat(wakes).containsExactly(SECOND / 10, 11 * SECOND / 10, 2 * SECOND,
        601 * SECOND / 10, 611 * SECOND / 10, 1201 * SECOND / 10, 1211 * SECOND / 10);
    assertThat(now).as("the fourth pass").isEqualTo(1801 * SECOND / 10);
  }

  @Test
  void aPacedScrubberChecksNothingBetweenPassesHoweverOftenItIsStepped() {
    Recording store = storeWith(5);
    Scrubber scrubber = new Scrubber(store, 100, 100, 60 * SECOND);
    scrubber.step(0);
    assertThat(scrubber.step(SECOND)).isEqualTo(5);
    for (long t = 2; t < 61; t++) {
      assertThat(scrubber.step(t * SECOND)).as("step at %d s", t).isZero();
    }
    assertThat(scrubber.step(61 * SECOND)).isEqualTo(5);
    assertThat(scrubber.passes()).isEqualTo(2);
  }

  @Test
  void rejectsANegativePassInterval() {
    assertThatThrownBy(() -> new Scrubber(storeWith(1), 10, 10, -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pass interval");
  }

  @Test
  void newFragmentsAreCheckedOnTheNextPass() {
    Recording store = storeWith(5);
    Scrubber scrubber = new Scrubber(store, 1, 100);
    scrubber.step(0);
    scrubber.step(2 * SECOND);
    Fragment late = Fixtures.fragment(99);
    store.put(late);
    scrubber.step(5 * SECOND); // finishes the first pass: the late one is not in it
    assertThat(store.checks).doesNotContain(late.id());
    scrubber.step(11 * SECOND);
    assertThat(store.checks).contains(late.id());
  }

  @Test
  void findsACorruptedFragmentAndItTurnsBlank() {
    Recording store = storeWith(20);
    Fragment victim = Fixtures.fragment(7);
    store.inner.corruptForTest(victim.id());
    Scrubber scrubber = new Scrubber(store, 5, 100);
    long now = 0;
    scrubber.step(now);
    while (scrubber.passes() == 0) {
      now += SECOND;
      scrubber.step(now);
    }
    assertThat(scrubber.checked()).isEqualTo(20);
    assertThat(scrubber.failures()).isEqualTo(1);
    assertThat(store.stats().blankDetections()).isEqualTo(1);
    assertThat(store.get(victim.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(store.stats().byState()).containsEntry(FragmentState.PRESENT, 19L);
  }

  @Test
  void rejectsARateThatIsNotPositive() {
    Recording store = storeWith(0);
    assertThatThrownBy(() -> new Scrubber(store, 0, 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("scrub rate");
    assertThatThrownBy(() -> new Scrubber(store, Double.NaN, 10))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Scrubber(store, 1, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
