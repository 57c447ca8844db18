package dev.mycelium.storage.replica;

/** The replica store contract on the heap. */
class InMemoryReplicaStoreTest extends ReplicaStoreContract {
  @Override
  protected ReplicaStore newStore(long capacity) {
    return new InMemoryReplicaStore(Replicas.CODEC, capacity, clock::get);
  }
}
