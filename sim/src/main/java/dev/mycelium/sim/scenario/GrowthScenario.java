package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.engine.PowerLawFit;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code growth}: nodes join one at a time; at checkpoints the shape of the overlay is
 * measured as the HyParView and Barabasi-Albert papers do (degree distribution with a
 * maximum-likelihood power-law fit, clustering coefficient, mean path length), for the active
 * view graph (the links gossip uses, capped) and for the "known by" graph (active plus passive
 * views, where preferential attachment shows).
 */
final class GrowthScenario implements ClusterScenario {
  @Override
  public void run(Cluster c) {
    ScenarioContext ctx = c.ctx();
    int checkpoints = Math.min(ctx.nodes(), ctx.config().getInt("growth.checkpoints"));
    int sources = ctx.config().getInt("growth.path-sources");
    List<Map<String, Object>> steps = new ArrayList<>();
    c.growWithCheckpoints(checkpoints, joined -> {
      GraphStats g = c.graph();
      int[] known = c.knownByLive();
      PowerLawFit fit = PowerLawFit.fit(g.degrees());
      PowerLawFit knownFit = PowerLawFit.fit(known);
      List<Integer> comps = g.componentSizes();
      steps.add(Report.row(
          "joined", joined,
          "time s", c.now() / 1000.0,
          "components", comps.size(),
          "largest", comps.isEmpty() ? 0 : comps.get(0),
          "mean degree", Degrees.mean(g.degrees()),
          "max degree", g.maxDegree(),
          "clustering", g.clusteringCoefficient(),
          "mean path", g.meanPathLength(sources, ctx.random("path" + (steps.size() + 1))),
          "alpha (active)", fit.alpha(),
          "xmin (active)", fit.xmin(),
          "alpha (known-by)", knownFit.alpha(),
          "xmin (known-by)", knownFit.xmin(),
          "max known-by", Degrees.max(known)));
    });
    c.measureMemory();
    ctx.report().put("per step", steps);
    GraphStats last = c.graph();
    int[] lastKnown = c.knownByLive();
    String of = c.simulated() ? "" : " of real nodes";
    PowerLawFit[] fits = Degrees.report(ctx.report(), last.degrees(), lastKnown, of);
    PowerLawFit fit = fits[0];
    PowerLawFit knownFit = fits[1];
    int cap = ctx.overlay().activeViewSize();
    ctx.report().finding(String.format(java.util.Locale.ROOT, "Active views are capped at %d, "
        + "so active degrees lie in 1..%d (mean %.2f, max %d): the cap is what keeps hubs from "
        + "growing without bound, and it leaves no heavy tail to fit (fit: %s).", cap, cap,
        Degrees.mean(last.degrees()), last.maxDegree(), Degrees.describe(fit)));
    ctx.report().finding(String.format(java.util.Locale.ROOT, "How many nodes know a node "
        + "(active + passive views) ranges up to %d (mean %.1f); fit: %s. %s",
        Degrees.max(lastKnown),
        Degrees.mean(lastKnown), Degrees.describe(knownFit), Degrees.scaleFree(knownFit)
            ? "That is in the scale-free range (2 < alpha < 3.5)."
            : "That is not a scale-free distribution: random-walk joins favour well-connected"
            + " nodes, but shuffles and uniform passive-view sampling spread knowledge evenly, "
            + "so the tail is far thinner than preferential attachment alone would give."));
    List<Integer> comps = last.componentSizes();
    ctx.report().finding(comps.size() == 1 ? "The overlay is one connected component of "
        + comps.get(0) + " nodes after growth." : "The overlay is split into " + comps.size()
        + " components after growth (largest " + comps.get(0) + ").");
    c.traffic("");
  }
}
