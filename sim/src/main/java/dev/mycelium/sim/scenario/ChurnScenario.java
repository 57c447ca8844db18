package dev.mycelium.sim.scenario;

import com.typesafe.config.Config;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code churn}: nodes leave (gracefully or by crashing) and come back continuously, as on
 * laptops that sleep and wake. Measured over time: connectivity, the share of active-view
 * entries that point at departed nodes, view sizes, and the reach of broadcasts made under
 * churn (HyParView, Leitão, Pereira and Rodrigues, DSN 2007, claims its views heal under
 * exactly this kind of churn). With {@code churn.replication = true} nodes also replicate
 * their fragments to R holders, and what churn threatens is measured over time: holders leave,
 * and owners must re-place copies before the last one goes.
 *
 * <p>Where the substrate sees which fragments each node holds (simulated nodes), every node
 * writes fragments before the churn, random live nodes keep writing during it, and the live
 * copies of a sample are counted. Real nodes only say how many replicas they hold, so
 * replication is followed through the owners' holder lists: a few stable writers, never
 * churned, write before the churn and send the broadcasts.
 */
final class ChurnScenario implements ClusterScenario {
  /** Simulated time the network runs on after the churn before the last readings. */
  private static final long SIM_SETTLE_MILLIS = 10_000;

  /** A broadcast on real nodes whose reach is still to be read. */
  private record Pending(String label, int origin, long sentAt, BitSet upAtSend) {}

  @Override
  public List<String> nodeSettings(Config config) {
    return List.of("replication.factor = " + config.getInt("churn.replication-factor"));
  }

