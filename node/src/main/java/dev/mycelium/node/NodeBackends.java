package dev.mycelium.node;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.VectorIndex;

/**
 * Opens the storage components a node runs on. A seam so that the daemon runs on the persistent
 * store and the graph index while in-process tests and the simulator can hand in in-memory or
 * exact ones, through the very same {@link Node}.
 */
public interface NodeBackends {
  /** Opens (or creates, or recovers) the fragment store in the data directory. */
  FragmentStore openStore(NodeConfig config, FragmentCodec codec);

  /** Opens the vector index, loading a saved one when there is one. */
  VectorIndex openIndex(NodeConfig config);

  /**
   * Opens the store of replicas held for other owners. In memory unless overridden: the daemon's
   * backends keep it in the data directory.
   */
  default dev.mycelium.storage.replica.ReplicaStore openReplicaStore(
      NodeConfig config, FragmentCodec codec) {
    return new dev.mycelium.storage.replica.InMemoryReplicaStore(
        codec, config.replication().capacityEntries(), System::currentTimeMillis);
  }

  /** The embedder named by {@code embedder.name}. */
  Embedder embedder(NodeConfig config);
}
