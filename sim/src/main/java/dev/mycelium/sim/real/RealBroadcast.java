package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code broadcast} on real nodes: at each loss rate of {@code broadcast.losses} (injected on
 * every node through the fault API), shared fragments are put on random nodes and every node
 * is polled for each of them until the horizon, which gives the share of nodes holding a
 * broadcast over wall time after its put: the reach curve of the simulated form, measured on
 * the real Plumtree of real processes (Leitão, Pereira and Rodrigues, "Epidemic Broadcast
 * Trees", SRDS 2007) with the real TLS transport and store in between.
 *
 * <p>A node is counted from the moment a GET answered PRESENT for the fragment, so every time
 * is an upper bound whose resolution is one poll sweep (reported).
 */
final class RealBroadcast implements RealScenario {
  private static final double[] SHARES = {0.99, 0.999, 1.0};

  @Override
  public void run(RealContext ctx) {
    Config c = ctx.config().getConfig("broadcast");
    double[] losses = ctx.doubles("broadcast.losses");
    int count = c.getInt("count");
    long interval = c.getLong("interval-ms");
    long horizon = c.getLong("horizon-ms");
    long step = c.getLong("step-ms");
    long recover = c.getLong("recover-ms");
    if (count < 1 || step < 1 || horizon < step) {
      throw new IllegalArgumentException("broadcast.count must be at least 1 and "
          + "broadcast.horizon-ms at least broadcast.step-ms (>= 1), got count " + count
          + ", horizon " + horizon + ", step " + step);
    }
    RealNetwork net = ctx.net();
    ctx.grow();
    SplittableRandom pick = ctx.random("origins");
    SplittableRandom seeds = ctx.random("loss seeds");
    int steps = (int) (horizon / step) + 1;
    double[] xs = new double[steps];
    for (int s = 0; s < steps; s++) {
      xs[s] = s * step / 1000.0;
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    List<Plot.Series> curves = new ArrayList<>();
    for (double loss : losses) {
      BitSet up = net.up();
      for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
        setLoss(net, i, loss, seeds.nextLong());
      }
      long droppedBefore = dropped(ctx);
      String phase = String.format(Locale.ROOT, "loss %.0f%%", loss * 100);
      Round round = round(ctx, pick, count, interval, horizon, phase);
      long droppedFrames = dropped(ctx) - droppedBefore;
      // Whether a broadcast that missed nodes within its horizon got there later.
      double endReach = 0;
      for (int b = 0; b < count; b++) {
        if (round.ids[b] != null) {
          int held = 0;
          for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
            held += ctx.has(i, round.ids[b]) ? 1 : 0;
          }
          endReach += held / (double) up.cardinality() / (count - round.failedPuts);
        }
      }
      int population = up.cardinality();
      double[] mean = new double[steps];
      int made = count - round.failedPuts;
      long[][] times = new long[SHARES.length][made];
      double minReach = made == 0 ? 0 : 1;
      double sumReach = 0;
      int m = 0;
      for (int b = 0; b < count; b++) {
        if (round.ids[b] == null) {
          continue;
        }
        long[] seen = round.seen[b];
        for (int s = 0; s < steps; s++) {
          long at = s * step;
          mean[s] += Arrays.stream(seen).filter(x -> x >= 0 && x <= at).count()
              / (double) population / made;
        }
        for (int k = 0; k < SHARES.length; k++) {
          times[k][m] = timeToReach(seen, population, SHARES[k]);
        }
        m++;
        double reach = Arrays.stream(seen).filter(x -> x >= 0).count() / (double) population;
        minReach = Math.min(minReach, reach);
        sumReach += reach / made;
      }
      rows.add(Report.row(
          "loss", loss,
          "broadcasts", made,
          "puts failed", round.failedPuts,
          "mean reach", sumReach,
          "min reach", minReach,
          "mean reach at round end", endReach,
          "reached 99.9%", Arrays.stream(times[1]).filter(x -> x >= 0).count(),
          "reached 100%", Arrays.stream(times[2]).filter(x -> x >= 0).count(),
          "t99 median ms", median(times[0]),
          "t99.9 median ms", median(times[1]),
          "t99.9 max ms", max(times[1]),
          "t100 median ms", median(times[2]),
          "t100 max ms", max(times[2]),
          "poll sweep mean ms", round.sweepMillis,
          "frames dropped by injected loss", droppedFrames));
      curves.add(new Plot.Series(String.format(Locale.ROOT, "%.0f%% loss", loss * 100), xs,
          mean, true));
      for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
        setLoss(net, i, 0, 0);
      }
      ctx.sleep(recover, "recovering");
    }
    ctx.report().put("broadcasts", rows);
    ctx.report().plot(new Plot("reach-over-time.png", "Share of real nodes holding a shared "
        + "fragment after its put (" + ctx.nodes() + " nodes, mean of " + count
        + " broadcasts)", "seconds after the put", "share of live nodes holding it", false,
        false, curves));
    for (Map<String, Object> r : rows) {
      ctx.report().finding(String.format(Locale.ROOT, "%.0f%% loss (on every frame a node "
          + "receives): %d of %d broadcasts reached every node (%d reached 99.9%%); time to "
          + "99.9%%: median %d ms, slowest %d ms; to 100%%: median %d ms, slowest %d ms; mean "
          + "reach within the %d ms horizon %.4f (%.4f when the round ended); %d frames "
          + "dropped by the injected loss.",
          (Double) r.get("loss") * 100, r.get("reached 100%"), r.get("broadcasts"),
          r.get("reached 99.9%"),
          r.get("t99.9 median ms"), r.get("t99.9 max ms"), r.get("t100 median ms"),
          r.get("t100 max ms"), horizon, r.get("mean reach"), r.get("mean reach at round end"),
          r.get("frames dropped by injected loss")));
    }
    int failedPuts = rows.stream().mapToInt(r -> (Integer) r.get("puts failed")).sum();
    if (failedPuts > 0) {
      ctx.report().finding(failedPuts + " puts did not answer within the harness's request "
          + "timeout (a loaded host); those broadcasts are left out of the numbers.");
    }
    ctx.report().finding(String.format(Locale.ROOT, "Times are upper bounds: a node counts "
        + "from the GET that first found the fragment PRESENT, and every node was polled for "
        + "every open broadcast in sweeps every %d ms or less (the sweep itself took the mean "
        + "shown per loss rate). The links are loopback TCP without added delay, so the times "
        + "measure the nodes' processing and Plumtree's timers (lazy IHave, graft timeouts), "
        + "not propagation delay as the simulated 20-80 ms links do.",
        ctx.config().getLong("real.poll-ms")));
    ctx.report().finding("Payload copies per node are not measured on real nodes: the nodes "
        + "export first deliveries (mycelium_overlay_delivered_total) and shared fragments "
        + "received, but not how many payload copies Plumtree sends or receives (its duplicate "
        + "count stays inside the node), and the frame counters of /v1/status mix payloads "
        + "with IHave, heartbeats and membership traffic. The copies-per-node plot of the "
        + "simulated form is therefore absent, and so is the Serf model, which compares "
        + "against simulated link latency.");
    ctx.traffic("");
  }

  /** One loss rate's broadcasts: when each node was first seen holding each of them. */
  private record Round(long[][] seen, String[] ids, long sweepMillis, int failedPuts) {}

  /**
   * Puts {@code count} shared fragments {@code interval} ms apart from random live nodes and
   * polls every live node for each until it is everywhere or its horizon has passed. A sweep
   * asks the nodes in parallel (a few requests at a time), so that one slow node does not hold
   * up the others' readings.
   */
  private static Round round(RealContext ctx, SplittableRandom pick, int count, long interval,
      long horizon, String phase) {
    RealNetwork net = ctx.net();
    long poll = ctx.config().getLong("real.poll-ms");
    int n = net.size();
    long[][] seen = new long[count][n];
    long[] putAt = new long[count];
    String[] ids = new String[count];
    for (long[] s : seen) {
      Arrays.fill(s, -1);
    }
    int put = 0;
    int failed = 0;
    long start = net.millis();
    long sweeps = 0;
    long sweepTotal = 0;
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(8, n));
    try {
      while (true) {
        long now = net.millis();
        if (put < count && now >= start + put * interval) {
          int origin = liveNode(net, pick);
          putAt[put] = net.millis();
          ids[put] = tryPut(ctx, origin, ctx.text(phase + " broadcast " + put, 200), true);
          if (ids[put] != null) {
            // The origin holds it once the put has answered: it stores before it publishes.
            seen[put][origin] = net.millis() - putAt[put];
          } else {
            failed++;
          }
          put++;
        }
        long sweepStart = net.millis();
        List<Callable<Void>> asks = new ArrayList<>();
        for (int b = 0; b < put; b++) {
          if (ids[b] == null || sweepStart - putAt[b] > horizon) {
            continue;
          }
          for (int i = 0; i < n; i++) {
            if (seen[b][i] < 0 && net.answers(i)) {
              int fb = b;
              int fi = i;
              asks.add(() -> {
                if (ctx.has(fi, ids[fb])) {
                  seen[fb][fi] = net.millis() - putAt[fb];
                }
                return null;
              });
            }
          }
        }
        invokeAll(pool, asks);
        sweeps++;
        sweepTotal += net.millis() - sweepStart;
        ctx.tick(phase);
        if (put == count && asks.isEmpty()) {
          break;
        }
        long next = sweepStart + poll;
        if (put < count) {
          next = Math.min(next, start + put * interval);
        }
        ctx.sleep(Math.max(0, next - net.millis()), phase);
      }
    } finally {
      pool.shutdownNow();
    }
    return new Round(seen, ids, sweeps == 0 ? 0 : sweepTotal / sweeps, failed);
  }

  private static void invokeAll(ExecutorService pool, List<Callable<Void>> asks) {
    try {
      for (Future<Void> f : pool.invokeAll(asks)) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("polling the nodes failed: " + e.getCause(), e.getCause());
    }
  }

  /**
   * Puts a fragment, or returns null when the node did not answer in time: on a loaded host a
   * put can outlast the harness's request timeout, and one slow answer should cost one
   * broadcast (counted in the report), not the whole run.
   */
  static String tryPut(RealContext ctx, int i, String text, boolean shared) {
    try {
      return ctx.put(i, text, shared);
    } catch (CliException e) {
      return null;
    }
  }

  /**
   * Sets node {@code i}'s loss, trying again when a loaded node does not answer in time (the
   * change replaces the rate and seed, so asking twice is harmless).
   */
  private static void setLoss(RealNetwork net, int i, double loss, long seed) {
    for (int attempt = 1; ; attempt++) {
      try {
        net.loss(i, loss, seed);
        return;
      } catch (CliException e) {
        if (attempt == 3) {
          throw new IllegalStateException("node " + i + " did not take its loss rate after 3 "
              + "tries: " + e.getMessage(), e);
        }
      }
    }
  }

  private static int liveNode(RealNetwork net, SplittableRandom pick) {
    int[] live = net.up().stream().filter(net::answers).toArray();
    return live[pick.nextInt(live.length)];
  }

  /** Frames the nodes dropped through injected loss so far, summed over answering nodes. */
  private static long dropped(RealContext ctx) {
    RealNetwork net = ctx.net();
    long sum = 0;
    for (int i = 0; i < net.size(); i++) {
      if (!net.answers(i)) {
        continue;
      }
      try {
        JsonNode f = net.api(i).get("/v1/debug/faults");
        sum += f.path("dropped").asLong();
      } catch (CliException e) {
        // A node that does not answer in time adds nothing; the count is a lower bound.
      }
    }
    return sum;
  }

  /** Ms until {@code share} of the population held it (as the simulated form), or -1. */
  static long timeToReach(long[] seen, int population, double share) {
    int needed = (int) Math.ceil(population * share - 1e-9);
    long[] t = Arrays.stream(seen).filter(x -> x >= 0).sorted().toArray();
    if (needed == 0) {
      return 0;
    }
    return t.length < needed ? -1 : t[needed - 1];
  }

  static long median(long[] v) {
    long[] s = Arrays.stream(v).filter(x -> x >= 0).sorted().toArray();
    return s.length == 0 ? -1 : s[(s.length - 1) / 2];
  }

  static long max(long[] v) {
    if (Arrays.stream(v).anyMatch(x -> x < 0)) {
      return -1;
    }
    return Arrays.stream(v).max().orElse(-1);
  }
}