  @Override
  public void run(Cluster c) {
    ScenarioContext ctx = c.ctx();
    var conf = ctx.config().getConfig("churn");
    long duration = conf.getLong("duration-ms");
    long interval = conf.getLong("interval-ms");
    int perInterval = conf.getInt("nodes-per-interval");
    double graceful = conf.getDouble("graceful-share");
    long downtime = conf.getLong("downtime-ms");
    long check = conf.getLong("check-interval-ms");
    long every = conf.getLong("broadcast-every-ms");
    boolean replication = conf.getBoolean("replication");
    int factor = conf.getInt("replication-factor");
    int perNode = conf.getInt("fragments-per-node");
    long putEvery = conf.getLong("put-every-ms");
    int sampleSize = conf.getInt("replication-sample");
    long minAge = conf.getLong("replication-min-age-ms");
    int textBytes = conf.getInt("text-bytes");
    int n = ctx.nodes();
    if (interval < 1 || check < 1 || every < 1) {
      throw new IllegalArgumentException("churn.interval-ms, churn.check-interval-ms and "
          + "churn.broadcast-every-ms must be >= 1");
    }
    if (replication && (putEvery < 1 || sampleSize < 1)) {
      throw new IllegalArgumentException("churn.put-every-ms and churn.replication-sample must "
          + "be >= 1 when churn.replication = true");
    }
    // A real node's API counts the replicas it holds but does not list them (liveCopies is
    // empty), so replication is followed through the owners' holder lists, and an owner that
    // is down cannot be asked: some writers are never churned. They send the broadcasts too,
    // because a real broadcast is put at the harness's next step, when a churned origin may
    // already be gone.
    boolean stable = !c.simulated();
    int writerCount = stable ? ctx.config().getInt("real.churn.writers") : 0;
    long reachAfter = stable ? ctx.config().getLong("real.churn.reach-after-ms") : 0;
    if (stable && (writerCount < 1 || writerCount > n - 2)) {
      throw new IllegalArgumentException("real.churn.writers must be from 1 to nodes - 2 ("
          + (n - 2) + "), got " + writerCount + ": the rest of the nodes are churned");
    }
    if (replication) {
      c.replicating(factor);
    } else {
      c.fresh();
    }
    SplittableRandom pick = ctx.random("churn");
    SplittableRandom writer = ctx.random("churn writes");
    BitSet writers = new BitSet();
    while (writers.cardinality() < writerCount) {
      writers.set(pick.nextInt(n));
    }
    int[] writerList = writers.stream().toArray();
    List<String> written = new ArrayList<>();
    List<Long> writtenAt = new ArrayList<>();
    // Fragments put on real nodes, answered or not: a put whose answer was late may still have
    // stored it, and broadcasts are fragments the nodes replicate too.
    int puts = 0;
    int serial = 0;
    long placed = -1;
    if (replication) {
      for (int i = 0; i < c.size(); i++) {
        for (int k = 0; k < perNode && c.isLive(i) && (!stable || writers.get(i)); k++) {
          long at = c.now();
          c.write(i, serial++, textBytes, writer).ifPresent(id -> {
            written.add(id);
            writtenAt.add(at);
          });
          puts++;
        }
      }
      if (stable) {
        int want = Math.min(factor, n - 1);
        placed = c.waitFor(() -> {
          for (int w : writerList) {
            if (c.holders(w).size() < want) {
              return false;
            }
          }
          return true;
        }, minAge, "placing replicas");
      }
    }
    long t0 = c.now();
    long end = t0 + duration;
    List<Map<String, Object>> replicationRows = new ArrayList<>();
    List<double[]> replicationSeries = new ArrayList<>();
    long nextPut = t0 + putEvery;
    ArrayDeque<long[]> down = new ArrayDeque<>();
    List<Map<String, Object>> rows = new ArrayList<>();
    List<double[]> series = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    List<Long> labelTimes = new ArrayList<>();
    Map<String, Double> readReach = new HashMap<>();
    ArrayDeque<Pending> pending = new ArrayDeque<>();
    int departures = 0;
    int leaves = 0;
    int returns = 0;
    long nextCheck = t0;
    long nextBroadcast = t0 + every / 2;
    for (long t = t0; t <= end; t = later(t, interval, c.now())) {
      c.runUntil(t, "churn");
      readReach(c, pending, reachAfter, readReach);
      while (!down.isEmpty() && down.peekFirst()[1] <= c.now()) {
        comeBack(c, (int) down.pollFirst()[0], pick);
        returns++;
      }
      // The conditions read the clock rather than the step's slot: on real nodes a restart
      // above may have taken seconds (on simulated ones the two are the same).
      if (c.now() < end) {
        for (int k = 0; k < perInterval && c.liveCount() > 2 && churnable(c, writers); k++) {
          int v = c.randomLive(pick);
          while (writers.get(v)) {
            v = c.randomLive(pick);
          }
          if (pick.nextDouble() < graceful) {
            c.leave(v);
            leaves++;
          } else {
            c.crash(v, c.now());
          }
          down.addLast(new long[] {v, c.now() + downtime});
          departures++;
        }
      }
      if (replication && !stable && c.now() >= nextPut && c.now() < end) {
        int w = c.randomLive(writer);
        long at = c.now();
        c.write(w, serial++, textBytes, writer).ifPresent(id -> {
          written.add(id);
          writtenAt.add(at);
        });
        nextPut = later(nextPut, putEvery, c.now());
      }
      if (c.now() >= nextBroadcast && c.now() < end) {
        int origin = stable ? writerList[pick.nextInt(writerList.length)] : c.randomLive(pick);
        long sentAt = c.now();
        String label = c.broadcast(origin, sentAt, "churn");
        labels.add(label);
        labelTimes.add(sentAt);
        if (stable) {
          pending.addLast(new Pending(label, origin, sentAt, live(c)));
          puts++;
        }
        nextBroadcast = later(nextBroadcast, every, c.now());
      }
      if (c.now() >= nextCheck) {
        c.runUntil(c.now(), "churn");
        double s = (c.now() - t0) / 1000.0;
        readOverlay(c, s, rows, series);
        if (replication) {
          if (stable) {
            readHolders(c, writerList, puts, s, replicationRows, replicationSeries);
          } else {
            measureCopies(c, written, writtenAt, minAge, sampleSize, factor, t0,
                replicationRows, replicationSeries);
          }
        }
        nextCheck = later(nextCheck, check, c.now());
      }
    }
    // A real network may fall behind the schedule (a restart takes seconds): the achieved
    // rate is what it managed in the time it took.
    long churned = Math.max(duration, c.now() - t0);
    long settleUntil;
    if (c.simulated()) {
      settleUntil = t0 + duration + SIM_SETTLE_MILLIS;
    } else {
      // Real nodes still down come back first, so that the last reading shows whether the
      // views healed with every node running; the simulated form has always read its end
      // with the last departures still down.
      while (!down.isEmpty()) {
        comeBack(c, (int) down.pollFirst()[0], pick);
        returns++;
      }
      while (!pending.isEmpty()) {
        c.runUntil(Math.max(c.now(), pending.peekFirst().sentAt() + reachAfter), "settling");
        readReach(c, pending, reachAfter, readReach);
      }
      settleUntil = c.now() + ctx.config().getLong("real.settle-ms");
    }
    c.runUntil(settleUntil, "settling");
    List<Map<String, Object>> reach = new ArrayList<>();
    double minReach = 1;
    double sum = 0;
    int reachRead = 0;
    int notSent = 0;
    for (int k = 0; k < labels.size(); k++) {
      String label = labels.get(k);
      if (!c.reach(label).sent()) {
        notSent++;
        continue;
      }
      double r = stable ? readReach.getOrDefault(label, -1.0)
          : c.reach(label).reached() / (double) c.liveCount();
      if (r < 0) {
        continue;
      }
      r = Math.min(1, r);
      minReach = Math.min(minReach, r);
      sum += r;
      reachRead++;
      reach.add(Report.row("broadcast", label, "sent at s",
          (labelTimes.get(k) - t0) / 1000.0, "reach", r));
    }
    double settled = (c.now() - t0) / 1000.0;
    Map<String, Object> after = readOverlay(c, settled, new ArrayList<>(), new ArrayList<>());
    double perMinute = departures / (churned / 60_000.0) / n;
    Map<String, Object> churn = Report.row("departures", departures, "graceful share",
        graceful, "downtime ms", downtime, "share of nodes leaving per minute", perMinute,
        "graceful leaves", leaves, "crashes", departures - leaves, "returns", returns,
        "planned departures", (long) Math.ceil(duration / (double) interval) * perInterval,
        "churn time s", churned / 1000.0, "broadcasts", labels.size(), "broadcasts not sent",
        notSent);
    if (stable) {
      churn.put("stable writers (never churned)", writerCount);
    }
    ctx.report().put("churn", churn);
    ctx.report().put("overlay under churn", rows);
    ctx.report().put("broadcasts under churn", reach);
    ctx.report().put("overlay after churn", after);
    double[] x = series.stream().mapToDouble(v -> v[0]).toArray();
    ctx.report().plot(new Plot("churn-connectivity.png", "Overlay under churn", "seconds of "
        + "churn", "share", false, false, List.of(
            new Plot.Series("largest component share", x,
                series.stream().mapToDouble(v -> v[1]).toArray(), true),
            new Plot.Series("stale active-view entries", x,
                series.stream().mapToDouble(v -> v[2]).toArray(), true))));
    double worstLargest = series.stream().mapToDouble(v -> v[1]).min().orElse(0);
    String reachOf = stable ? String.format(Locale.ROOT, "of the nodes up when they were sent "
        + "and still up when read, at the first step at least %d ms later", reachAfter)
        : "of the nodes live at the end";
    ctx.report().finding(String.format(Locale.ROOT, "With %.1f%% of the nodes leaving per minute "
        + "(%.0f%% gracefully, back after %d s), the largest component held at least %.1f%% of "
        + "live nodes; broadcasts under churn reached on average %.1f%% (worst %.1f%%) %s.",
        perMinute * 100, graceful * 100, downtime / 1000, worstLargest * 100,
        reachRead == 0 ? 0 : sum / reachRead * 100, minReach * 100, reachOf));
    ctx.report().finding(String.format(Locale.ROOT, "%.0f s after the churn (%s) the %d live "
        + "nodes formed %d component(s), the largest holding a share of %.3f, with %.3f of the "
        + "active-view entries pointing at nodes that are down.", settled - churned / 1000.0,
        c.simulated() ? "the last departures still down" : "every node back",
        after.get("live"), after.get("components"), after.get("largest share"),
        after.get("stale view entries")));
    if (notSent > 0) {
      ctx.report().finding(notSent + " broadcasts never left their origin (a put that did not "
          + "answer within the harness's request timeout); they are left out.");
    }
    if (replication) {
      c.runUntil(c.now() + 1, "settling");
      if (stable) {
        readHolders(c, writerList, puts, settled, replicationRows, replicationSeries);
        reportHolders(c, factor, puts, writerCount, placed, replicationRows,
            replicationSeries);
      } else {
        measureCopies(c, written, writtenAt, minAge, sampleSize, factor, t0, replicationRows,
            replicationSeries);
        reportCopies(ctx, factor, written.size(), putEvery, replicationRows, replicationSeries);
      }
    }
    c.traffic("");
  }

