package dev.mycelium.bench.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mycelium.node.cli.ApiClient;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.ExitCodes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Measures a node's store through its HTTP API, as a client sees it: puts per second through
 * {@code POST /v1/fragments/batch} (the bulk path an import uses) and gets per second through
 * {@code GET /v1/fragments/{id}} from several threads over kept-alive connections (the JDK
 * client pools them). Vectors are supplied so that the embedder is not what gets measured.
 */
public final class HttpStoreBench {
  /** Throughput and latency of one phase. */
  public record Phase(
      long operations, int threads, double seconds, double perSecond, double p50Ms, double p99Ms) {}

  /** Both phases. */
  public record Result(String target, int n, int textBytes, int dim, Phase puts, Phase gets) {}

  private static final String[] WORDS = {
    "river", "garden", "meeting", "invoice", "tomato", "sunrise", "ledger", "harbor", "violet",
    "engine", "protocol", "memory", "lantern", "orchard", "quartz", "signal", "thunder", "pepper"
  };

  private final ApiClient client;
  private final int n;
  private final int textBytes;
  private final int dim;
  private final int batchSize;
  private final int putThreads;
  private final int getThreads;
  private final long seed;

  /** A benchmark of {@code n} fragments of about {@code textBytes} bytes with {@code dim}-d vectors. */
  public HttpStoreBench(
      ApiClient client, int n, int textBytes, int dim, int batchSize, int putThreads,
      int getThreads, long seed) {
    this.client = client;
    this.n = n;
    this.textBytes = textBytes;
    this.dim = dim;
    this.batchSize = batchSize;
    this.putThreads = putThreads;
    this.getThreads = getThreads;
    this.seed = seed;
  }

  /** Runs the put phase, then the get phase over the IDs the puts returned. */
  public Result run() {
    String[] ids = new String[n];
    Phase puts = putPhase(ids);
    Phase gets = getPhase(ids);
    return new Result(client.base().toString(), n, textBytes, dim, puts, gets);
  }

  private Phase putPhase(String[] ids) {
    int batches = (n + batchSize - 1) / batchSize;
    AtomicInteger next = new AtomicInteger();
    long[] latency = new long[batches];
    long start = System.nanoTime();
    runThreads(
        putThreads,
        () -> {
          for (int b = next.getAndIncrement(); b < batches; b = next.getAndIncrement()) {
            int from = b * batchSize;
            int to = Math.min(n, from + batchSize);
            ObjectNode body = ApiClient.mapper().createObjectNode();
            ArrayNode frags = body.putArray("fragments");
            for (int i = from; i < to; i++) {
              frags.add(fragment(i));
            }
            long t0 = System.nanoTime();
            JsonNode r = client.post("/v1/fragments/batch", body);
            latency[b] = System.nanoTime() - t0;
            JsonNode results = r.path("results");
            for (int i = from; i < to; i++) {
              JsonNode res = results.get(i - from);
              if (res == null || !res.hasNonNull("id")) {
                throw new CliException(
                    ExitCodes.FAILURE,
                    "the node refused bench fragment " + i + ": " + res);
              }
              ids[i] = res.get("id").asText();
            }
          }
        });
    double seconds = (System.nanoTime() - start) / 1e9;
    return phase(n, putThreads, seconds, latency);
  }

  private Phase getPhase(String[] ids) {
    AtomicInteger next = new AtomicInteger();
    long[] latency = new long[n];
    SplittableRandom order = new SplittableRandom(seed ^ 0x5DEECE66DL);
    int[] pick = new int[n];
    for (int i = 0; i < n; i++) {
      pick[i] = order.nextInt(n);
    }
    long start = System.nanoTime();
    runThreads(
        getThreads,
        () -> {
          for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
            long t0 = System.nanoTime();
            JsonNode f = client.get("/v1/fragments/" + ids[pick[i]]);
            latency[i] = System.nanoTime() - t0;
            if (!"PRESENT".equals(f.path("state").asText())) {
              throw new CliException(
                  ExitCodes.FAILURE, "bench fragment " + ids[pick[i]] + " reads " + f);
            }
          }
        });
    double seconds = (System.nanoTime() - start) / 1e9;
    return phase(n, getThreads, seconds, latency);
  }

  private static Phase phase(long ops, int threads, double seconds, long[] latencyNanos) {
    long[] sorted = latencyNanos.clone();
    Arrays.sort(sorted);
    return new Phase(
        ops,
        threads,
        seconds,
        ops / seconds,
        percentile(sorted, 0.50) / 1e6,
        percentile(sorted, 0.99) / 1e6);
  }

  private static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
    return sorted[Math.max(0, i)];
  }

  private ObjectNode fragment(int i) {
    SplittableRandom rnd = new SplittableRandom(seed * 31 + i);
    StringBuilder sb = new StringBuilder(textBytes + 16);
    sb.append("bench ").append(i).append(' ');
    while (sb.length() < textBytes) {
      sb.append(WORDS[rnd.nextInt(WORDS.length)]).append(' ');
    }
    sb.setLength(Math.max(1, textBytes));
    ObjectNode o = ApiClient.mapper().createObjectNode();
    o.put("text", sb.toString().strip());
    ArrayNode v = o.putArray("vector");
    double norm = 0;
    float[] x = new float[dim];
    for (int d = 0; d < dim; d++) {
      x[d] = (float) rnd.nextGaussian();
      norm += x[d] * x[d];
    }
    float inv = (float) (1 / Math.sqrt(norm));
    for (int d = 0; d < dim; d++) {
      v.add(x[d] * inv);
    }
    return o;
  }

  private static void runThreads(int threads, Runnable work) {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        fs.add(pool.submit(work));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } catch (ExecutionException e) {
      if (e.getCause() instanceof CliException ce) {
        throw ce;
      }
      throw new CliException(ExitCodes.FAILURE, "bench failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.FAILURE, "interrupted");
    } finally {
      pool.shutdownNow();
    }
  }
}
