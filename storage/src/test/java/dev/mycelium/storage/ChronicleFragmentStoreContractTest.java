package dev.mycelium.storage;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentStore;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on Chronicle Map. */
class ChronicleFragmentStoreContractTest extends FragmentStoreContract {
  @TempDir Path dir;
  private int opened;

  @Override
  protected FragmentStore newStore(long capacity) throws Exception {
    return ChronicleFragmentStore.open(
        dir.resolve("store" + opened++), capacity, 512, Fixtures.CODEC, () -> 42L);
  }

  @Override
  protected void corrupt(FragmentStore store, FragmentId id) {
    ((ChronicleFragmentStore) store).corruptForTest(id);
  }
}
