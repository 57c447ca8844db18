package dev.mycelium.storage;

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
}
