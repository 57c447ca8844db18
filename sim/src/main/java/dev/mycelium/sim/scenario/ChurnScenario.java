package dev.mycelium.sim.scenario;

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
 * churn. (Replication factor under churn needs the replication core, which this simulator
 * does not drive yet.)
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
    OverlaySim sim = ctx.newSim();
    Metrics m = new Metrics(sim);
    long t0 = ctx.grow(sim);
    SplittableRandom pick = ctx.random("churn");
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
    ctx.report().finding("Replication factor over time is not measured: the replication core "
        + "is not driven by the simulator yet.");
    ctx.traffic(m, "");
  }
}
