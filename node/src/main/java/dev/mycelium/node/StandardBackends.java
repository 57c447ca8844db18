package dev.mycelium.node;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.storage.ChronicleFile;
import dev.mycelium.storage.ChronicleFragmentStore;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.storage.embed.Embedders;
import dev.mycelium.storage.index.JVectorIndex;
import dev.mycelium.storage.replica.ChronicleReplicaStore;
import dev.mycelium.storage.replica.ReplicaStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's storage: the Chronicle Map store and the jvector graph index in the data
 * directory, and the embedder named in the configuration. A saved index that is missing,
 * corrupt or of another shape is replaced by an empty one; the node then refills it from the
 * store in the background while searches cover the not-yet-built part exactly.
 */
public final class StandardBackends implements NodeBackends {
  /** Folder of the vector index in the data directory. */
  public static final String INDEX_DIR = "index";

  private static final Logger LOG = LoggerFactory.getLogger(StandardBackends.class);

  /** Backends with nothing opened yet; {@link Node} opens each part in order. */
  public StandardBackends() {}

  @Override
  public FragmentStore openStore(NodeConfig config, FragmentCodec codec) {
    Path dir = config.node().dataDir();
    try {
      return ChronicleFragmentStore.open(
          dir, config.storage().capacityEntries(), config.storage().averageValueBytes(), codec,
          System::currentTimeMillis, growth(config));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the fragment store in " + dir + ": "
          + e.getMessage(), e);
    }
  }

  @Override
  public ReplicaStore openReplicaStore(NodeConfig config, FragmentCodec codec) {
    Path dir = config.node().dataDir();
    try {
      // A replica carries its fragment plus the envelope, seal and signature.
      return ChronicleReplicaStore.open(dir, config.replication().capacityEntries(),
          config.storage().averageValueBytes() + 256, codec, System::currentTimeMillis,
          growth(config));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the replica store in " + dir + ": "
          + e.getMessage(), e);
    }
  }

  private static ChronicleFile.Growth growth(NodeConfig config) {
    return ChronicleFile.Growth.keepingFree(config.storage().minFreeDiskMb());
  }

  @Override
  public VectorIndex openIndex(NodeConfig config) {
    Path dir = config.node().dataDir().resolve(INDEX_DIR);
    int dimension = config.storage().dimension();
    JVectorIndex.Options options =
        new JVectorIndex.Options(
            config.index().maxDegree(),
            config.index().beamWidth(),
            JVectorIndex.Options.DEFAULTS.overquery());
    JVectorIndex.OpenResult r = JVectorIndex.open(dir, dimension, options, null, -1);
    if (r instanceof JVectorIndex.OpenResult.Loaded loaded) {
      return loaded.index();
    }
    LOG.info("starting a new vector index: {}",
        ((JVectorIndex.OpenResult.RebuildNeeded) r).reason());
    return JVectorIndex.create(dir, dimension, options, null, 0);
  }

  @Override
  public Embedder embedder(NodeConfig config) {
    return Embedders.byName(config.embedder().name(), config.storage().dimension());
  }
}
