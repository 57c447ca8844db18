package dev.mycelium.node.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mycelium bench store}: puts and gets per second. With {@code --http} it measures what
 * a client of a node sees, through the HTTP API; the numbers then include JSON, HTTP and the
 * node's checks, which is what an agent importing memories pays.
 */
@Command(
    name = "store",
    description = {
      "Measure puts/s and gets/s of the fragment store.",
      "With --http: through the HTTP API of a running node (found by --data or --api):"
          + " puts through POST /v1/fragments/batch (batches of 500, 2 threads), gets through"
          + " GET /v1/fragments/{id} (--get-threads threads, kept-alive connections)."
    },
    mixinStandardHelpOptions = true)
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

  @Override
  protected int run() {
    if (n < 1 || textBytes < 1 || dim < 1 || getThreads < 1) {
      throw new CliException(ExitCodes.USAGE, "--n, --text-bytes, --dim and --get-threads must"
          + " be at least 1");
    }
    if (!http) {
      throw new CliException(ExitCodes.USAGE, "give --http to measure through a node's API");
    }
    if (data == null && api == null) {
      throw new CliException(ExitCodes.USAGE,
          "give --data DIR or --api URL of the running node to measure");
    }
    ApiClient client = ApiClient.connect(new ApiTarget(
        data == null ? Path.of("data") : data, api, apiKey));
    HttpStoreBench.Result r =
        new HttpStoreBench(client, n, textBytes, dim, 500, 2, getThreads, seed).run();
    printHttp(r);
    return ExitCodes.OK;
  }

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
