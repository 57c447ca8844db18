package dev.mycelium.storage.index;

import dev.mycelium.model.FragmentId;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The index's ordinal space, shared by its parts: vectors and fragment IDs by ordinal, the
 * ordinals not yet in the graph, and the jvector graph built over them.
 */
final class IndexGraph {
  static final VectorTypeSupport VTS =
      VectorizationProvider.getInstance().getVectorTypeSupport();
  static final VectorSimilarityFunction SIMILARITY = VectorSimilarityFunction.DOT_PRODUCT;
  static final ForkJoinPool BUILD_POOL = newBuildPool();
  static final float OVERFLOW = 1.2f;
  static final float ALPHA = 1.2f;

  final int dimension;
  final JVectorIndex.Options options;
  final OrdinalTable<VectorFloat<?>> vectors = new OrdinalTable<>();
  final OrdinalTable<FragmentId> ids = new OrdinalTable<>();
  final Map<FragmentId, Integer> ordinals = new ConcurrentHashMap<>();
  final AtomicInteger nextOrdinal;
  // A skip list, not a hash set: searches copy it, and an emptied hash set keeps its peak
  // table, so copying it would cost as much as the largest backlog ever was.
  final Set<Integer> pendingOrdinals = new ConcurrentSkipListSet<>();
  final AtomicInteger pendingCount = new AtomicInteger();
  /**
   * Compaction (jvector's removal of deleted nodes) rewires neighbours and must not overlap a
   * search or an insert, so it takes the write side; searches and inserts share the read side.
   */
  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  final RandomAccessVectorValues ravv = new Values();
  /** Exact scores between stored vectors: the graph's build scores, and the saved file's. */
  final BuildScoreProvider scores;
  // Set once more by adoptSaved while the index opens, before any insert or search runs.
  GraphIndexBuilder builder;
  OnHeapGraphIndex graph;
  volatile boolean closed;

  IndexGraph(int dimension, JVectorIndex.Options options, int nextOrdinal) {
    this.dimension = dimension;
    this.options = options;
    this.nextOrdinal = new AtomicInteger(nextOrdinal);
    this.scores = BuildScoreProvider.randomAccessScoreProvider(ravv, SIMILARITY);
    this.builder = configured(GraphIndexBuilder.builder(scores, dimension, options.maxDegree()));
    this.graph = (OnHeapGraphIndex) builder.getGraph();
  }

  /**
   * Replaces the empty graph with one read from a saved file, whose neighbour lists carry their
   * scores: jvector's loader for that layout takes them as they are instead of computing every
   * edge's score again (two million dot products for 100,000 vectors). Only while the index
   * opens, before inserts or searches run.
   */
  void adoptSaved(OnHeapGraphIndex saved) throws IOException {
    builder.close();
    builder = configured(GraphIndexBuilder.builder(scores, dimension, saved));
    graph = saved;
  }

  private GraphIndexBuilder configured(GraphIndexBuilder.Builder b) {
    // Neighbour overflow and alpha 1.2 are the DiskANN paper's pruning defaults
    // (Subramanya et al., "DiskANN", NeurIPS 2019).
    return b.withBeamWidth(options.beamWidth())
        .withNeighborOverflow(OVERFLOW)
        .withAlpha(ALPHA)
        .withSimdExecutor(BUILD_POOL)
        .withParallelExecutor(BUILD_POOL)
        .build();
  }

  void markPending(int ordinal) {
    if (pendingOrdinals.add(ordinal)) {
      pendingCount.incrementAndGet();
    }
  }

  void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the vector index is closed");
    }
  }

  private static ForkJoinPool newBuildPool() {
    // jvector sizes its own pools from jvector.physical_core_count (set in config/jvm.options);
    // graph inserts use this pool, sized to the processors the JVM may use.
    return new ForkJoinPool(
        Runtime.getRuntime().availableProcessors(),
        pool -> {
          ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
          t.setName("mycelium-index-build-" + t.getPoolIndex());
          t.setDaemon(true);
          return t;
        },
        null,
        false);
  }

  /** The vectors by ordinal, as jvector reads them. Values are never overwritten in place. */
  private final class Values implements RandomAccessVectorValues {
    @Override
    public int size() {
      return nextOrdinal.get();
    }

    @Override
    public int dimension() {
      return dimension;
    }

    @Override
    public VectorFloat<?> getVector(int ordinal) {
      return vectors.get(ordinal);
    }

    @Override
    public boolean isValueShared() {
      return false;
    }

    @Override
    public RandomAccessVectorValues copy() {
      return this;
    }
  }
}
