package dev.mycelium.sim.real;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.engine.PowerLawFit;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.Degrees;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code growth} on real nodes: processes join one at a time through random earlier nodes; at
 * each checkpoint the active-view graph the nodes report is measured as the simulated form
 * measures it (degree distribution with a maximum-likelihood power-law fit, clustering
 * coefficient, mean path length, and the known-by distribution over both views).
 */
final class RealGrowth implements RealScenario {
  @Override
  public void run(RealContext ctx) {
    int n = ctx.nodes();
    int checkpoints = Math.min(n, ctx.config().getInt("growth.checkpoints"));
    int sources = ctx.config().getInt("growth.path-sources");
    List<Map<String, Object>> steps = new ArrayList<>();
    List<Integer> marks = new ArrayList<>();
    for (int c = 1; c <= checkpoints; c++) {
      marks.add((int) Math.round(n * (double) c / checkpoints));
    }
    ctx.growTo(n, joined -> {
      if (marks.contains(joined) && joined < n) {
        steps.add(step(ctx, joined, sources));
      }
    });
    ctx.sleep(ctx.config().getLong("real.settle-ms"), "settling");
    steps.add(step(ctx, n, sources));
    ctx.report().put("per step", steps);
    GraphStats last = ctx.net().graph();
    int[] known = liveOnly(ctx.net().knownBy(), ctx.net().up());
    PowerLawFit[] fits = Degrees.report(ctx.report(), last.degrees(), known,
        " of real nodes");
    PowerLawFit fit = fits[0];
    PowerLawFit knownFit = fits[1];
    ctx.report().finding(String.format(Locale.ROOT, "Active-view degrees of the %d real nodes"
        + " after growth: mean %.2f, max %d; fit: %s.", n, Degrees.mean(last.degrees()),
        last.maxDegree(), Degrees.describe(fit)));
    ctx.report().finding(String.format(Locale.ROOT, "Known-by (active + passive views): up "
        + "to %d, mean %.1f; fit: %s.", Degrees.max(known), Degrees.mean(known),
        Degrees.describe(knownFit)));
    List<Integer> comps = last.componentSizes();
    ctx.report().finding(comps.size() == 1 ? "The real nodes form one connected component of "
        + comps.get(0) + " after growth." : "The real nodes are split into " + comps.size()
        + " components after growth (largest " + comps.get(0) + ").");
    ctx.traffic("");
  }

  private static Map<String, Object> step(RealContext ctx, int joined, int sources) {
    GraphStats g = ctx.net().graph();
    int[] known = liveOnly(ctx.net().knownBy(), ctx.net().up());
    PowerLawFit fit = PowerLawFit.fit(g.degrees());
    PowerLawFit knownFit = PowerLawFit.fit(known);
    List<Integer> comps = g.componentSizes();
    return Report.row(
        "joined", joined,
        "time s", ctx.net().millis() / 1000.0,
        "components", comps.size(),
        "largest", comps.isEmpty() ? 0 : comps.get(0),
        "mean degree", Degrees.mean(g.degrees()),
        "max degree", g.maxDegree(),
        "clustering", g.clusteringCoefficient(),
        "mean path", g.meanPathLength(sources, ctx.random("path" + joined)),
        "alpha (active)", fit.alpha(),
        "xmin (active)", fit.xmin(),
        "alpha (known-by)", knownFit.alpha(),
        "xmin (known-by)", knownFit.xmin(),
        "max known-by", Degrees.max(known));
  }

  static int[] liveOnly(int[] perNode, BitSet live) {
    return live.stream().filter(i -> i < perNode.length).map(i -> perNode[i]).toArray();
  }
}
