package dev.mycelium.bench.embed;

import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.embed.Embedders;
import dev.mycelium.storage.index.Vectors;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The built-in embedders side by side on WordNet: how many texts a second each embeds (one
 * thread, and one per core), and how well it finds a noun's gloss from one of the noun's
 * synonyms (hit@5: the synset's own gloss among the five nearest of all the glosses). The
 * quantized build is worth having only if its hit@5 stays within 0.01 of the float build's.
 *
 * <p>Usage: {@code EmbedderBench [glosses=3000] [embedders=minilm,minilm-q] [threads=2]
 * [wordnet=/usr/share/wordnet/data.noun]}. WordNet comes from Debian's {@code wordnet-base}.
 */
public final class EmbedderBench {
  private EmbedderBench() {}

  /** A noun synset: its gloss and the words that name it. */
  record Synset(String gloss, List<String> words) {}

  /** What one embedder did. */
  record Result(String name, long modelBytes, double loadSeconds, double oneThreadPerSecond,
      double threadsPerSecond, int queries, double hitAt5, float[][] glossVectors) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new LinkedHashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq < 1) {
        throw new IllegalArgumentException("arguments are key=value, got " + a);
      }
      opts.put(a.substring(0, eq), a.substring(eq + 1));
    }
    int n = Integer.parseInt(opts.getOrDefault("glosses", "3000"));
    int threads = Integer.parseInt(opts.getOrDefault("threads", "2"));
    Path wordnet = Path.of(opts.getOrDefault("wordnet", "/usr/share/wordnet/data.noun"));
    if (!Files.isReadable(wordnet)) {
      throw new IllegalArgumentException(wordnet + " is not readable; install Debian's "
          + "wordnet-base or give wordnet=PATH");
    }
    List<Synset> synsets = synsets(wordnet, n);
    List<String> glosses = synsets.stream().map(Synset::gloss).toList();
    double meanChars = glosses.stream().mapToInt(String::length).average().orElse(0);
    System.out.printf(Locale.ROOT, "%d WordNet noun glosses (mean %.0f characters), %d "
        + "synonym queries; %d cores, JDK %s%n", glosses.size(), meanChars,
        synsets.stream().mapToInt(s -> s.words().size()).sum(),
        Runtime.getRuntime().availableProcessors(), Runtime.version());
    List<Result> results = new ArrayList<>();
    for (String name : opts.getOrDefault("embedders", "minilm,minilm-q").split(",")) {
      results.add(run(name.trim(), synsets, glosses, threads));
    }
    System.out.printf(Locale.ROOT, "%n| embedder | model | load | texts/s, 1 thread | texts/s, "
        + "%d threads | hit@5 (%d queries) |%n|---|---|---|---|---|---|%n", threads,
        results.get(0).queries());
    for (Result r : results) {
      System.out.printf(Locale.ROOT, "| %s | %.1f MB | %.2f s | %.0f | %.0f | %.4f |%n",
          r.name(), r.modelBytes() / 1e6, r.loadSeconds(), r.oneThreadPerSecond(),
          r.threadsPerSecond(), r.hitAt5());
    }
    for (int i = 1; i < results.size(); i++) {
      float[][] a = results.get(0).glossVectors();
      float[][] b = results.get(i).glossVectors();
      double sum = 0;
      double min = 1;
      for (int j = 0; j < a.length; j++) {
        double c = Vectors.dot(a[j], b[j]);
        sum += c;
        min = Math.min(min, c);
      }
      System.out.printf(Locale.ROOT, "cosine of %s to %s on the same gloss: mean %.4f, "
          + "lowest %.4f; hit@5 %+.4f%n", results.get(i).name(), results.get(0).name(),
          sum / a.length, min, results.get(i).hitAt5() - results.get(0).hitAt5());
    }
  }

  private static Result run(String name, List<Synset> synsets, List<String> glosses,
      int threads) throws Exception {
    Embedder e = Embedders.byName(name, 384);
    long t0 = System.nanoTime();
    e.embed("warm up the model");
    double load = (System.nanoTime() - t0) / 1e9;
    // A second pass of warm-up so the one-thread figure is not the JIT's first look.
    for (int i = 0; i < Math.min(200, glosses.size()); i++) {
      e.embed(glosses.get(i));
    }
    t0 = System.nanoTime();
    float[][] glossVectors = new float[glosses.size()][];
    for (int i = 0; i < glosses.size(); i++) {
      glossVectors[i] = e.embed(glosses.get(i));
    }
    double one = glosses.size() / ((System.nanoTime() - t0) / 1e9);
    double many = parallel(e, glosses, threads);
    int queries = 0;
    int hits = 0;
    for (int s = 0; s < synsets.size(); s++) {
      for (String word : synsets.get(s).words()) {
        queries++;
        if (inTop5(e.embed(word), glossVectors, s)) {
          hits++;
        }
      }
    }
    System.out.printf(Locale.ROOT, "%s: %.0f texts/s on one thread, %.0f on %d, hit@5 %.4f%n",
        name, one, many, threads, hits / (double) queries);
    return new Result(name, e.modelBytes(), load, one, many, queries, hits / (double) queries,
        glossVectors);
  }

  /** Texts a second with {@code threads} threads embedding their share of the glosses at once. */
  private static double parallel(Embedder e, List<String> glosses, int threads)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      long t0 = System.nanoTime();
      List<Future<?>> parts = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int from = t;
        parts.add(pool.submit(() -> {
          for (int i = from; i < glosses.size(); i += threads) {
            e.embed(glosses.get(i));
          }
        }));
      }
      for (Future<?> f : parts) {
        f.get();
      }
      return glosses.size() / ((System.nanoTime() - t0) / 1e9);
    } finally {
      pool.shutdownNow();
    }
  }

  /** Whether gloss {@code target} is among the five glosses nearest to {@code query}. */
  static boolean inTop5(float[] query, float[][] glosses, int target) {
    float own = Vectors.dot(query, glosses[target]);
    int closer = 0;
    for (int i = 0; i < glosses.length && closer < 5; i++) {
      if (i != target && Vectors.dot(query, glosses[i]) > own) {
        closer++;
      }
    }
    return closer < 5;
  }

  /**
   * The first {@code n} noun synsets of WordNet's {@code data.noun} with a gloss not seen
   * before: the gloss up to its first example, and the synset's words with underscores as
   * spaces (a synset's own word repeated in another case counts once).
   */
  static List<Synset> synsets(Path dataNoun, int n) throws IOException {
    List<Synset> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    try (BufferedReader in = Files.newBufferedReader(dataNoun, StandardCharsets.ISO_8859_1)) {
      String line;
      while (out.size() < n && (line = in.readLine()) != null) {
        int bar = line.indexOf('|');
        if (line.startsWith(" ") || bar < 0) {
          continue;
        }
        String gloss = line.substring(bar + 1).split(";")[0].strip();
        if (gloss.isEmpty() || !seen.add(gloss)) {
          continue;
        }
        // offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id]...
        String[] f = line.substring(0, bar).trim().split(" ");
        int words = Integer.parseInt(f[3], 16);
        Set<String> names = new java.util.LinkedHashSet<>();
        for (int w = 0; w < words; w++) {
          names.add(f[4 + 2 * w].replace('_', ' ').replaceAll("\\(.*\\)$", "")
              .toLowerCase(Locale.ROOT));
        }
        out.add(new Synset(gloss, List.copyOf(names)));
      }
    }
    return out;
  }
}
