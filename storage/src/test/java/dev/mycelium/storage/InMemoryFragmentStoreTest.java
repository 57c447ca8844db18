package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InMemoryFragmentStore;
import org.junit.jupiter.api.Test;

/** The store contract on the heap store, the oracle. */
class InMemoryFragmentStoreTest extends FragmentStoreContract {
  @Override
  protected FragmentStore newStore(long capacity) {
    return new InMemoryFragmentStore(Fixtures.CODEC, capacity, () -> 42L);
  }

  @Override
  protected void corrupt(FragmentStore store, FragmentId id) {
    ((InMemoryFragmentStore) store).corruptForTest(id);
  }

  @Test
  void keptBytesAreShownAsTheyAreWithoutChangingTheState() {
    InMemoryFragmentStore s = new InMemoryFragmentStore(Fixtures.CODEC, 10, () -> 42L);
    Fragment f = Fixtures.fragment(90);
    s.put(f);
    assertThat(s.keptBytesForTest(f.id())).contains(f.signed());
    s.corruptForTest(f.id());
    // Looking does not detect: the rotten bytes are returned and the state stays PRESENT.
    assertThat(s.keptBytesForTest(f.id()).orElseThrow()).isNotEqualTo(f.signed());
    assertThat(s.stats().byState().get(FragmentState.PRESENT)).isEqualTo(1L);
    assertThat(s.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(s.keptBytesForTest(f.id())).isEmpty();
  }
}
