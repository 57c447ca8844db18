package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code mass-failure}: a share of the nodes crashes at once, as in the experiments of
 * Leitao, Pereira and Rodrigues, "HyParView: a membership protocol for reliable gossip-based
 * broadcast" (DSN 2007): the reliability of the broadcasts sent right after the failure,
 * connectivity over time, and the time until the survivors' views hold only live nodes. Each
 * share starts from a fresh network ({@link Cluster#fresh()}: on real nodes, the killed
 * processes restart on their files and rejoin, which also exercises crash recovery).
 */
final class MassFailureScenario implements ClusterScenario {
  @Override
  public void run(Cluster c) {
    ScenarioContext ctx = c.ctx();
    var conf = ctx.config().getConfig("mass-failure");
    double[] fractions = ctx.doubles("mass-failure.fractions");
    int count = conf.getInt("broadcasts");
    long interval = conf.getLong("broadcast-interval-ms");
    long horizon = conf.getLong("heal-horizon-ms");
    long check = conf.getLong("check-interval-ms");
    List<Map<String, Object>> rows = new ArrayList<>();
    List<Map<String, Object>> perMessage = new ArrayList<>();
    List<Plot.Series> reliability = new ArrayList<>();
    List<Plot.Series> largest = new ArrayList<>();
    for (double f : fractions) {
      String pct = Math.round(f * 100) + "%";
      c.fresh();
      long t0 = c.now();
      int[] order = c.graph().shuffledLive(ctx.random("crash " + f));
      int kill = Math.min(order.length - 1, (int) Math.round(order.length * f));
      BitSet killed = new BitSet();
      for (int k = 0; k < kill; k++) {
        killed.set(order[k]);
        c.crash(order[k], c.now());
      }
      c.runUntil(t0, "crash " + pct);
      List<String> labels = new ArrayList<>();
      SplittableRandom origins = ctx.random("origins " + f);
      for (int b = 0; b < count; b++) {
        labels.add(c.broadcast(c.randomLive(origins), t0 + b * interval, "after " + f));
      }
      long oneComponent = -1;
      long healed = -1;
      List<Double> tx = new ArrayList<>();
      List<Double> ty = new ArrayList<>();
      int componentsJustAfter = -1;
      double largestJustAfter = 0;
      for (long dt = 0; dt <= horizon; dt += check) {
        c.runUntil(t0 + dt, "healing " + pct);
        // One reading serves both tests: on real nodes two would be two polls of every node.
        Cluster.ViewReading views = c.readViews();
        GraphStats g = views.graph();
        List<Integer> comps = g.componentSizes();
        double share = comps.isEmpty() ? 0 : comps.get(0) / (double) g.liveNodes();
        if (dt == 0) {
          componentsJustAfter = comps.size();
          largestJustAfter = share;
        }
        tx.add(dt / 1000.0);
        ty.add(share);
        if (oneComponent < 0 && comps.size() == 1) {
          oneComponent = dt;
        }
        if (healed < 0 && comps.size() == 1 && views.unhealed() == 0) {
          healed = dt;
        }
      }
      int live = c.liveCount();
      double[] rel = new double[count];
      double[] bx = new double[count];
      for (int b = 0; b < count; b++) {
        rel[b] = c.reach(labels.get(b)).reached(i -> !killed.get(i)) / (double) live;
        bx[b] = b + 1;
        perMessage.add(Report.row("failed", f, "message", b + 1, "sent at ms", b * interval,
            "reliability", rel[b]));
      }
      String after = c.broadcast(c.randomLive(origins), t0 + horizon + 1, "healed " + f);
      c.runUntil(t0 + horizon + 10_000, "after healing");
      GraphStats g = c.graph();
      rows.add(Report.row(
          "failed", f,
          "crashed", kill,
          "survivors", live,
          "components just after", componentsJustAfter,
          "largest share just after", largestJustAfter,
          "one component after ms", oneComponent,
          "views healed after ms", healed,
          "first message reliability", rel[0],
          "first message: ms to 99% of survivors",
          c.reach(labels.get(0)).timeToReach(live, 0.99),
          "mean reliability", java.util.Arrays.stream(rel).average().orElse(0),
          "reliability after healing", c.reach(after).reached() / (double) c.liveCount(),
          "components at end", g.componentSizes().size(),
          "clustering at end", g.clusteringCoefficient(),
          "mean path at end", g.meanPathLength(50, ctx.random("path"))));
      reliability.add(new Plot.Series(pct + " failed", bx, rel, true));
      largest.add(new Plot.Series(pct + " failed",
          tx.stream().mapToDouble(Double::doubleValue).toArray(),
          ty.stream().mapToDouble(Double::doubleValue).toArray(), true));
      ctx.report().finding(String.format(Locale.ROOT, "%.0f%% crashed at once: the %d survivors "
          + "were %s just after; one component after %s; views free of dead nodes after %s; "
          + "first broadcast after the failure reached %.1f%% of survivors, mean over %d "
          + "broadcasts %.1f%%.", f * 100, live, componentsJustAfter == 1 ? "one component"
          : componentsJustAfter + " components", ms(oneComponent), ms(healed), rel[0] * 100,
          count, java.util.Arrays.stream(rel).average().orElse(0) * 100));
    }
    ctx.report().put("mass failure", rows);
    ctx.report().put("reliability per message after the failure", perMessage);
    ctx.report().plot(new Plot("reliability-after-failure.png", "Broadcast reliability after a "
        + "mass failure (share of survivors reached)", "message number after the failure",
        "reliability", false, false, reliability));
    ctx.report().plot(new Plot("largest-component-over-time.png", "Largest component (share of "
        + "survivors) after the failure", "seconds after the failure", "largest component share",
        false, false, largest));
    c.traffic("last run");
  }

  static String ms(long v) {
    return v < 0 ? "not within the horizon" : v + " ms";
  }
}
