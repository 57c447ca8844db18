package dev.mycelium.storage.index;

import dev.mycelium.model.FragmentId;
import dev.mycelium.storage.VectorHit;
import dev.mycelium.storage.VectorIndex;
import io.github.jbellis.jvector.disk.ByteBufferReader;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.NodesIterator;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.graph.similarity.DefaultSearchScoreProvider;
import io.github.jbellis.jvector.graph.similarity.SearchScoreProvider;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorUtil;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

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
 */
public final class JVectorIndex implements VectorIndex {
  /** The on-disk layout version; bump when the files change shape. */
  public static final int FORMAT_VERSION = 1;

  static final String MANIFEST = "manifest.properties";
  static final String VECTORS = "vectors.bin";
  static final String GRAPH = "graph.bin";

  private static final VectorTypeSupport VTS =
      VectorizationProvider.getInstance().getVectorTypeSupport();
  private static final VectorSimilarityFunction SIMILARITY = VectorSimilarityFunction.DOT_PRODUCT;
  private static final int BATCH = 64;
  /** The layout version of jvector's on-heap graph save format that its builder loads. */
  private static final int JVECTOR_GRAPH_VERSION = 4;
  /** Most graph layers a saved file may name (levels grow with log n; 32 is far beyond use). */
  private static final int MAX_LAYERS = 32;

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

  private static final ForkJoinPool BUILD_POOL = newBuildPool();

  private final Path dir;
  private final int dimension;
  private final Options options;
  private final Executor indexer;
  private final ExecutorService ownedIndexer;

  private final OrdinalTable<VectorFloat<?>> vectors = new OrdinalTable<>();
  private final OrdinalTable<FragmentId> ids = new OrdinalTable<>();
  private final Map<FragmentId, Integer> ordinals = new ConcurrentHashMap<>();
  private final AtomicInteger nextOrdinal;
  // A skip list, not a hash set: searches copy it, and an emptied hash set keeps its peak
  // table, so copying it would cost as much as the largest backlog ever was.
  private final Set<Integer> pendingOrdinals = new ConcurrentSkipListSet<>();
  private final AtomicInteger pendingCount = new AtomicInteger();
  private final Queue<Integer> queue = new ConcurrentLinkedQueue<>();
  private final Queue<Integer> deletions = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final AtomicInteger deletedInGraph = new AtomicInteger();
  private final AtomicLong storeGeneration;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final RandomAccessVectorValues ravv;
  private final GraphIndexBuilder builder;
  private final OnHeapGraphIndex graph;
  private volatile boolean closed;

