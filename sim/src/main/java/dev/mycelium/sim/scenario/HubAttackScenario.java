package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * {@code hub-attack}: the attack of Albert, Jeong and Barabasi, "Error and attack tolerance of
 * complex networks" (Nature 2000): remove the best-connected nodes first, versus at random, and
 * watch the largest connected component. Measured twice: on a frozen snapshot of the views
 * (pure graph percolation, no repair) and on the running network, where the survivors replace
 * lost neighbours from their passive views. Each removal starts from a fresh network.
 */
public final class HubAttackScenario implements ClusterScenario {
  @Override
  public void run(Cluster c) {
    ScenarioContext ctx = c.ctx();
    var conf = ctx.config().getConfig("hub-attack");
    double step = conf.getDouble("step");
    double maxFraction = conf.getDouble("max-fraction");
    double dynamicFraction = conf.getDouble("dynamic-fraction");
    long heal = conf.getLong("dynamic-heal-ms");
    c.fresh();
    GraphStats g = c.graph();
    snapshot(ctx.report(), g, targetOrder(c.knownBy(), g),
        g.shuffledLive(ctx.random("random removal")), step, maxFraction);
    c.traffic("");

    List<Map<String, Object>> dyn = new ArrayList<>();
    for (String mode : List.of("highest degree first", "random")) {
      c.fresh();
      long t0 = c.now();
      GraphStats before = c.graph();
      int[] order = mode.equals("random") ? before.shuffledLive(ctx.random("random removal"))
          : targetOrder(c.knownBy(), before);
      int kill = Math.min(order.length - 1,
          (int) Math.round(dynamicFraction * before.liveNodes()));
      for (int k = 0; k < kill; k++) {
        c.crash(order[k], c.now());
      }
      c.runUntil(t0, "attack " + mode);
      List<Integer> justAfter = c.graph().componentSizes();
      c.runUntil(t0 + heal, "healing " + mode);
      List<Integer> healed = c.graph().componentSizes();
      int live = c.liveCount();
      dyn.add(Report.row("removal", mode, "removed share", dynamicFraction, "removed", kill,
          "largest just after", justAfter.isEmpty() ? 0.0 : justAfter.get(0) / (double) live,
          "components just after", justAfter.size(),
          "largest after healing", healed.isEmpty() ? 0.0 : healed.get(0) / (double) live,
          "components after healing", healed.size(), "healing ms", heal));
    }
    ctx.report().put("attack on the running overlay (share of survivors)", dyn);
    ctx.report().finding(String.format(Locale.ROOT, "On the running %s, after %.0f%% of the"
        + " nodes crashed highest-degree first, the survivors' largest component is %.1f%% of "
        + "them after %d s of repair (random: %.1f%%).", c.simulated() ? "overlay"
        : "real nodes", dynamicFraction * 100,
        ((Double) dyn.get(0).get("largest after healing")) * 100, heal / 1000,
        ((Double) dyn.get(1).get("largest after healing")) * 100));
  }

  /**
   * Removes nodes from a frozen snapshot of the active-view graph in two orders and reports the
   * largest component after each share removed (section "largest component vs removal
   * (snapshot, no repair)", its plot, and a finding). Shared by the simulated and real forms.
   */
  public static void snapshot(Report report, GraphStats g, int[] targeted, int[] random,
      double step, double maxFraction) {
    int live = g.liveNodes();
    int points = (int) Math.floor(maxFraction / step + 1e-9) + 1;
    int[] removed = new int[points];
    double[] fx = new double[points];
    for (int p = 0; p < points; p++) {
      fx[p] = p * step;
      removed[p] = (int) Math.round(fx[p] * live);
    }
    double[] byHubs = g.largestComponentAfterRemoving(targeted, removed);
    double[] byChance = g.largestComponentAfterRemoving(random, removed);
    List<Map<String, Object>> rows = new ArrayList<>();
    double[] survivorsHubs = new double[points];
    double[] survivorsRandom = new double[points];
    for (int p = 0; p < points; p++) {
      double remaining = Math.max(1e-9, 1 - removed[p] / (double) live);
      rows.add(Report.row("removed share", fx[p], "removed", removed[p],
          "largest (hubs first)", byHubs[p], "largest (random)", byChance[p],
          "of survivors (hubs first)", Math.min(1, byHubs[p] / remaining),
          "of survivors (random)", Math.min(1, byChance[p] / remaining)));
      survivorsHubs[p] = Math.min(1, byHubs[p] / remaining);
      survivorsRandom[p] = Math.min(1, byChance[p] / remaining);
    }
    report.put("largest component vs removal (snapshot, no repair)", rows);
    report.plot(new Plot("largest-component-vs-removal.png", "Largest component vs share "
        + "of nodes removed (snapshot of the active-view graph, no repair)", "share removed",
        "largest component (share of the original nodes)", false, false, List.of(
            new Plot.Series("highest degree first", fx, byHubs, true),
            new Plot.Series("random", fx, byChance, true),
            new Plot.Series("share of survivors, highest degree first", fx, survivorsHubs, true),
            new Plot.Series("share of survivors, random", fx, survivorsRandom, true))));
    double collapseHubs = collapse(fx, survivorsHubs);
    double collapseRandom = collapse(fx, survivorsRandom);
    boolean hubsMatter = collapseHubs >= 0 && (collapseRandom < 0
        || collapseHubs < collapseRandom - 0.099);
    report.finding(String.format(Locale.ROOT, "On the frozen graph (no repair) the "
        + "largest component holds less than half of the surviving nodes once %s of the nodes "
        + "are removed highest-degree first, and %s at random. %s", pct(collapseHubs),
        pct(collapseRandom), hubsMatter
            ? "Hubs matter here: removing the best-connected nodes first cuts the graph apart "
            + "far sooner than removing nodes at random, as Albert, Jeong and Barabasi found "
            + "for scale-free networks."
            : "With every node filling its view to the cap the graph is nearly regular, so "
            + "there are no hubs whose loss would shatter it: targeted and random removal do "
            + "about the same damage."));
  }

  /**
   * Attack order: active degree, then how many nodes know the node (what an attacker who
   * crawls views sees), highest first.
   */
  public static int[] targetOrder(int[] known, GraphStats g) {
    int[] deg = new int[known.length];
    int[] liveIdx = g.liveIndexes();
    int[] d = g.degrees();
    for (int k = 0; k < liveIdx.length; k++) {
      deg[liveIdx[k]] = d[k];
    }
    return IntStream.of(liveIdx).boxed().sorted((a, b) -> deg[a] != deg[b] ? deg[b] - deg[a]
        : known[a] != known[b] ? known[b] - known[a] : Integer.compare(a, b))
        .mapToInt(Integer::intValue).toArray();
  }

  static double collapse(double[] x, double[] y) {
    for (int i = 0; i < x.length; i++) {
      if (y[i] < 0.5) {
        return x[i];
      }
    }
    return -1;
  }

  static String pct(double v) {
    return v < 0 ? "more than the largest share tried" : String.format(Locale.ROOT, "%.0f%%",
        v * 100);
  }
}
