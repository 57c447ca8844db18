package dev.mycelium.bench.search;

import io.github.jbellis.jvector.disk.ByteBufferReader;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.ImmutableGraphIndex;
import io.github.jbellis.jvector.graph.ListRandomAccessVectorValues;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.diversity.VamanaDiversityProvider;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.graph.similarity.DefaultSearchScoreProvider;
import io.github.jbellis.jvector.graph.similarity.SearchScoreProvider;
import io.github.jbellis.jvector.quantization.PQVectors;
import io.github.jbellis.jvector.quantization.ProductQuantization;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;

/**
 * Measures jvector itself, without Mycelium's index around it, under build and search options
 * the production index does not use: graph degree, neighbour overflow, alpha, the hierarchy and
 * jvector's final refinement pass at build time; and at search time a reused searcher, or
 * product-quantised (PQ) scoring with exact re-ranking. It answers whether any of them gets
 * single-thread search closer to FAISS HNSW at the same recall before the production index is
 * changed (scripts/search-variants.py runs it beside FAISS and {@link SearchBench}).
 *
 * <p>Arguments are {@code key=value}: base and query ({@code .fvecs} files of unit vectors,
 * required), n (all), queries (all), truth (an {@code .ivecs} file of the exact top k of each
 * query; computed here if absent), k (10), m (16), beam (build beam, 100), overflow (1.2),
 * alpha (1.2), hierarchy (true), refine (false: Mycelium's inserter never runs jvector's
 * cleanup, so its graph is never refined), graph (a file to load the graph from, or to save it
 * to if absent, so that other runs and JDKs search the very same graph; the build options must
 * then be the ones it was built with), search (the search variants, comma-separated: {@code
 * fresh} is a new searcher per query with exact scores, as Mycelium's index searches; {@code
 * exact} reuses one searcher; {@code pq:M} or {@code pq:M:center} scores with M-subspace PQ
 * codes, 256 centroids each, optionally on centred data, and re-ranks exactly), beams (search
 * beams to sweep, comma-separated: jvector's rerankK, the size of the result queue the walk
 * keeps and, with PQ, the number of candidates re-ranked), rounds (3: every variant and beam is
 * timed this many times, interleaved, and the median kept). Prints one JSON object per variant
 * and beam.
 */
public final class GraphVariantBench {
  private static final VectorTypeSupport VTS =
      VectorizationProvider.getInstance().getVectorTypeSupport();
  private static final VectorSimilarityFunction SIMILARITY = VectorSimilarityFunction.DOT_PRODUCT;

  private GraphVariantBench() {}

  /** One way of searching the graph: scores for a query, and whether the searcher is reused. */
  private interface Variant {
    SearchScoreProvider scoring(VectorFloat<?> query);

    boolean freshSearcher();
  }