  private JVectorIndex(
      Path dir, int dimension, Options options, Executor indexer, long generation, int next) {
    if (dimension < 1) {
      throw new IllegalArgumentException("dimension must be at least 1, got " + dimension);
    }
    this.dir = Objects.requireNonNull(dir, "dir");
    this.dimension = dimension;
    this.options = Objects.requireNonNull(options, "options");
    if (indexer == null) {
      this.ownedIndexer =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "mycelium-indexer");
                t.setDaemon(true);
                return t;
              });
      this.indexer = ownedIndexer;
    } else {
      this.ownedIndexer = null;
      this.indexer = indexer;
    }
    this.storeGeneration = new AtomicLong(generation);
    this.nextOrdinal = new AtomicInteger(next);
    this.ravv = new Values();
    BuildScoreProvider bsp = BuildScoreProvider.randomAccessScoreProvider(ravv, SIMILARITY);
    // Neighbour overflow and alpha 1.2 are the DiskANN paper's pruning defaults.
    this.builder =
        GraphIndexBuilder.builder(bsp, dimension, options.maxDegree())
            .withBeamWidth(options.beamWidth())
            .withNeighborOverflow(1.2f)
            .withAlpha(1.2f)
            .withSimdExecutor(BUILD_POOL)
            .withParallelExecutor(BUILD_POOL)
            .build();
    this.graph = (OnHeapGraphIndex) builder.getGraph();
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
    Path manifestPath = dir.resolve(MANIFEST);
    if (!Files.isRegularFile(manifestPath)) {
      return new OpenResult.RebuildNeeded("no saved index in " + dir);
    }
    JVectorIndex index = null;
    try {
      Properties m = new Properties();
      try (InputStream in = Files.newInputStream(manifestPath)) {
        m.load(in);
      }
      int format = intProp(m, "format");
      if (format != FORMAT_VERSION) {
        return new OpenResult.RebuildNeeded(
            "saved index has format " + format + ", this version reads " + FORMAT_VERSION);
      }
      int savedDim = intProp(m, "dimension");
      if (savedDim != dimension) {
        return new OpenResult.RebuildNeeded(
            "saved index has dimension " + savedDim + ", expected " + dimension);
      }
      if (intProp(m, "maxDegree") != options.maxDegree()) {
        return new OpenResult.RebuildNeeded("saved index was built with another graph degree");
      }
      long generation = longProp(m, "storeGeneration");
      if (expectedGeneration >= 0 && generation != expectedGeneration) {
        return new OpenResult.RebuildNeeded(
            "saved index is stale: store generation " + generation + ", store is at "
                + expectedGeneration);
      }
      long count = longProp(m, "count");
      int next = intProp(m, "nextOrdinal");
      index = new JVectorIndex(dir, dimension, options, indexer, generation, next);
      long read = index.readVectors(dir.resolve(VECTORS), longProp(m, "vectorsCrc"));
      if (read != count) {
        index.close(false);
        return new OpenResult.RebuildNeeded(
            "saved index lists " + count + " vectors but holds " + read);
      }
      index.readGraph(dir.resolve(GRAPH), longProp(m, "graphCrc"));
      index.requeueUngraphed();
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
    return dimension;
  }

  /** The graph and search parameters. */
  public Options options() {
    return options;
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
    float[] unit = Vectors.normalised(vector, dimension);
    checkOpen();
    // No lock: writes never wait for a save or a compaction. Pending first, so that a
    // compaction running meanwhile does not free the vector of an ordinal with no ID yet.
    int ordinal = nextOrdinal.getAndIncrement();
    markPending(ordinal);
    vectors.set(ordinal, VTS.createFloatVector(unit));
    ids.set(ordinal, id);
    Integer previous = ordinals.put(id, ordinal);
    if (previous != null) {
      retire(previous);
    }
    queue.add(ordinal);
    if (schedule) {
      scheduleDrain();
    }
  }

  @Override
  public void remove(FragmentId id) {
    Integer ordinal = ordinals.remove(id);
    if (ordinal != null) {
      retire(ordinal);
      scheduleDrain();
    }
  }

  /**
   * Takes an ordinal out of every answer at once: clearing its ID is what hides it. Marking
   * the graph node (for compaction) is left to the indexer, which holds the lock that keeps
   * marks away from a running compaction, so a remove never waits.
   */
  private void retire(int ordinal) {
    ids.set(ordinal, null);
    deletions.add(ordinal);
  }

  /**
   * Marks the graph nodes of retired ordinals. An ordinal still pending is left to {@link
   * #insert}, which checks for a cleared ID after inserting, so a node removed while being
   * inserted is marked by whichever side sees the other's write. Holds the lock (either side).
   */
  private void markDeletions() {
    Integer ordinal;
    while ((ordinal = deletions.poll()) != null) {
      if (!pendingOrdinals.contains(ordinal)) {
        builder.markNodeDeleted(ordinal);
        deletedInGraph.incrementAndGet();
      }
    }
  }

  @Override
  public List<VectorHit> search(float[] query, int k, Predicate<FragmentId> accept) {
    return search(query, k, accept, options.overquery());
  }

  /**
   * As {@link #search(float[], int, Predicate)} with another search beam, as a multiple of
   * {@code k}: trades throughput for recall per query.
   */
  public List<VectorHit> search(
      float[] query, int k, Predicate<FragmentId> accept, float overquery) {
    Vectors.checkK(k);
    if (!(overquery >= 1.0f)) {
      throw new IllegalArgumentException("overquery must be at least 1, got " + overquery);
    }
    float[] q = Vectors.normalised(query, dimension);
    Predicate<FragmentId> filter = accept == null ? id -> true : accept;
    checkOpen();
    lock.readLock().lock();
    try {
      // Snapshot the pending set before the graph search: an ordinal that leaves it meanwhile
      // is already in the graph.
      List<Integer> pendingNow =
          pendingCount.get() == 0 ? List.of() : new ArrayList<>(pendingOrdinals);
      Vectors.TopK top = new Vectors.TopK(k);
      Set<FragmentId> seen = new HashSet<>();
      VectorFloat<?> qv = VTS.createFloatVector(q);
      if (graph.size(0) > 0) {
        SearchScoreProvider ssp = DefaultSearchScoreProvider.exact(qv, SIMILARITY, ravv);
        Bits passing =
            ordinal -> {
              FragmentId id = ids.get(ordinal);
              return id != null && filter.test(id);
            };
        int beam = Math.max(k, (int) Math.ceil(k * overquery));
        SearchResult result;
        try (GraphSearcher searcher = new GraphSearcher(graph)) {
          result = searcher.search(ssp, k, beam, 0.0f, 0.0f, passing);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        for (SearchResult.NodeScore ns : result.getNodes()) {
          offer(top, seen, qv, ns.node, id -> true);
        }
      }
      for (int ordinal : pendingNow) {
        offer(top, seen, qv, ordinal, filter);
      }
      if (top.size() < k && ordinals.size() > top.size()) {
        // A selective filter can starve the graph walk; scan exactly so that k come back
        // whenever k pass.
        int end = nextOrdinal.get();
        for (int ordinal = 0; ordinal < end; ordinal++) {
          offer(top, seen, qv, ordinal, filter);
        }
      }
      return top.bestFirst();
    } finally {
      lock.readLock().unlock();
    }
  }

  private void offer(
      Vectors.TopK top,
      Set<FragmentId> seen,
      VectorFloat<?> q,
      int ordinal,
      Predicate<FragmentId> f) {
    FragmentId id = ids.get(ordinal);
    VectorFloat<?> v = vectors.get(ordinal);
    if (id == null || v == null || seen.contains(id)) {
      return;
    }
    // Rescore exactly so that graph and pending hits rank on the same scale (cosine).
    float score = VectorUtil.dotProduct(q, v);
    if (top.wants(score) && f.test(id)) {
      seen.add(id);
      top.offer(new VectorHit(id, score));
    }
  }

  @Override
  public java.util.Optional<float[]> vector(FragmentId id) {
    Integer ordinal = ordinals.get(id);
    VectorFloat<?> v = ordinal == null ? null : vectors.get(ordinal);
    if (v == null) {
      return java.util.Optional.empty();
    }
    float[] out = new float[dimension];
    for (int i = 0; i < out.length; i++) {
      out[i] = v.get(i);
    }
    return java.util.Optional.of(out);
  }

  @Override
  public long size() {
    return ordinals.size();
  }

  @Override
  public long pending() {
    return pendingCount.get();
  }

  private void markPending(int ordinal) {
    if (pendingOrdinals.add(ordinal)) {
      pendingCount.incrementAndGet();
    }
  }

  /** Inserts every pending vector into the graph on the calling thread (with the build pool). */
  public void flush() {
    drainLoop();
  }

  private void scheduleDrain() {
    if (!closed
        && (!queue.isEmpty() || !deletions.isEmpty())
        && drainScheduled.compareAndSet(false, true)) {
      try {
        indexer.execute(this::drain);
      } catch (RuntimeException e) {
        drainScheduled.set(false);
        throw e;
      }
    }
  }

  private void drain() {
    try {
      drainLoop();
    } finally {
      drainScheduled.set(false);
    }
    // An add that lost the race with the flag reset above is picked up here.
    scheduleDrain();
  }

  private void drainLoop() {
    List<Integer> batch = new ArrayList<>(BATCH);
    while (!closed) {
      batch.clear();
      Integer o;
      while (batch.size() < BATCH && (o = queue.poll()) != null) {
        batch.add(o);
      }
      lock.readLock().lock();
      try {
        markDeletions();
        if (batch.isEmpty()) {
          break;
        }
        if (batch.size() == 1) {
          insert(batch.get(0));
        } else {
          List<Integer> work = batch;
          BUILD_POOL.submit(() -> work.parallelStream().forEach(this::insert)).join();
        }
      } finally {
        lock.readLock().unlock();
      }
      maybeCompact();
    }
    maybeCompact();
  }

  private void insert(int ordinal) {
    boolean inserted = false;
    if (ids.get(ordinal) != null) {
      builder.addGraphNode(ordinal, vectors.get(ordinal));
      inserted = true;
    }
    if (pendingOrdinals.remove(ordinal)) {
      pendingCount.decrementAndGet();
    }
    if (ids.get(ordinal) == null) {
      if (inserted) {
        builder.markNodeDeleted(ordinal);
        deletedInGraph.incrementAndGet();
      } else {
        vectors.set(ordinal, null);
      }
    }
  }

  private void maybeCompact() {
    int deleted = deletedInGraph.get();
    if (!closed && deleted > 0 && deleted >= Math.max(64, graph.size(0) / 10)) {
      lock.writeLock().lock();
      try {
        if (!closed) {
          compact();
        }
      } finally {
        lock.writeLock().unlock();
      }
    }
  }

  /** Removes deleted nodes from the graph and frees their vectors. Holds the write lock. */
  private void compact() {
    markDeletions();
    if (deletedInGraph.get() == 0) {
      return;
    }
    builder.removeDeletedNodes();
    deletedInGraph.set(0);
    int end = nextOrdinal.get();
    for (int ordinal = 0; ordinal < end; ordinal++) {
      if (ids.get(ordinal) == null && !pendingOrdinals.contains(ordinal)) {
        vectors.set(ordinal, null);
      }
    }
  }

  /**
   * Writes the index to its directory, recording {@code generation} as the store generation
   * it reflects. Searches and background inserts wait while it runs; adds and removes do not,
   * and those that land during the save may or may not be in it. So pass the generation read
   * before calling: a store that moved on meanwhile then makes the saved index stale (rebuilt
   * at the next start) rather than silently incomplete.
   */
  public void save(long generation) {
    checkOpen();
    storeGeneration.set(generation);
    lock.writeLock().lock();
    try {
      saveLocked();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save the vector index to " + dir, e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void saveLocked() throws IOException {
    compact();
    Files.createDirectories(dir);
    Path vectorsTmp = dir.resolve(VECTORS + ".tmp");
    Path graphTmp = dir.resolve(GRAPH + ".tmp");
    Path manifestTmp = dir.resolve(MANIFEST + ".tmp");
    long count;
    long vectorsCrc;
    long graphCrc;
    try (CheckedOutputStream cos = new CheckedOutputStream(newOut(vectorsTmp), new CRC32C());
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(cos, 1 << 16))) {
      count = writeVectors(out);
      out.flush();
      vectorsCrc = cos.getChecksum().getValue();
    }
    try (CheckedOutputStream cos = new CheckedOutputStream(newOut(graphTmp), new CRC32C());
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(cos, 1 << 16))) {
      writeGraph(out);
      out.flush();
      graphCrc = cos.getChecksum().getValue();
    }
    Properties m = new Properties();
    m.setProperty("format", Integer.toString(FORMAT_VERSION));
    m.setProperty("dimension", Integer.toString(dimension));
    m.setProperty("count", Long.toString(count));
    m.setProperty("storeGeneration", Long.toString(storeGeneration.get()));
    m.setProperty("nextOrdinal", Integer.toString(nextOrdinal.get()));
    m.setProperty("maxDegree", Integer.toString(options.maxDegree()));
    m.setProperty("vectorsCrc", Long.toString(vectorsCrc));
    m.setProperty("graphCrc", Long.toString(graphCrc));
    try (OutputStream out = newOut(manifestTmp)) {
      m.store(out, "Mycelium vector index");
    }
    // The manifest goes first and comes back last: a crash in between leaves no manifest,
    // which reads as "rebuild", never as a mix of old and new files.
    Files.deleteIfExists(dir.resolve(MANIFEST));
    Files.move(vectorsTmp, dir.resolve(VECTORS), StandardCopyOption.REPLACE_EXISTING);
    Files.move(graphTmp, dir.resolve(GRAPH), StandardCopyOption.REPLACE_EXISTING);
    Files.move(manifestTmp, dir.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE);
  }

  /** A stream that forces its bytes to the device on close, before the files are renamed. */
  private static OutputStream newOut(Path p) throws IOException {
    FileChannel ch =
        FileChannel.open(
            p,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE);
    return new FilterOutputStream(Channels.newOutputStream(ch)) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        try {
          flush();
          ch.force(true);
        } finally {
          super.close();
        }
      }
    };
  }

  /**
   * Per stored vector: ordinal, a flag byte (1 if the fragment is live), its 32 ID bytes if
   * live, then the unit vector. Vectors of removed fragments are kept while their graph nodes
   * exist (a remove may land during the save), so that every node the graph names has a vector.
   * Returns the count of live vectors.
   */
  private long writeVectors(DataOutputStream out) throws IOException {
    long live = 0;
    int end = nextOrdinal.get();
    for (int ordinal = 0; ordinal < end; ordinal++) {
      VectorFloat<?> v = vectors.get(ordinal);
      if (v == null) {
        continue;
      }
      FragmentId id = ids.get(ordinal);
      out.writeInt(ordinal);
      if (id == null) {
        out.writeByte(0);
      } else {
        out.writeByte(1);
        out.write(id.toBytes());
        live++;
      }
      for (int i = 0; i < dimension; i++) {
        out.writeFloat(v.get(i));
      }
    }
    return live;
  }

  /**
   * The graph's layers in the layout of jvector's on-heap graph save format (version 4), which
   * {@link GraphIndexBuilder#load} reads back into a mutable graph. It is written here from the
   * graph's public views because jvector's own writer refuses a graph that may still grow.
   * Neighbour scores are written as zero: the loader recomputes them.
   */
  private void writeGraph(DataOutputStream out) throws IOException {
    int layers = graph.size(0) == 0 ? 1 : graph.getMaxLevel() + 1;
    out.writeInt(OnHeapGraphIndex.MAGIC);
    out.writeInt(JVECTOR_GRAPH_VERSION);
    out.writeInt(layers);
    for (int level = 0; level < layers; level++) {
      out.writeInt(graph.getDegree(level));
    }
    var entry = graph.entryNode();
    out.writeInt(entry == null ? -1 : entry.node);
    for (int level = 0; level < layers; level++) {
      int[] nodes = graph.nodeStream(level).toArray();
      out.writeInt(nodes.length);
      for (int node : nodes) {
        NodesIterator it = graph.getNeighborsIterator(level, node);
        int[] neighbours = new int[it.size()];
        int n = 0;
        while (it.hasNext() && n < neighbours.length) {
          neighbours[n++] = it.nextInt();
        }
        out.writeInt(node);
        out.writeInt(n);
        for (int i = 0; i < n; i++) {
          out.writeInt(neighbours[i]);
          out.writeFloat(0.0f);
        }
      }
    }
  }

  private long readVectors(Path path, long expectedCrc) throws IOException {
    long live = 0;
    try (CheckedInputStream cis = new CheckedInputStream(Files.newInputStream(path), new CRC32C());
        DataInputStream in = new DataInputStream(new BufferedInputStream(cis, 1 << 16))) {
      byte[] idBytes = new byte[FragmentId.LENGTH];
      byte[] record = new byte[4 * dimension];
      ByteBuffer bb = ByteBuffer.wrap(record);
      int next = nextOrdinal.get();
      while (true) {
        int first = in.read();
        if (first < 0) {
          break;
        }
        int ordinal = (first << 24) | (in.readUnsignedByte() << 16) | in.readUnsignedShort();
        if (ordinal < 0 || ordinal >= next) {
          throw new IOException("ordinal " + ordinal + " is outside the saved range");
        }
        int flag = in.readUnsignedByte();
        if (flag > 1) {
          throw new IOException("record of ordinal " + ordinal + " has flag " + flag);
        }
        FragmentId id = null;
        if (flag == 1) {
          in.readFully(idBytes);
          id = FragmentId.of(idBytes);
        }
        in.readFully(record);
        float[] v = new float[dimension];
        bb.clear();
        bb.asFloatBuffer().get(v);
        // Saved vectors are unit vectors; anything else (NaN, huge) breaks the graph's ordering.
        double norm = 0;
        for (float x : v) {
          norm += (double) x * x;
        }
        if (!(Math.abs(norm - 1) <= 1e-3)) {
          throw new IOException("the vector of ordinal " + ordinal + " is not a unit vector");
        }
        vectors.set(ordinal, VTS.createFloatVector(v));
        if (id != null) {
          ids.set(ordinal, id);
          if (ordinals.put(id, ordinal) != null) {
            throw new IOException("fragment " + id + " is saved twice");
          }
          live++;
        }
      }
      if (cis.getChecksum().getValue() != expectedCrc) {
        throw new IOException(VECTORS + " fails its checksum");
      }
    }
    return live;
  }

  private void readGraph(Path path, long expectedCrc) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer bytes;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE) {
        throw new IOException(GRAPH + " is too large: " + size + " bytes");
      }
      bytes = ByteBuffer.allocate((int) size);
      while (bytes.hasRemaining() && ch.read(bytes) >= 0) {
        // read until full
      }
    } catch (NoSuchFileException e) {
      throw new IOException(GRAPH + " is missing", e);
    }
    bytes.flip();
    crc.update(bytes.duplicate());
    if (crc.getValue() != expectedCrc) {
      throw new IOException(GRAPH + " fails its checksum");
    }
    // jvector's loader trusts the file: it sizes arrays from the counts in it and reads another
    // layout when the magic differs. So the layout written by writeGraph is checked first, every
    // count against what this index can hold, and every node named must have a vector (or the
    // loader would score a null). A file that fails is unreadable, and the index is rebuilt.
    ByteBuffer check = bytes.duplicate();
    if (check.remaining() < 12 || check.getInt() != OnHeapGraphIndex.MAGIC
        || check.getInt() != JVECTOR_GRAPH_VERSION) {
      throw new IOException(GRAPH + " is not a version " + JVECTOR_GRAPH_VERSION + " graph");
    }
    int layers = check.getInt();
    if (layers < 1 || layers > MAX_LAYERS || check.remaining() < 4L * layers + 4) {
      throw new IOException(GRAPH + " has " + layers + " layers");
    }
    int[] degrees = new int[layers];
    for (int level = 0; level < layers; level++) {
      degrees[level] = check.getInt();
      if (degrees[level] < 1 || degrees[level] > options.maxDegree()) {
        throw new IOException(GRAPH + " has degree " + degrees[level] + " at layer " + level
            + "; this index has " + options.maxDegree());
      }
    }
    int entry = check.getInt();
    if (entry != -1) {
      requireVector(entry);
    }
    int limit = nextOrdinal.get();
    for (int level = 0; level < layers; level++) {
      int nodes = check.getInt();
      if (nodes < 0 || nodes > limit) {
        throw new IOException(GRAPH + " has " + nodes + " nodes at layer " + level);
      }
      for (int i = 0; i < nodes; i++) {
        requireVector(check.getInt());
        int n = check.getInt();
        if (n < 0 || n > 2 * degrees[level]) {
          throw new IOException(GRAPH + " gives a node " + n + " neighbours at layer " + level);
        }
        for (int j = 0; j < n; j++) {
          requireVector(check.getInt());
          check.getFloat();
        }
      }
    }
    try {
      builder.load(new ByteBufferReader(bytes));
    } catch (AssertionError e) {
      // The loader rescores every neighbour from the vectors and asserts they come in
      // descending order; a file whose lists do not is unreadable like any other. (With
      // assertions off the loader keeps such a list as it is, which costs recall, not safety;
      // the file's checksum and the data directory's 0700 mode stand in front of it.)
      throw new IOException(GRAPH + " lists a node's neighbours out of order: "
          + e.getMessage(), e);
    }
  }

  private void requireVector(int ordinal) throws IOException {
    if (vectors.get(ordinal) == null) {
      throw new IOException("the saved graph names node " + ordinal + ", which has no vector");
    }
  }

  /**
   * Queues vectors that were pending when saved, and marks graph nodes whose fragment was
   * removed while the save ran; vectors of removed fragments outside the graph are dropped.
   */
  private void requeueUngraphed() {
    int end = nextOrdinal.get();
    for (int ordinal = 0; ordinal < end; ordinal++) {
      if (vectors.get(ordinal) == null) {
        continue;
      }
      boolean inGraph = graph.containsNode(ordinal);
      if (ids.get(ordinal) != null) {
        if (!inGraph) {
          markPending(ordinal);
          queue.add(ordinal);
        }
      } else if (inGraph) {
        builder.markNodeDeleted(ordinal);
        deletedInGraph.incrementAndGet();
      } else {
        vectors.set(ordinal, null);
      }
    }
    scheduleDrain();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the vector index is closed");
    }
  }

  /** Saves (with the last recorded store generation) and stops the indexer. */
  @Override
  public void close() {
    close(true);
  }

  private void close(boolean save) {
    if (closed) {
      return;
    }
    lock.writeLock().lock();
    try {
      if (save) {
        saveLocked();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save the vector index to " + dir, e);
    } finally {
      closed = true;
      lock.writeLock().unlock();
      if (ownedIndexer != null) {
        ownedIndexer.shutdown();
        try {
          ownedIndexer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      try {
        builder.close();
      } catch (IOException e) {
        // The builder holds only per-thread search scratch space; nothing is lost.
      }
    }
  }

  private static int intProp(Properties m, String key) throws IOException {
    return Math.toIntExact(longProp(m, key));
  }

  private static long longProp(Properties m, String key) throws IOException {
    String v = m.getProperty(key);
    if (v == null) {
      throw new IOException("manifest lacks " + key);
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IOException("manifest " + key + " is not a number: " + v);
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
