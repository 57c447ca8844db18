package dev.mycelium.bench.cli;

import dev.mycelium.bench.search.SearchBench;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.ClientCommand;
import dev.mycelium.node.cli.ExitCodes;
import dev.mycelium.node.cli.Table;
import dev.mycelium.storage.index.JVectorIndex;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mycelium bench search}: recall@k against exact search, query throughput and latency,
 * build rate and reopen time of the vector index (DiskANN-style graph, via jvector), on a seeded
 * clustered data set or on {@code .fvecs} files such as SIFT or GloVe, so that a change to the
 * index can be judged on numbers anyone can reproduce.
 */
@Command(
    name = "search",
    description = {
      "Measure the vector index: recall@k against exact search, queries/s and latency on one"
          + " thread, build vectors/s, reopen time.",
      "Data: --base B.fvecs --queries Q.fvecs, or a seeded clustered set of --n vectors of"
          + " --dim dimensions."
    })
public final class BenchSearchCommand extends ClientCommand {
  @Option(names = "--base", paramLabel = "B.fvecs", description = "Base vectors (.fvecs).")
  Path base;

  @Option(names = "--queries", paramLabel = "Q.fvecs", description = "Query vectors (.fvecs).")
  Path queries;

  @Option(names = "--n", paramLabel = "N",
      description = "Base vectors: generated, or the first N of --base. Default: 10000"
          + " generated, or all of --base.")
  Integer n;

  @Option(names = "--dim", paramLabel = "D", defaultValue = "384",
      description = "Dimension of generated vectors. Default: ${DEFAULT-VALUE}.")
  int dim;

  @Option(names = {"-k", "--k"}, paramLabel = "K", defaultValue = "10",
      description = "Neighbours per query. Default: ${DEFAULT-VALUE}.")
  int k;

  @Option(names = "--queries-count", paramLabel = "Q", defaultValue = "1000",
      description = "Queries to run. Default: ${DEFAULT-VALUE}.")
  int queryCount;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
      description = "Seeds the generated data set. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--max-degree", paramLabel = "M",
      description = "Graph degree. Default: the index's default.")
  Integer maxDegree;

  @Option(names = "--beam-width", paramLabel = "W",
      description = "Build beam width. Default: the index's default.")
  Integer beamWidth;

  @Option(names = "--overquery", paramLabel = "X",
      description = "Search beam as a multiple of k. Default: the index's default.")
  Float overquery;

  @Option(names = "--sweep", paramLabel = "X,...", split = ",",
      description = "More search beams (multiples of k) to measure on the same graph, e.g."
          + " 1,1.5,3: shows what recall each costs in speed.")
  List<Float> sweep = new ArrayList<>();

  @Option(names = "--dir", paramLabel = "DIR",
      description = "Where the index is saved and reopened; a temporary directory, deleted"
          + " afterwards, when absent.")
  Path dir;

  @Option(names = "--verbose", description = "Print the benchmark's progress on stderr.")
  boolean verbose;

  @Override
  protected int run() {
    if ((base == null) != (queries == null)) {
      throw new CliException(ExitCodes.USAGE, "give both --base and --queries, or neither");
    }
    for (Path p : new Path[] {base, queries}) {
      if (p != null && !Files.isRegularFile(p)) {
        throw new CliException(ExitCodes.USAGE, "no such file: " + p);
      }
    }
    JVectorIndex.Options d = JVectorIndex.Options.DEFAULTS;
    JVectorIndex.Options options;
    try {
      options = new JVectorIndex.Options(
          maxDegree != null ? maxDegree : d.maxDegree(),
          beamWidth != null ? beamWidth : d.beamWidth(),
          overquery != null ? overquery : d.overquery());
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage());
    }
    int count = n != null ? n : base != null ? Integer.MAX_VALUE : 10_000;
    Path work = BenchDirs.open(dir, "mycelium-bench-search");
    SearchBench.Result r;
    try {
      SearchBench.Config config = new SearchBench.Config(count, dim, queryCount, k, seed,
          Optional.ofNullable(base), Optional.ofNullable(queries), work, options, sweep);
      PrintStream log = verbose
          ? new PrintStream(new WriterStream(), true, StandardCharsets.UTF_8)
          : new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
      r = SearchBench.run(config, log);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage());
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILURE, "bench search: " + e.getMessage());
    } finally {
      BenchDirs.cleanUp(dir, work, err());
    }
    if (json()) {
      printJson(r);
      return ExitCodes.OK;
    }
    List<String[]> kv = new ArrayList<>();
    kv.add(new String[] {"data", (base != null ? base.getFileName() + ", " : "generated, ")
        + r.n() + " x " + r.dim() + ", " + r.queries() + " queries, k=" + r.k()});
    kv.add(new String[] {"graph", "max degree " + r.options().maxDegree() + ", build beam "
        + r.options().beamWidth() + ", search overquery " + r.options().overquery()});
    kv.add(new String[] {"recall@" + r.k(), f("%.4f", r.recall())});
    kv.add(new String[] {"queries", f("%.0f q/s (one thread)", r.queriesPerSecond())});
    kv.add(new String[] {"latency", f("p50 %.3f ms, p99 %.3f ms", r.p50Millis(),
        r.p99Millis())});
    kv.add(new String[] {"build", f("%.0f vectors/s", r.buildVectorsPerSecond())});
    kv.add(new String[] {"reopen", f("%.2f s", r.reopenSeconds())});
    kv.add(new String[] {"heap (built)", (r.heapAfterBuildBytes() >> 20) + " MB"});
    kv.add(new String[] {"java", r.jvm()});
    StringBuilder sb = new StringBuilder(Table.keyValues(kv));
    if (!r.sweep().isEmpty()) {
      Table t = new Table(">OVERQUERY", ">RECALL@" + r.k(), ">Q/S", ">P50 MS", ">P99 MS");
      t.row(f("%.1f", r.options().overquery()), f("%.4f", r.recall()),
          f("%.0f", r.queriesPerSecond()), f("%.3f", r.p50Millis()), f("%.3f", r.p99Millis()));
      for (SearchBench.QueryRun q : r.sweep()) {
        t.row(f("%.1f", q.overquery()), f("%.4f", q.recall()), f("%.0f", q.queriesPerSecond()),
            f("%.3f", q.p50Millis()), f("%.3f", q.p99Millis()));
      }
      sb.append('\n').append(t.render());
    }
    print(sb.toString());
    return ExitCodes.OK;
  }

  private static String f(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }

  /** Progress lines to stderr through picocli's writer, so tests can capture them. */
  private final class WriterStream extends OutputStream {
    @Override
    public void write(int b) {
      err().write(b);
      if (b == '\n') {
        err().flush();
      }
    }
  }


}
