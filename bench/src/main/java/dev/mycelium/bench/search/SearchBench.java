package dev.mycelium.bench.search;

import dev.mycelium.model.FragmentId;
import dev.mycelium.storage.VectorHit;
import dev.mycelium.storage.index.ClusteredVectors;
import dev.mycelium.storage.index.ExactVectorIndex;
import dev.mycelium.storage.index.JVectorIndex;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Measures the vector index against the targets Mycelium sets for it: recall@k against exact
 * search, single-thread query throughput and latency, how fast the background indexer keeps
 * up, and how long a saved index takes to reopen. {@code mycelium bench search} calls {@link
 * #run}; {@link #main} runs it stand-alone. A benchmark, not a test: it prints numbers and
 * asserts nothing.
 */
public final class SearchBench {
  private SearchBench() {}

  /**
   * What to measure.
   *
   * @param n base vectors (generated, or the first n of {@code baseFile})
   * @param dim dimension of generated vectors (ignored with files)
   * @param queries query vectors
   * @param k neighbours per query
   * @param seed seeds the generated data set
   * @param baseFile an {@code .fvecs} file of base vectors, or empty to generate clusters
   * @param queryFile an {@code .fvecs} file of queries, or empty to generate them
   * @param workDir where the index is saved and reopened (created if absent)
   * @param options graph and search parameters
   * @param overquerySweep further search beams (multiples of k) to measure on the same graph
   */
  public record Config(
      int n,
      int dim,
      int queries,
      int k,
      long seed,
      Optional<Path> baseFile,
      Optional<Path> queryFile,
      Path workDir,
      JVectorIndex.Options options,
      List<Float> overquerySweep) {
    /** Checks the sizes. */
    public Config {
      overquerySweep = List.copyOf(overquerySweep);
      if (n < 1 || queries < 1 || k < 1 || dim < 1) {
        throw new IllegalArgumentException("n, dim, queries and k must all be at least 1");
      }
      if (k > n) {
        throw new IllegalArgumentException("k (" + k + ") cannot exceed n (" + n + ")");
      }
    }

    /** A run on a generated clustered set (seed 42) with the default index options. */
    public static Config generated(int n, int dim, int queries, int k, Path workDir) {
      return new Config(
          n, dim, queries, k, 42, Optional.empty(), Optional.empty(), workDir,
          JVectorIndex.Options.DEFAULTS, List.of());
    }
  }

  /**
   * What was measured.
   *
   * @param n vectors indexed
   * @param dim their dimension
   * @param queries queries run
   * @param k neighbours per query
   * @param options the graph and search parameters used
   * @param recall mean recall@k against exact search
   * @param buildVectorsPerSecond vectors per second from the first add until nothing pending
   * @param buildVectorsPerCpuSecond the same per second of the process's CPU time (all
   *     threads): what the build costs, whatever else the machine runs
   * @param queriesPerSecond single-thread query throughput
   * @param queriesPerCpuSecond the same per second of the query thread's CPU time
   * @param p50Millis median query latency
   * @param p99Millis 99th-percentile query latency
   * @param reopenSeconds time to open the saved index until it is ready (nothing pending)
   * @param heapAfterBuildBytes heap in use after a GC with the built index alive
   * @param jvm the Java runtime version
   * @param sweep the same query measurements for each beam of {@link Config#overquerySweep()}
   */
  public record Result(
      int n,
      int dim,
      int queries,
      int k,
      JVectorIndex.Options options,
      double recall,
      double buildVectorsPerSecond,
      double buildVectorsPerCpuSecond,
      double queriesPerSecond,
      double queriesPerCpuSecond,
      double p50Millis,
      double p99Millis,
      double reopenSeconds,
      long heapAfterBuildBytes,
      String jvm,
      List<QueryRun> sweep) {
    /** One human-readable line per figure. */
    public String describe() {
      return String.format(
          Locale.ROOT,
          "java %s, n=%d dim=%d queries=%d k=%d, M=%d beam=%d overquery=%.1f%n"
              + "recall@%d      %.4f%n"
              + "build          %.0f vectors/s (%.0f per CPU-second)%n"
              + "queries        %.0f q/s (one thread; %.0f per CPU-second)%n"
              + "latency        p50 %.3f ms, p99 %.3f ms%n"
              + "reopen         %.2f s%n"
              + "heap (built)   %d MB",
          jvm, n, dim, queries, k, options.maxDegree(), options.beamWidth(), options.overquery(),
          k, recall, buildVectorsPerSecond, buildVectorsPerCpuSecond, queriesPerSecond,
          queriesPerCpuSecond, p50Millis, p99Millis,
          reopenSeconds, heapAfterBuildBytes >> 20);
    }
  }

  /**
   * Process CPU time in nanoseconds, or wall time where the JVM cannot tell (then the
   * per-CPU-second figures equal the wall-clock ones).
   */
  private static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      long t = sun.getProcessCpuTime();
      if (t >= 0) {
        return t;
      }
    }
    return System.nanoTime();
  }

  /**
   * Query figures for one search beam.
   *
   * @param overquery the search beam as a multiple of k
   * @param recall mean recall@k against exact search
   * @param queriesPerSecond single-thread throughput
   * @param p50Millis median latency
   * @param p99Millis 99th-percentile latency
   * @param queriesPerCpuSecond queries per second of the query thread's own CPU time: the
   *     throughput of one dedicated core, whatever else the machine runs
   */
  public record QueryRun(
      float overquery, double recall, double queriesPerSecond, double p50Millis,
      double p99Millis, double queriesPerCpuSecond) {
    String describe(int k) {
      return String.format(
          Locale.ROOT,
          "overquery %4.1f: recall@%d %.4f, %.0f q/s (%.0f per CPU-second), p50 %.3f ms,"
              + " p99 %.3f ms",
          overquery, k, recall, queriesPerSecond, queriesPerCpuSecond, p50Millis, p99Millis);
    }
  }

  /** Runs the benchmark, logging progress to {@code log}. */
  public static Result run(Config c, PrintStream log) throws IOException {
    float[][][] base = {loadBase(c)};
    float[][] queries = loadQueries(c, base[0]);
    int n = base[0].length;
    int dim = base[0][0].length;
    int k = c.k();
    log.printf(Locale.ROOT, "data: %d base and %d query vectors of %d dimensions%n",
        n, queries.length, dim);

    // Exact ground truth first, then dropped, so that two copies of the data never sit beside
    // the graph on a small heap.
    int[][] truth = groundTruth(base[0], queries, k);
    log.println("ground truth computed");

    Files.createDirectories(c.workDir());
    long buildCpuStart = processCpuNanos();
    long buildStart = System.nanoTime();
    JVectorIndex index = JVectorIndex.create(c.workDir(), dim, c.options(), null, 0);
    for (int i = 0; i < n; i++) {
      index.add(id(i), base[0][i]);
    }
    base[0] = null;
    long lastReport = System.nanoTime();
    while (index.pending() > 0) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(15)) {
        lastReport = System.nanoTime();
        log.printf(Locale.ROOT, "building: %d of %d pending%n", index.pending(), n);
      }
    }
    double buildSeconds = (System.nanoTime() - buildStart) / 1e9;
    double buildCpuSeconds = (processCpuNanos() - buildCpuStart) / 1e9;
    log.printf(Locale.ROOT, "built in %.1f s%n", buildSeconds);
    System.gc();
    long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();

    // Warm the JIT on the query set, then measure it.
    for (int round = 0; round < 5; round++) {
      for (float[] q : queries) {
        index.search(q, k, x -> true);
      }
    }
    QueryRun main = measure(index, queries, truth, k, c.options().overquery());
    log.println(main.describe(k));
    List<QueryRun> sweep = new java.util.ArrayList<>();
    for (float overquery : c.overquerySweep()) {
      QueryRun r = measure(index, queries, truth, k, overquery);
      log.println(r.describe(k));
      sweep.add(r);
    }
    int found = Math.toIntExact(Math.round(main.recall() * k * queries.length));

    index.save(1);
    index.close();
    index = null;
    System.gc();
    long openStart = System.nanoTime();
    JVectorIndex.OpenResult opened = JVectorIndex.open(c.workDir(), dim, c.options(), null, 1);
    if (!(opened instanceof JVectorIndex.OpenResult.Loaded loaded)) {
      throw new IllegalStateException("reopen failed: " + opened);
    }
    while (loaded.index().pending() > 0) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    double reopenSeconds = (System.nanoTime() - openStart) / 1e9;
    int foundAfter = 0;
    for (int i = 0; i < queries.length; i++) {
      foundAfter += overlap(loaded.index().search(queries[i], k, x -> true), truth[i]);
    }
    loaded.index().close();
    if (foundAfter != found) {
      log.printf(Locale.ROOT, "note: recall after reopen %.4f%n",
          foundAfter / ((double) k * queries.length));
    }
    return new Result(
        n, dim, queries.length, k, c.options(), main.recall(), n / buildSeconds,
        n / buildCpuSeconds,
        main.queriesPerSecond(), main.queriesPerCpuSecond(), main.p50Millis(), main.p99Millis(),
        reopenSeconds, heap,
        Runtime.version().toString(), sweep);
  }

  private static QueryRun measure(
      JVectorIndex index, float[][] queries, int[][] truth, int k, float overquery) {
    long[] nanos = new long[queries.length];
    int found = 0;
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    long cpuStart = threads.getCurrentThreadCpuTime();
    long start = System.nanoTime();
    for (int i = 0; i < queries.length; i++) {
      long t0 = System.nanoTime();
      List<VectorHit> hits = index.search(queries[i], k, x -> true, overquery);
      nanos[i] = System.nanoTime() - t0;
      found += overlap(hits, truth[i]);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double cpuSeconds = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
    Arrays.sort(nanos);
    return new QueryRun(
        overquery, found / ((double) k * queries.length), queries.length / seconds,
        percentile(nanos, 0.50), percentile(nanos, 0.99), queries.length / cpuSeconds);
  }

  private static float[][] loadBase(Config c) throws IOException {
    if (c.baseFile().isPresent()) {
      return FvecsReader.read(c.baseFile().get(), c.n());
    }
    return ClusteredVectors.of(c.seed(), c.n(), c.dim());
  }

  private static float[][] loadQueries(Config c, float[][] base) throws IOException {
    if (c.queryFile().isPresent()) {
      return FvecsReader.read(c.queryFile().get(), c.queries());
    }
    if (c.baseFile().isPresent()) {
      throw new IllegalArgumentException("a base file needs a query file too");
    }
    // Queries from the same clusters as the base, but not in it.
    return ClusteredVectors.range(c.seed(), c.n(), c.n() + c.queries(), c.dim());
  }

  /** The exact top-k ordinals of every query, computed in parallel with the exact index. */
  static int[][] groundTruth(float[][] base, float[][] queries, int k) {
    ExactVectorIndex exact = new ExactVectorIndex(base[0].length);
    for (int i = 0; i < base.length; i++) {
      exact.add(id(i), base[i]);
    }
    int[][] truth = new int[queries.length][];
    IntStream.range(0, queries.length)
        .parallel()
        .forEach(
            q ->
                truth[q] =
                    exact.search(queries[q], k, x -> true).stream()
                        .mapToInt(h -> number(h.id()))
                        .toArray());
    return truth;
  }

  private static int overlap(List<VectorHit> hits, int[] truth) {
    Set<Integer> t = new HashSet<>();
    for (int i : truth) {
      t.add(i);
    }
    int found = 0;
    for (VectorHit h : hits) {
      if (t.contains(number(h.id()))) {
        found++;
      }
    }
    return found;
  }

  private static double percentile(long[] sortedNanos, double p) {
    int i = (int) Math.min(sortedNanos.length - 1, Math.ceil(p * sortedNanos.length) - 1);
    return sortedNanos[Math.max(0, i)] / 1e6;
  }

  /** A synthetic fragment ID carrying the vector's position. */
  static FragmentId id(int i) {
    byte[] b = new byte[FragmentId.LENGTH];
    ByteBuffer.wrap(b).putInt(i).putInt(0x6d79636c);
    return FragmentId.of(b);
  }

  static int number(FragmentId id) {
    return ByteBuffer.wrap(id.toBytes()).getInt();
  }

  /** The {@code key=value} arguments of a bench's main (a leading {@code --} is dropped). */
  static Map<String, String> keyValues(String[] args) {
    Map<String, String> a = new TreeMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      if (eq < 1) {
        throw new IllegalArgumentException("arguments are key=value, got " + arg);
      }
      a.put(arg.substring(0, eq).replaceFirst("^--", ""), arg.substring(eq + 1));
    }
    return a;
  }

  /**
   * Runs the benchmark. Arguments are {@code key=value}: n (100000), dim (384), queries (1000),
   * k (10), seed (42), m (graph degree), beam (build beam width), overquery, sweep (more
   * overquery values, comma-separated, measured on the same graph), base and query
   * ({@code .fvecs} files), dir (work directory; a temporary one if absent).
   */
  public static void main(String[] args) throws IOException {
    Map<String, String> a = keyValues(args);
    JVectorIndex.Options d = JVectorIndex.Options.DEFAULTS;
    JVectorIndex.Options options =
        new JVectorIndex.Options(
            Integer.parseInt(a.getOrDefault("m", Integer.toString(d.maxDegree()))),
            Integer.parseInt(a.getOrDefault("beam", Integer.toString(d.beamWidth()))),
            Float.parseFloat(a.getOrDefault("overquery", Float.toString(d.overquery()))));
    Path dir =
        a.containsKey("dir")
            ? Path.of(a.get("dir"))
            : Files.createTempDirectory("mycelium-search-bench");
    Config c =
        new Config(
            Integer.parseInt(a.getOrDefault("n", "100000")),
            Integer.parseInt(a.getOrDefault("dim", "384")),
            Integer.parseInt(a.getOrDefault("queries", "1000")),
            Integer.parseInt(a.getOrDefault("k", "10")),
            Long.parseLong(a.getOrDefault("seed", "42")),
            Optional.ofNullable(a.get("base")).map(Path::of),
            Optional.ofNullable(a.get("query")).map(Path::of),
            dir,
            options,
            a.containsKey("sweep")
                ? Arrays.stream(a.get("sweep").split(",")).map(Float::valueOf).toList()
                : List.of());
    try {
      System.out.println(run(c, System.out).describe());
    } finally {
      if (!a.containsKey("dir")) {
        deleteTree(dir);
      }
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
