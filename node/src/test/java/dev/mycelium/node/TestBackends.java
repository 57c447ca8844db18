package dev.mycelium.node;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;

/**
 * In-memory backends (the storage module's test oracles), for node tests that need no
 * persistence: fast to start, and exact search makes result order predictable.
 */
public final class TestBackends implements NodeBackends {
  @Override
  public FragmentStore openStore(NodeConfig config, FragmentCodec codec) {
    return new InMemoryFragmentStore(
        codec, config.storage().capacityEntries(), System::currentTimeMillis);
  }

  @Override
  public VectorIndex openIndex(NodeConfig config) {
    return new ExactVectorIndex(config.storage().dimension());
  }

  @Override
  public Embedder embedder(NodeConfig config) {
    return new HashEmbedder(config.storage().dimension());
  }
}
