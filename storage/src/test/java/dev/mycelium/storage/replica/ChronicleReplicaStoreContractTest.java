package dev.mycelium.storage.replica;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The replica store contract on Chronicle Map. */
class ChronicleReplicaStoreContractTest extends ReplicaStoreContract {
  @TempDir Path dir;
  private int opened;

  @Override
  protected ReplicaStore newStore(long capacity) throws Exception {
    return ChronicleReplicaStore.open(dir.resolve("s" + opened++), capacity, 512, Replicas.CODEC,
        clock::get);
  }
}