  /** The next slot of a schedule; slots missed while a real network was busy are skipped. */
  private static long later(long slot, long step, long now) {
    long next = slot + step;
    return next > now ? next : now + step;
  }

  /** Restarts node {@code i} through three random live nodes (a repeated one counts once). */
  private static void comeBack(Cluster c, int i, SplittableRandom pick) {
    List<Integer> seeds = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      seeds.add(c.randomLive(pick));
    }
    c.restart(i, seeds);
  }

  /** Whether a live node that may be churned is left. */
  private static boolean churnable(Cluster c, BitSet writers) {
    return c.liveCount() > writers.stream().filter(c::isLive).count();
  }

  private static BitSet live(Cluster c) {
    BitSet live = new BitSet();
    for (int i = 0; i < c.size(); i++) {
      if (c.isLive(i)) {
        live.set(i);
      }
    }
    return live;
  }

  /**
   * Reads the reach of every pending broadcast sent at least {@code after} ago, just after a
   * step that polled the nodes: the share of the nodes up when it was sent (other than its
   * origin) and live now that have shown it, or -1 when none of them is left.
   */
  private static void readReach(Cluster c, ArrayDeque<Pending> pending, long after,
      Map<String, Double> read) {
    while (!pending.isEmpty() && pending.peekFirst().sentAt() + after <= c.now()) {
      Pending p = pending.pollFirst();
      Reach r = c.reach(p.label());
      int asked = 0;
      int have = 0;
      for (int i = p.upAtSend().nextSetBit(0); i >= 0; i = p.upAtSend().nextSetBit(i + 1)) {
        if (i != p.origin() && c.isLive(i)) {
          asked++;
          if (r.firstSeen()[i] >= 0) {
            have++;
          }
        }
      }
      read.put(p.label(), asked == 0 ? -1 : have / (double) asked);
    }
  }

  /**
   * One reading of the running nodes' active views: components and largest share of the graph
   * of linked entries, the share of entries that name a node that is down (stale: the node has
   * not yet noticed the departure), and the mean number of entries.
   */
  private static Map<String, Object> readOverlay(Cluster c, double s,
      List<Map<String, Object>> rows, List<double[]> series) {
    Cluster.ViewReading v = c.readViews();
    List<Integer> comps = v.graph().componentSizes();
    int live = v.graph().liveNodes();
    double share = comps.isEmpty() ? 0 : comps.get(0) / (double) live;
    double staleShare = v.entries() == 0 ? 0 : v.stale() / (double) v.entries();
    double meanView = v.answered() == 0 ? 0 : v.entries() / (double) v.answered();
    Map<String, Object> row = Report.row("time s", s, "live", live, "components", comps.size(),
        "largest share", share, "stale view entries", staleShare, "mean active view",
        meanView);
    if (!c.simulated()) {
      row.put("answered", v.answered());
    }
    rows.add(row);
    series.add(new double[] {s, share, staleShare, meanView});
    return row;
  }

  /**
   * Live copies of a sample of the fragments written at least {@code minAge} ago (younger
   * ones may still be on their way to their first holders): mean, minimum, and share with R.
   */
  private static void measureCopies(Cluster c, List<String> written, List<Long> writtenAt,
      long minAge, int sampleSize, int factor, long t0, List<Map<String, Object>> rows,
      List<double[]> series) {
    long t = c.now();
    List<String> eligible = new ArrayList<>();
    for (int k = 0; k < written.size(); k++) {
      if (writtenAt.get(k) <= t - minAge) {
        eligible.add(written.get(k));
      }
    }
    if (eligible.isEmpty()) {
      return;
    }
    List<String> sample = new ArrayList<>();
    double stride = Math.max(1.0, eligible.size() / (double) sampleSize);
    for (double k = 0; k < eligible.size() && sample.size() < sampleSize; k += stride) {
      sample.add(eligible.get((int) k));
    }
    Map<String, Integer> copies = c.liveCopies(sample).orElseThrow();
    int min = Integer.MAX_VALUE;
    long sum = 0;
    int full = 0;
    for (String id : sample) {
      int count = copies.get(id);
      min = Math.min(min, count);
      sum += count;
      if (count >= factor) {
        full++;
      }
    }
    double mean = sum / (double) sample.size();
    double fullShare = full / (double) sample.size();
    double s = (t - t0) / 1000.0;
    rows.add(Report.row("time s", s, "sampled", sample.size(), "mean live copies", mean,
        "min live copies", min, "share with R copies", fullShare));
    series.add(new double[] {s, mean, min, fullShare});
  }

  private static void reportCopies(ScenarioContext ctx, int factor, int written, long putEvery,
      List<Map<String, Object>> rows, List<double[]> series) {
    ctx.report().put("replication under churn", rows);
    double[] rx = series.stream().mapToDouble(v -> v[0]).toArray();
    ctx.report().plot(new Plot("churn-replication.png", "Live copies per fragment under churn "
        + "(R = " + factor + ")", "seconds of churn", "live copies", false, false, List.of(
            new Plot.Series("mean", rx, series.stream().mapToDouble(v -> v[1]).toArray(), true),
            new Plot.Series("minimum", rx,
                series.stream().mapToDouble(v -> v[2]).toArray(), true))));
    double worstMin = series.stream().mapToDouble(v -> v[2]).min().orElse(0);
    double worstMean = series.stream().mapToDouble(v -> v[1]).min().orElse(0);
    double worstFull = series.stream().mapToDouble(v -> v[3]).min().orElse(0);
    double[] last = series.isEmpty() ? new double[4] : series.get(series.size() - 1);
    ctx.report().finding(String.format(Locale.ROOT, "Replication under churn (R = %d, %d "
        + "fragments written, one every %d ms during churn): the mean number of live copies "
        + "never fell below %.2f, the minimum below %.0f, and at least %.1f%% of the sampled "
        + "fragments always had R live copies; after settling: mean %.2f, minimum %.0f.",
        factor, written, putEvery, worstMean, worstMin, worstFull * 100, last[1], last[2]));
  }

  /**
   * How many copies of the writers' fragments live nodes hold (every held replica is one of
   * theirs, since only they write), and how many of each writer's holders are live.
   */
  private static void readHolders(Cluster c, int[] writers, int puts, double s,
      List<Map<String, Object>> rows, List<double[]> series) {
    long held = c.heldReplicas();
    int min = Integer.MAX_VALUE;
    int sum = 0;
    for (int w : writers) {
      int count = (int) c.holders(w).stream().filter(c::isLive).count();
      min = Math.min(min, count);
      sum += count;
    }
    double mean = puts == 0 ? 0 : held / (double) puts;
    double meanHolders = sum / (double) writers.length;
    rows.add(Report.row("time s", s, "fragments written", puts, "replicas held on up nodes",
        held, "mean copies per fragment", mean, "holders up, mean over writers", meanHolders,
        "holders up, minimum over writers", min));
    series.add(new double[] {s, mean, meanHolders, min});
  }

  private static void reportHolders(Cluster c, int factor, int puts, int writerCount,
      long placed, List<Map<String, Object>> rows, List<double[]> series) {
    Report report = c.ctx().report();
    report.put("replication under churn", rows);
    double[] rx = series.stream().mapToDouble(v -> v[0]).toArray();
    report.plot(new Plot("churn-replication.png", "Copies of the writers' fragments on up "
        + "nodes under churn (R = " + factor + ")", "seconds of churn", "copies", false, false,
        List.of(
            new Plot.Series("mean copies held per fragment", rx,
                series.stream().mapToDouble(v -> v[1]).toArray(), true),
            new Plot.Series("holders up, mean over writers", rx,
                series.stream().mapToDouble(v -> v[2]).toArray(), true),
            new Plot.Series("holders up, minimum over writers", rx,
                series.stream().mapToDouble(v -> v[3]).toArray(), true))));
    double worstMean = series.stream().mapToDouble(v -> v[1]).min().orElse(0);
    double worstHolders = series.stream().mapToDouble(v -> v[3]).min().orElse(0);
    double[] last = series.isEmpty() ? new double[4] : series.get(series.size() - 1);
    report.put("replication", Report.row("factor", factor, "fragments written", puts,
        "writers", writerCount, "first placement ms", placed));
    report.finding(String.format(Locale.ROOT, "Replication under churn (R = %d, %d fragments "
        + "of %d stable writers, placed on R holders after %d ms): the mean copies held on up "
        + "nodes per fragment never fell below %.2f and the fewest up holders of any writer "
        + "was %.0f; after the churn and settling: mean copies %.2f, holders up %.0f at the "
        + "fewest. Copies are counted from every up node's held PRESENT replicas (GET "
        + "/v1/repair), so fragments written moments before a reading and not yet streamed "
        + "count as missing. Unlike on simulated nodes, random live nodes do not keep writing "
        + "during the churn: a churned owner cannot be asked for its holders while it is down, "
        + "and a node does not say which fragments it holds.", factor, puts, writerCount,
        placed, worstMean, worstHolders, last[1], last[3]));
  }
}