  /** Runs the measurement; see the class comment for the arguments. */
  public static void main(String[] args) throws IOException {
    Map<String, String> a = SearchBench.keyValues(args);
    int n = Integer.parseInt(a.getOrDefault("n", Integer.toString(Integer.MAX_VALUE)));
    float[][] base = FvecsReader.read(Path.of(a.get("base")), n);
    float[][] queries =
        FvecsReader.read(
            Path.of(a.get("query")),
            Integer.parseInt(a.getOrDefault("queries", Integer.toString(Integer.MAX_VALUE))));
    int k = Integer.parseInt(a.getOrDefault("k", "10"));
    int dim = base[0].length;
    int[][] truth =
        a.containsKey("truth")
            ? readIvecs(Path.of(a.get("truth")), queries.length, k)
            : SearchBench.groundTruth(base, queries, k);
    List<VectorFloat<?>> vectors = new ArrayList<>(base.length);
    for (float[] v : base) {
      vectors.add(VTS.createFloatVector(v));
    }
    RandomAccessVectorValues ravv = new ListRandomAccessVectorValues(vectors, dim);
    VectorFloat<?>[] qs = new VectorFloat<?>[queries.length];
    for (int i = 0; i < queries.length; i++) {
      qs[i] = VTS.createFloatVector(queries[i]);
    }

    int m = Integer.parseInt(a.getOrDefault("m", "16"));
    int beam = Integer.parseInt(a.getOrDefault("beam", "100"));
    float overflow = Float.parseFloat(a.getOrDefault("overflow", "1.2"));
    float alpha = Float.parseFloat(a.getOrDefault("alpha", "1.2"));
    boolean hierarchy = Boolean.parseBoolean(a.getOrDefault("hierarchy", "true"));
    boolean refine = Boolean.parseBoolean(a.getOrDefault("refine", "false"));
    Path graphFile = a.containsKey("graph") ? Path.of(a.get("graph")) : null;
    BuildScoreProvider bsp = BuildScoreProvider.randomAccessScoreProvider(ravv, SIMILARITY);
    ImmutableGraphIndex graph;
    double buildSeconds = 0;
    if (graphFile != null && Files.isRegularFile(graphFile)) {
      ByteBufferReader reader = new ByteBufferReader(ByteBuffer.wrap(Files.readAllBytes(graphFile)));
      graph = OnHeapGraphIndex.load(reader, dim, overflow, new VamanaDiversityProvider(bsp, alpha));
    } else {
      ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());
      long t = System.nanoTime();
      // The constructor, not the Builder: jvector 4.0.2's Builder takes the hierarchy and the
      // refinement pass from its JMX settings (both on by default) rather than from arguments.
      GraphIndexBuilder builder =
          new GraphIndexBuilder(bsp, dim, m, beam, overflow, alpha, hierarchy, refine, pool, pool);
      // build() inserts in parallel and then runs cleanup(): refinement if asked, and every
      // neighbour list cut back from overflow to m.
      graph = builder.build(ravv);
      buildSeconds = (System.nanoTime() - t) / 1e9;
      if (graphFile != null) {
        try (DataOutputStream out =
            new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(graphFile)))) {
          ((OnHeapGraphIndex) graph).save(out);
        }
      }
    }
    System.err.printf(Locale.ROOT, "graph: %d nodes, %d layers, built in %.1f s%n",
        graph.size(0), graph.getMaxLevel() + 1, buildSeconds);

    Map<String, Variant> variants = new LinkedHashMap<>();
    for (String name : a.getOrDefault("search", "fresh,exact").split(",")) {
      variants.put(name, variant(name, ravv));
    }
    int[] beams =
        Arrays.stream(a.getOrDefault("beams", "10,20,30,40,50,60,80,100").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
    int rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));

    // Warm every path on the whole query set first, then time them interleaved, so that a
    // burst of load from elsewhere on the machine is spread over all of them.
    for (Variant v : variants.values()) {
      for (int b : beams) {
        measure(graph, v, qs, truth, k, b);
      }
    }
    Map<String, double[]> qps = new LinkedHashMap<>();
    Map<String, Double> recalls = new LinkedHashMap<>();
    for (int r = 0; r < rounds; r++) {
      for (Map.Entry<String, Variant> v : variants.entrySet()) {
        for (int b : beams) {
          String key = v.getKey() + "@" + b;
          double[] m2 = measure(graph, v.getValue(), qs, truth, k, b);
          recalls.put(key, m2[0]);
          qps.computeIfAbsent(key, x -> new double[rounds])[r] = m2[1];
        }
      }
    }
    String jvm = Runtime.version().toString();
    String build =
        String.format(Locale.ROOT,
            "\"m\":%d,\"beam\":%d,\"overflow\":%s,\"alpha\":%s,\"hierarchy\":%b,\"refine\":%b",
            m, beam, overflow, alpha, hierarchy, refine);
    for (Map.Entry<String, double[]> e : qps.entrySet()) {
      double[] each = e.getValue().clone();
      Arrays.sort(each);
      String[] parts = e.getKey().split("@");
      System.out.printf(Locale.ROOT,
          "{\"jvm\":\"%s\",%s,\"search\":\"%s\",\"search_beam\":%s,\"recall\":%.4f,"
              + "\"qps\":%.0f,\"qps_rounds\":%s,\"build_s\":%.1f}%n",
          jvm, build, parts[0], parts[1], recalls.get(e.getKey()), each[each.length / 2],
          Arrays.toString(Arrays.stream(e.getValue()).mapToLong(Math::round).toArray()),
          buildSeconds);
    }
  }

  private static Variant variant(String name, RandomAccessVectorValues ravv) {
    if (name.equals("fresh") || name.equals("exact")) {
      boolean fresh = name.equals("fresh");
      return new Variant() {
        @Override
        public SearchScoreProvider scoring(VectorFloat<?> q) {
          return DefaultSearchScoreProvider.exact(q, SIMILARITY, ravv);
        }

        @Override
        public boolean freshSearcher() {
          return fresh;
        }
      };
    }
    String[] p = name.split(":");
    if (p[0].equals("pq") && p.length >= 2) {
      int subspaces = Integer.parseInt(p[1]);
      boolean center = p.length > 2 && p[2].equals("center");
      long t = System.nanoTime();
      ProductQuantization pq = ProductQuantization.compute(ravv, subspaces, 256, center);
      PQVectors codes = (PQVectors) pq.encodeAll(ravv, ForkJoinPool.commonPool());
      System.err.printf(Locale.ROOT, "%s: trained and encoded in %.1f s%n",
          name, (System.nanoTime() - t) / 1e9);
      return new Variant() {
        @Override
        public SearchScoreProvider scoring(VectorFloat<?> q) {
          // The walk ranks by PQ codes (a table of partial dot products per query); the
          // candidates it ends with are ranked again by exact dot products.
          return new DefaultSearchScoreProvider(
              codes.precomputedScoreFunctionFor(q, SIMILARITY), ravv.rerankerFor(q, SIMILARITY));
        }

        @Override
        public boolean freshSearcher() {
          return false;
        }
      };
    }
    throw new IllegalArgumentException("unknown search variant " + name);
  }

  /** Recall@k and queries per second of one pass over the queries, one thread. */
  private static double[] measure(
      ImmutableGraphIndex graph, Variant v, VectorFloat<?>[] qs, int[][] truth, int k, int beam) {
    int found = 0;
    int searchBeam = Math.max(k, beam);
    GraphSearcher shared = new GraphSearcher(graph);
    long start = System.nanoTime();
    for (int i = 0; i < qs.length; i++) {
      SearchResult r;
      if (v.freshSearcher()) {
        try (GraphSearcher s = new GraphSearcher(graph)) {
          r = s.search(v.scoring(qs[i]), k, searchBeam, 0.0f, 0.0f, Bits.ALL);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      } else {
        r = shared.search(v.scoring(qs[i]), k, searchBeam, 0.0f, 0.0f, Bits.ALL);
      }
      found += overlap(r, truth[i]);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new double[] {found / ((double) k * qs.length), qs.length / seconds};
  }

  /**
   * The first {@code k} ordinals of each row of an {@code .ivecs} file (the {@code .fvecs}
   * layout with int32 values, as the ANN benchmark sets ship their ground truth): read as
   * floats and taken back bit for bit.
   */
  private static int[][] readIvecs(Path path, int rows, int k) throws IOException {
    float[][] raw = FvecsReader.read(path, rows);
    if (raw.length != rows || raw[0].length < k) {
      throw new IOException(path + " has too few rows or columns for " + rows + " x " + k);
    }
    int[][] out = new int[rows][k];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < k; j++) {
        out[i][j] = Float.floatToRawIntBits(raw[i][j]);
      }
    }
    return out;
  }

  private static int overlap(SearchResult r, int[] truth) {
    int found = 0;
    for (SearchResult.NodeScore ns : r.getNodes()) {
      for (int t : truth) {
        if (t == ns.node) {
          found++;
          break;
        }
      }
    }
    return found;
  }
}
