package dev.mycelium.bench.cli;

import dev.mycelium.bench.store.StoreBench;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.node.LogSetup;
import dev.mycelium.node.Node;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.cli.ApiClient;
import dev.mycelium.node.cli.ApiTarget;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.ClientCommand;
import dev.mycelium.node.cli.ExitCodes;
import dev.mycelium.node.cli.RunCommand;
import dev.mycelium.node.cli.Table;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.storage.ChronicleFragmentStore;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mycelium bench store}: puts and gets per second. In process it measures the store and
 * its signing and verification alone; with {@code --http} it measures what a client of a node
 * sees, through the HTTP API, so the numbers include JSON, HTTP and the node's checks, which is
 * what an agent importing memories pays. Both, so that a gap between them can be located.
 */
@Command(
    name = "store",
    description = {
      "Measure puts/s and gets/s of the fragment store.",
      "Without --http: in process, on a memory or chronicle store (signed puts, checked gets,"
          + " 2 threads), with the cost of each part.",
      "With --http: through the HTTP API: puts through POST /v1/fragments/batch (batches of"
          + " 500, 2 threads), gets through GET /v1/fragments/{id} (--get-threads threads,"
          + " kept-alive connections). The node is the one given by --data or --api, or else"
          + " one started in this JVM on a free port in a scratch directory (hash embedder;"
          + " vectors are supplied anyway)."
    })
public final class BenchStoreCommand extends ClientCommand {
  @Option(names = "--n", paramLabel = "N", defaultValue = "20000",
      description = "Fragments to put, and gets to make. Default: ${DEFAULT-VALUE}.")
  int n;

  @Option(names = "--text-bytes", paramLabel = "BYTES", defaultValue = "1024",
      description = "Text size of each fragment. Default: ${DEFAULT-VALUE}.")
  int textBytes;

  @Option(names = "--dim", paramLabel = "D", defaultValue = "384",
      description = "Vector dimension (vectors are supplied). Default: ${DEFAULT-VALUE}.")
  int dim;

  @Option(names = "--http", description = "Measure through the HTTP API of a node.")
  boolean http;

