package dev.mycelium.storage.index;

import dev.mycelium.model.FragmentId;
import dev.mycelium.storage.VectorHit;
import dev.mycelium.storage.VectorIndex;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Approximate cosine search on a jvector graph: a Vamana / DiskANN-style proximity graph
 * (Subramanya et al., "DiskANN: Fast Accurate Billion-point Nearest Neighbor Search on a Single
 * Node", NeurIPS 2019) with HNSW-style upper layers (Malkov and Yashunin, "Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small World graphs", 2016).
 *
 * <p>Why it is built this way:
 *
 * <ul>
 *   <li>Writes never wait for the graph. {@link #add} stores the unit vector, hands out a graph
 *       ordinal and returns; a background indexer inserts pending ordinals into one live
 *       in-memory graph. Searches score the still-pending vectors exactly and merge them with
 *       the graph's answer, so nothing added is missed; {@link #pending()} is the lag.
 *   <li>Deletes are marks: a removed ordinal loses its fragment ID at once, so no search returns
 *       it, and the graph node is marked deleted. Compaction (jvector's removal of deleted
 *       nodes) rewires neighbours and must not overlap a search or an insert, so it runs under
 *       the write side of a read-write lock; searches and inserts share the read side.
 *   <li>Ordinals belong to this class, not to the graph: the ID-to-ordinal map and its inverse
 *       are saved with the graph, and an ordinal is never reused.
 *   <li>Start is a load, not a rebuild. {@link #save} writes the graph's adjacency lists (in the
 *       layout jvector's builder reads back into a mutable graph), the vectors with their IDs,
 *       and a manifest with the format version, dimension, count, the store generation the
 *       caller vouches for, and checksums. {@link #open} reloads all of it; anything missing,
 *       corrupt, of another shape or of another store generation is reported as {@link
 *       OpenResult.RebuildNeeded}, and the caller rebuilds with {@link #rebuild}.
 * </ul>
 *
 * <p>Vectors are normalised on add and the graph uses the dot product, so a score is a cosine.
 * Thread-safe.
 *
 * <p>This class keeps the public face and the add and remove paths; the ordinal space lives in
 * {@code IndexGraph}, the background inserter in {@code GraphInserter}, search in {@code
 * GraphSearch}, and the file layout in {@code IndexFiles}.
 */
public final class JVectorIndex implements VectorIndex {
  /** The on-disk layout version; bump when the files change shape. */
  public static final int FORMAT_VERSION = 2;

  /**
   * Graph and search parameters.
   *
   * @param maxDegree neighbours per node on the base layer (the graph's M); more raises recall
   *     and memory
   * @param beamWidth candidates kept while inserting; more builds a better graph, slower
   * @param overquery the search beam as a multiple of k; more raises recall, lowers throughput
   */
  public record Options(int maxDegree, int beamWidth, float overquery) {
    /** Tuned on 100k clustered 384-dimension vectors: recall@10 about 0.98 (see docs/BENCHMARKS.md). */
    public static final Options DEFAULTS = new Options(16, 100, 5.0f);

    /** Checks the parameters. */
    public Options {
      if (maxDegree < 2) {
        throw new IllegalArgumentException("maxDegree must be at least 2, got " + maxDegree);
      }
      if (beamWidth < maxDegree) {
        throw new IllegalArgumentException(
            "beamWidth must be at least maxDegree (" + maxDegree + "), got " + beamWidth);
      }
      if (!(overquery >= 1.0f)) {
        throw new IllegalArgumentException("overquery must be at least 1, got " + overquery);
      }
    }
  }

  /** What {@link #open} found. */
  public sealed interface OpenResult {
    /** The saved index was loaded and is ready. */
    record Loaded(JVectorIndex index) implements OpenResult {}

    /** The saved index cannot be used; rebuild from the store. */
    record RebuildNeeded(String reason) implements OpenResult {}
  }

  private final Path dir;
  private final IndexGraph g;
  private final GraphInserter inserter;
  private final GraphSearch searcher;
  private final AtomicLong storeGeneration;

  private JVectorIndex(
      Path dir, int dimension, Options options, Executor indexer, long generation, int next) {
    if (dimension < 1) {
      throw new IllegalArgumentException("dimension must be at least 1, got " + dimension);
    }
    this.dir = Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(options, "options");
    this.g = new IndexGraph(dimension, options, next);
    this.inserter = new GraphInserter(g, indexer);
    this.searcher = new GraphSearch(g);
    this.storeGeneration = new AtomicLong(generation);
  }

  /**
   * An empty index that saves to {@code dir}.
   *
   * @param indexer runs the background indexer; {@code null} for a private daemon thread
   * @param storeGeneration the store generation the index reflects (written on save)
   */
  public static JVectorIndex create(
      Path dir, int dimension, Options options, Executor indexer, long storeGeneration) {
    return new JVectorIndex(dir, dimension, options, indexer, storeGeneration, 0);
  }

  /**
   * Builds a fresh index from the store's vectors, waits until all are in the graph, and saves
   * it. Used when {@link #open} says a rebuild is needed.
   */
  public static JVectorIndex rebuild(
      Path dir,
      int dimension,
      Options options,
      Executor indexer,
      long storeGeneration,
      Iterable<Map.Entry<FragmentId, float[]>> vectors) {
    JVectorIndex index = create(dir, dimension, options, indexer, storeGeneration);
    for (Map.Entry<FragmentId, float[]> e : vectors) {
      index.enqueue(e.getKey(), e.getValue(), false);
    }
    index.flush();
    index.save(storeGeneration);
    return index;
  }

  /**
   * Loads the index saved in {@code dir}.
   *
   * @param expectedGeneration the store's current generation; a saved index of another
   *     generation is stale. Negative to accept any.
   * @return the loaded index, or why it must be rebuilt; never throws for bad files
   */
  public static OpenResult open(
      Path dir, int dimension, Options options, Executor indexer, long expectedGeneration) {
    if (!Files.isRegularFile(dir.resolve(IndexFiles.MANIFEST))) {
      return new OpenResult.RebuildNeeded("no saved index in " + dir);
    }
    JVectorIndex index = null;
    try {
      Properties m = IndexFiles.readManifest(dir);
      Optional<String> mismatch = IndexFiles.mismatch(m, dimension, options, expectedGeneration);
      if (mismatch.isPresent()) {
        return new OpenResult.RebuildNeeded(mismatch.get());
      }
      long generation = IndexFiles.longProp(m, "storeGeneration");
      long count = IndexFiles.longProp(m, "count");
      int next = IndexFiles.intProp(m, "nextOrdinal");
      index = new JVectorIndex(dir, dimension, options, indexer, generation, next);
      long read = IndexFiles.readVectors(dir, m, index.g);
      if (read != count) {
        index.close(false);
        return new OpenResult.RebuildNeeded(
            "saved index lists " + count + " vectors but holds " + read);
      }
      IndexFiles.readGraph(dir, m, index.g);
      index.inserter.resumeAfterLoad();
      return new OpenResult.Loaded(index);
    } catch (IOException | RuntimeException e) {
      if (index != null) {
        index.close(false);
      }
      return new OpenResult.RebuildNeeded("saved index is unreadable: " + e);
    }
  }

  /**
   * Opens the saved index, or rebuilds it from {@code source} (and saves it) when it is
   * missing, corrupt or stale.
   */
  public static JVectorIndex openOrRebuild(
      Path dir,
      int dimension,
      Options options,
      Executor indexer,
      long storeGeneration,
      Iterable<Map.Entry<FragmentId, float[]>> source) {
    OpenResult r = open(dir, dimension, options, indexer, storeGeneration);
    if (r instanceof OpenResult.Loaded loaded) {
      return loaded.index();
    }
    return rebuild(dir, dimension, options, indexer, storeGeneration, source);
  }

  /** The dimension of every vector in the index. */
  public int dimension() {
    return g.dimension;
  }

  /** The graph and search parameters. */
  public Options options() {
    return g.options;
  }

  /** The store generation that the next save records. */
  public long storeGeneration() {
    return storeGeneration.get();
  }

  /** Records the store generation the index now reflects, for the save made on close. */
  public void setStoreGeneration(long generation) {
    storeGeneration.set(generation);
  }

  @Override
  public void add(FragmentId id, float[] vector) {
    enqueue(id, vector, true);
  }

  private void enqueue(FragmentId id, float[] vector, boolean schedule) {
    Objects.requireNonNull(id, "id");
    float[] unit = Vectors.normalised(vector, g.dimension);
    g.checkOpen();
    // No lock: writes never wait for a save or a compaction. Pending first, so that a
    // compaction running meanwhile does not free the vector of an ordinal with no ID yet.
    int ordinal = g.nextOrdinal.getAndIncrement();
    g.markPending(ordinal);
    g.vectors.set(ordinal, IndexGraph.VTS.createFloatVector(unit));
    g.ids.set(ordinal, id);
    Integer previous = g.ordinals.put(id, ordinal);
    if (previous != null) {
      retire(previous);
    }
    inserter.queue(ordinal);
    if (schedule) {
      inserter.schedule();
    }
  }

  @Override
  public void remove(FragmentId id) {
    Integer ordinal = g.ordinals.remove(id);
    if (ordinal != null) {
      retire(ordinal);
      inserter.schedule();
    }
  }

  /**
   * Takes an ordinal out of every answer at once: clearing its ID is what hides it. Its graph
   * node is marked later, by the inserter.
   */
  private void retire(int ordinal) {
    g.ids.set(ordinal, null);
    inserter.retired(ordinal);
  }

  @Override
  public List<VectorHit> search(float[] query, int k, Predicate<FragmentId> accept) {
    return search(query, k, accept, g.options.overquery());
  }

  /**
   * As {@link #search(float[], int, Predicate)} with another search beam, as a multiple of
   * {@code k}: trades throughput for recall per query.
   */
  public List<VectorHit> search(
      float[] query, int k, Predicate<FragmentId> accept, float overquery) {
    return searcher.search(query, k, accept, overquery);
  }

  @Override
  public Optional<float[]> vector(FragmentId id) {
    Integer ordinal = g.ordinals.get(id);
    VectorFloat<?> v = ordinal == null ? null : g.vectors.get(ordinal);
    if (v == null) {
      return Optional.empty();
    }
    float[] out = new float[g.dimension];
    for (int i = 0; i < out.length; i++) {
      out[i] = v.get(i);
    }
    return Optional.of(out);
  }

  @Override
  public long size() {
    return g.ordinals.size();
  }

  @Override
  public long pending() {
    return g.pendingCount.get();
  }

  /** Inserts every pending vector into the graph on the calling thread (with the build pool). */
  public void flush() {
    inserter.flush();
  }

  /**
   * Writes the index to its directory, recording {@code generation} as the store generation
   * it reflects. Searches and background inserts wait while it runs; adds and removes do not,
   * and those that land during the save may or may not be in it. So pass the generation read
   * before calling: a store that moved on meanwhile then makes the saved index stale (rebuilt
   * at the next start) rather than silently incomplete.
   */
  public void save(long generation) {
    g.checkOpen();
    storeGeneration.set(generation);
    g.lock.writeLock().lock();
    try {
      saveLocked();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save the vector index to " + dir, e);
    } finally {
      g.lock.writeLock().unlock();
    }
  }

  private void saveLocked() throws IOException {
    inserter.compact();
    IndexFiles.write(dir, g, storeGeneration.get());
  }

  /** Saves (with the last recorded store generation) and stops the indexer. */
  @Override
  public void close() {
    close(true);
  }

  private void close(boolean save) {
    if (g.closed) {
      return;
    }
    g.lock.writeLock().lock();
    try {
      if (save) {
        saveLocked();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save the vector index to " + dir, e);
    } finally {
      g.closed = true;
      g.lock.writeLock().unlock();
      inserter.shutdown();
      try {
        g.builder.close();
      } catch (IOException e) {
        // The builder holds only per-thread search scratch space; nothing is lost.
      }
    }
  }
}
