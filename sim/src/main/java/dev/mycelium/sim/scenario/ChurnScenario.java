package dev.mycelium.sim.scenario;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code churn}: nodes leave (gracefully or by crashing) and come back continuously, as on
 * laptops that sleep and wake. Measured over time: connectivity, the share of active-view
 * entries that point at departed nodes, view sizes, and the reach of broadcasts made under
 * churn. With {@code churn.replication = true} every node also runs the replication core,
 * writes fragments before the churn and random live nodes keep writing during it; the
 * replication factor (live copies per fragment, mean and minimum over a sample) is measured
 * over time, which is what churn threatens: holders leave, and owners must re-place copies
 * before the last one goes.
 */
final class ChurnScenario implements Scenario {
  @Override
  public void run(ScenarioContext ctx) {
    var c = ctx.config().getConfig("churn");
    long duration = c.getLong("duration-ms");
    long interval = c.getLong("interval-ms");
    int perInterval = c.getInt("nodes-per-interval");
    double graceful = c.getDouble("graceful-share");
    long downtime = c.getLong("downtime-ms");
    long check = c.getLong("check-interval-ms");
    long every = c.getLong("broadcast-every-ms");
    boolean replication = c.getBoolean("replication");
    int factor = c.getInt("replication-factor");
    int perNode = c.getInt("fragments-per-node");
    long putEvery = c.getLong("put-every-ms");
    int sampleSize = c.getInt("replication-sample");
    long minAge = c.getLong("replication-min-age-ms");
    int textBytes = c.getInt("text-bytes");
    if (replication && (putEvery < 1 || sampleSize < 1)) {
      throw new IllegalArgumentException("churn.put-every-ms and churn.replication-sample must "
          + "be >= 1 when churn.replication = true");
    }
    OverlaySim sim = replication ? ctx.newReplicatingSim(factor) : ctx.newSim();
    Metrics m = new Metrics(sim);
    long t0 = ctx.grow(sim);
    SplittableRandom pick = ctx.random("churn");
    SplittableRandom writer = ctx.random("churn writes");
    List<FragmentId> written = new ArrayList<>();
    List<Long> writtenAt = new ArrayList<>();
    int serial = 0;
    if (replication) {
      for (int i = 0; i < sim.size(); i++) {
        for (int k = 0; k < perNode && sim.isLive(i); k++) {
          Fragment f = Replicas.newFragment(sim, i, serial++, textBytes, writer, t0);
          if (sim.put(i, f)) {
            written.add(f.id());
            writtenAt.add(t0);
          }
        }
      }
    }
    List<Map<String, Object>> replicationRows = new ArrayList<>();
    List<double[]> replicationSeries = new ArrayList<>();
    long nextPut = t0 + putEvery;
    ArrayDeque<long[]> down = new ArrayDeque<>();
    List<Map<String, Object>> rows = new ArrayList<>();
    List<double[]> series = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    List<Long> labelTimes = new ArrayList<>();
    int departures = 0;
    long nextCheck = t0;
    long nextBroadcast = t0 + every / 2;
    for (long t = t0; t <= t0 + duration; t += interval) {
      ctx.run(sim, t, "churn");
      while (!down.isEmpty() && down.peekFirst()[1] <= t) {
        int i = (int) down.pollFirst()[0];
        List<Integer> seeds = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
          seeds.add(ScenarioContext.liveNode(sim, pick));
        }
        sim.restart(i, t, seeds);
      }
      if (t < t0 + duration) {
        for (int k = 0; k < perInterval && sim.liveCount() > 2; k++) {
          int v = ScenarioContext.liveNode(sim, pick);
          if (pick.nextDouble() < graceful) {
            sim.leave(v, t);
          } else {
            sim.crash(v, t);
          }
          down.addLast(new long[] {v, t + downtime});
          departures++;
        }
      }
      if (replication && t >= nextPut && t < t0 + duration) {
        int w = ScenarioContext.liveNode(sim, writer);
        Fragment f = Replicas.newFragment(sim, w, serial++, textBytes, writer, t);
        if (sim.put(w, f)) {
          written.add(f.id());
          writtenAt.add(t);
        }
        nextPut += putEvery;
      }
      if (t >= nextBroadcast && t < t0 + duration) {
        labels.add(ctx.broadcast(sim, m, ScenarioContext.liveNode(sim, pick), t, "churn"));
        labelTimes.add(t);
        nextBroadcast += every;
      }
      if (t >= nextCheck) {
        ctx.run(sim, t, "churn");
        GraphStats g = GraphStats.of(sim);
        List<Integer> comps = g.componentSizes();
        int entries = 0;
        int stale = 0;
        for (int i = 0; i < sim.size(); i++) {
          if (sim.isLive(i)) {
            for (int j : sim.activeView(i)) {
              entries++;
              if (j < 0 || !sim.isLive(j)) {
                stale++;
              }
            }
          }
        }
        double share = comps.isEmpty() ? 0 : comps.get(0) / (double) g.liveNodes();
        double staleShare = entries == 0 ? 0 : stale / (double) entries;
        double meanView = g.liveNodes() == 0 ? 0 : entries / (double) g.liveNodes();
        rows.add(Report.row("time s", (t - t0) / 1000.0, "live", g.liveNodes(), "components",
            comps.size(), "largest share", share, "stale view entries", staleShare,
            "mean active view", meanView));
        series.add(new double[] {(t - t0) / 1000.0, share, staleShare, meanView});
        if (replication) {
          measureCopies(sim, written, writtenAt, t, minAge, sampleSize, factor, t0,
              replicationRows, replicationSeries);
        }
        nextCheck += check;
      }
    }
    ctx.run(sim, t0 + duration + 10_000, "settling");
    List<Map<String, Object>> reach = new ArrayList<>();
    double minReach = 1;
    double sum = 0;
    for (int k = 0; k < labels.size(); k++) {
      double r = m.reached(labels.get(k)) / (double) sim.liveCount();
      r = Math.min(1, r);
      minReach = Math.min(minReach, r);
      sum += r;
      reach.add(Report.row("broadcast", labels.get(k), "sent at s",
          (labelTimes.get(k) - t0) / 1000.0, "reach", r));
    }
    double perMinute = departures / (duration / 60_000.0) / ctx.nodes();
    ctx.report().put("churn", Report.row("departures", departures, "graceful share", graceful,
        "downtime ms", downtime, "share of nodes leaving per minute", perMinute));
    ctx.report().put("overlay under churn", rows);
    ctx.report().put("broadcasts under churn", reach);
    double[] x = series.stream().mapToDouble(v -> v[0]).toArray();
    ctx.report().plot(new Plot("churn-connectivity.png", "Overlay under churn", "seconds of "
        + "churn", "share", false, false, List.of(
            new Plot.Series("largest component share", x,
                series.stream().mapToDouble(v -> v[1]).toArray(), true),
            new Plot.Series("stale active-view entries", x,
                series.stream().mapToDouble(v -> v[2]).toArray(), true))));
    double worstLargest = series.stream().mapToDouble(v -> v[1]).min().orElse(0);
    ctx.report().finding(String.format(Locale.ROOT, "With %.1f%% of the nodes leaving per minute "
        + "(%.0f%% gracefully, back after %d s), the largest component held at least %.1f%% of "
        + "live nodes; broadcasts under churn reached on average %.1f%% (worst %.1f%%) of the "
        + "nodes live at the end.", perMinute * 100, graceful * 100, downtime / 1000,
        worstLargest * 100, labels.isEmpty() ? 0 : sum / labels.size() * 100, minReach * 100));
    if (replication) {
      ctx.run(sim, sim.now() + 1, "settling");
      measureCopies(sim, written, writtenAt, sim.now(), minAge, sampleSize, factor, t0,
          replicationRows, replicationSeries);
      ctx.report().put("replication under churn", replicationRows);
      double[] rx = replicationSeries.stream().mapToDouble(v -> v[0]).toArray();
      ctx.report().plot(new Plot("churn-replication.png", "Live copies per fragment under churn "
          + "(R = " + factor + ")", "seconds of churn", "live copies", false, false, List.of(
              new Plot.Series("mean", rx,
                  replicationSeries.stream().mapToDouble(v -> v[1]).toArray(), true),
              new Plot.Series("minimum", rx,
                  replicationSeries.stream().mapToDouble(v -> v[2]).toArray(), true))));
      double worstMin = replicationSeries.stream().mapToDouble(v -> v[2]).min().orElse(0);
      double worstMean = replicationSeries.stream().mapToDouble(v -> v[1]).min().orElse(0);
      double worstFull = replicationSeries.stream().mapToDouble(v -> v[3]).min().orElse(0);
      double[] last = replicationSeries.isEmpty() ? new double[4]
          : replicationSeries.get(replicationSeries.size() - 1);
      ctx.report().finding(String.format(Locale.ROOT, "Replication under churn (R = %d, %d "
          + "fragments written, one every %d ms during churn): the mean number of live copies "
          + "never fell below %.2f, the minimum below %.0f, and at least %.1f%% of the sampled "
          + "fragments always had R live copies; after settling: mean %.2f, minimum %.0f.",
          factor, written.size(), putEvery, worstMean, worstMin, worstFull * 100, last[1],
          last[2]));
    }
    ctx.traffic(m, "");
  }

  /**
   * Live copies of a sample of the fragments written at least {@code minAge} ago (younger
   * ones may still be on their way to their first holders): mean, minimum, and share with R.
   */
  private static void measureCopies(OverlaySim sim, List<FragmentId> written,
      List<Long> writtenAt, long t, long minAge, int sampleSize, int factor, long t0,
      List<Map<String, Object>> rows, List<double[]> series) {
    List<FragmentId> eligible = new ArrayList<>();
    for (int k = 0; k < written.size(); k++) {
      if (writtenAt.get(k) <= t - minAge) {
        eligible.add(written.get(k));
      }
    }
    if (eligible.isEmpty()) {
      return;
    }
    List<FragmentId> sample = new ArrayList<>();
    double stride = Math.max(1.0, eligible.size() / (double) sampleSize);
    for (double k = 0; k < eligible.size() && sample.size() < sampleSize; k += stride) {
      sample.add(eligible.get((int) k));
    }
    Map<FragmentId, Integer> copies = Replicas.liveCopies(sim, sample);
    int min = Integer.MAX_VALUE;
    long sum = 0;
    int full = 0;
    for (FragmentId id : sample) {
      int n = copies.get(id);
      min = Math.min(min, n);
      sum += n;
      if (n >= factor) {
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
}