  @Option(names = "--get-threads", paramLabel = "T", defaultValue = "8",
      description = "Concurrent GET threads with --http. Default: ${DEFAULT-VALUE}.")
  int getThreads;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
      description = "Seeds the generated texts and vectors. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--data", paramLabel = "DIR",
      description = "With --http: the data directory of a running node to measure.")
  Path data;

  @Option(names = "--api", paramLabel = "URL|HOST:PORT",
      description = "With --http: the API address of a running node to measure.")
  String api;

  @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:MYCELIUM_API_KEY}",
      description = "With --http: the API key (else <data>/api.key).")
  String apiKey;

  @Option(names = "--store", paramLabel = "memory|chronicle", defaultValue = "chronicle",
      description = "Without --http: the store to measure in process. Default: ${DEFAULT-VALUE}.")
  String store;

  @Option(names = "--dir", paramLabel = "DIR",
      description = "Where the chronicle store (or the --http node) keeps its files; a temporary"
          + " directory, deleted afterwards, when absent.")
  Path dir;

  @Override
  protected int run() {
    if (n < 1 || textBytes < 1 || dim < 1 || getThreads < 1) {
      throw new CliException(ExitCodes.USAGE, "--n, --text-bytes, --dim and --get-threads must"
          + " be at least 1");
    }
    if (textBytes > FragmentLimits.DEFAULTS.maxTextBytes()) {
      throw new CliException(ExitCodes.USAGE, "--text-bytes must be at most "
          + FragmentLimits.DEFAULTS.maxTextBytes() + " (the fragment text limit)");
    }
    if (!http) {
      if (data != null || api != null) {
        throw new CliException(ExitCodes.USAGE, "--data and --api measure a node; add --http");
      }
      return inProcess();
    }
    if (data != null || api != null) {
      ApiClient client = ApiClient.connect(new ApiTarget(
          data == null ? Path.of("data") : data, api, apiKey));
      printHttp(new HttpStoreBench(client, n, textBytes, dim, 500, 2, getThreads, seed).run());
      return ExitCodes.OK;
    }
    return withOwnNode();
  }

  /** Starts a node in this JVM on a free port in a scratch directory, and measures it. */
  private int withOwnNode() {
    Path where = BenchDirs.open(dir, "mycelium-bench-node");
    LogSetup.apply("text", "WARN");
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("mycelium.node.data-dir", where.toAbsolutePath().toString());
    flags.put("mycelium.api.host", "127.0.0.1");
    flags.put("mycelium.api.port", "0");
    flags.put("mycelium.api.worker-threads", "4");
    flags.put("mycelium.storage.dimension", Integer.toString(dim));
    flags.put("mycelium.storage.capacity-entries", Long.toString(Math.max(10_000L, 2L * n)));
    flags.put("mycelium.storage.average-value-bytes", Integer.toString(textBytes + 4 * dim + 512));
    flags.put("mycelium.embedder.name", "hash");
    flags.put("mycelium.embedder.queue-capacity", Integer.toString(Math.max(10_000, n)));
    NodeConfig config;
    try {
      config = RunCommand.loader("test", null, Map.of(), flags).load();
    } catch (ConfigException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage());
    }
    HttpStoreBench.Result r;
    try (Node node = Node.start(config, new StandardBackends())) {
      String key = Files.readString(node.apiKeyFile(), StandardCharsets.UTF_8).trim();
      ApiClient client = new ApiClient(URI.create(node.apiUrl()), key);
      await(client);
      r = new HttpStoreBench(client, n, textBytes, dim, 500, 2, getThreads, seed).run();
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILURE, "bench node: " + e.getMessage());
    } finally {
      BenchDirs.cleanUp(dir, where, err());
    }
    printHttp(r);
    return ExitCodes.OK;
  }

  /** Waits until the node's store is open ({@code /ready}), since the API listens first. */
  private static void await(ApiClient client) {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (client.getAnyStatus("/ready").status() != 200) {
      if (System.nanoTime() > deadline) {
        throw new CliException(ExitCodes.FAILURE, "the bench node was not ready within 120 s");
      }
      LockSupport.parkNanos(50_000_000L);
    }
  }

  private int inProcess() {
    LogSetup.apply("text", "WARN");
    FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(dim));
    StoreBench.Result r;
    String kind = store.trim().toLowerCase(Locale.ROOT);
    switch (kind) {
      case "memory" -> {
        try (FragmentStore s = new InMemoryFragmentStore(codec)) {
          r = StoreBench.run(s, n, textBytes, dim, seed);
        }
      }
      case "chronicle" -> {
        Path where = BenchDirs.open(dir, "mycelium-bench-store");
        try (FragmentStore s =
            ChronicleFragmentStore.open(where, n + n / 4 + 16, textBytes + 4 * dim + 256, codec)) {
          r = StoreBench.run(s, n, textBytes, dim, seed);
        } catch (IOException e) {
          throw new CliException(ExitCodes.FAILURE, "cannot open the store in " + where + ": "
              + e.getMessage());
        } finally {
          BenchDirs.cleanUp(dir, where, err());
        }
      }
      default -> throw new CliException(ExitCodes.USAGE,
          "--store must be memory or chronicle, not '" + store + "'");
    }
    if (json()) {
      printJson(new InProcess(kind, r));
      return ExitCodes.OK;
    }
    Table t = new Table("STORE", ">N", ">TEXT", ">DIM", ">PUTS/S", ">GETS/S", ">CREATE US",
        ">PUT US", ">SIGNS/S", ">VERIFIES/S", ">HASHES/S");
    t.row(kind, r.n(), r.textBytes(), r.dim(), f(r.signedPutsPerSec(), 0),
        f(r.verifiedGetsPerSec(), 0), f(r.createMicros(), 1), f(r.putMicros(), 1),
        f(r.signOnlyPerSec(), 0), f(r.verifyOnlyPerSec(), 0), f(r.hashOnlyPerSec(), 0));
    String note = "puts: create + sign + store; gets: reads with the store's integrity check; "
        + StoreBench.THREADS + " threads each\n";
    if (r.presentAfterGets() != r.n()) {
      note += "warning: only " + r.presentAfterGets() + " of " + r.n() + " gets read PRESENT\n";
    }
    print(t.render() + note);
    return ExitCodes.OK;
  }

  /** The in-process report, for JSON. */
  record InProcess(String store, StoreBench.Result result) {}



  private void printHttp(HttpStoreBench.Result r) {
    if (json()) {
      printJson(r);
      return;
    }
    List<String[]> kv = new ArrayList<>();
    kv.add(new String[] {"target", r.target()});
    kv.add(new String[] {"fragments", r.n() + " x " + r.textBytes() + " bytes, vectors of "
        + r.dim()});
    print(Table.keyValues(kv) + "\n" + phases(r.puts(), r.gets()));
  }

  static String phases(HttpStoreBench.Phase puts, HttpStoreBench.Phase gets) {
    Table t = new Table("OP", ">THREADS", ">OPS", ">SECONDS", ">OPS/S", ">P50 MS", ">P99 MS");
    t.row("put (batch 500)", puts.threads(), puts.operations(), f(puts.seconds(), 2),
        f(puts.perSecond(), 0), f(puts.p50Ms(), 2), f(puts.p99Ms(), 2));
    t.row("get", gets.threads(), gets.operations(), f(gets.seconds(), 2),
        f(gets.perSecond(), 0), f(gets.p50Ms(), 3), f(gets.p99Ms(), 3));
    return t.render() + "(put latency is per batch request, get latency per request)\n";
  }

  private static String f(double v, int digits) {
    return String.format(Locale.ROOT, "%." + digits + "f", v);
  }
}
