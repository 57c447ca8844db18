package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.engine.PowerLawFit;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code growth}: nodes join one at a time; at checkpoints the shape of the overlay is
 * measured as the HyParView and Barabasi-Albert papers do (degree distribution with a
 * maximum-likelihood power-law fit, clustering coefficient, mean path length), for the active
 * view graph (the links gossip uses, capped) and for the "known by" graph (active plus passive
 * views, where preferential attachment shows).
 */
final class GrowthScenario implements Scenario {
  @Override
  public void run(ScenarioContext ctx) {
    OverlaySim sim = ctx.newSim();
    Metrics m = new Metrics(sim);
    long interval = ctx.config().getLong("grow.join-interval-ms");
    long settle = ctx.config().getLong("grow.settle-ms");
    int checkpoints = ctx.config().getInt("growth.checkpoints");
    int sources = ctx.config().getInt("growth.path-sources");
    int n = ctx.nodes();
    sim.growAll(0, interval);
    List<Map<String, Object>> steps = new ArrayList<>();
    GraphStats last = null;
    int[] lastKnown = null;
    for (int c = 1; c <= checkpoints; c++) {
      int joined = (int) Math.round(n * (double) c / checkpoints);
      long t = joined * interval + (c == checkpoints ? settle : 0);
      ctx.run(sim, t, "growing " + joined);
      GraphStats g = GraphStats.of(sim);
      int[] known = GraphStats.knownBy(sim);
      PowerLawFit fit = PowerLawFit.fit(g.degrees());
      PowerLawFit knownFit = PowerLawFit.fit(liveOnly(sim, known));
      List<Integer> comps = g.componentSizes();
      steps.add(Report.row(
          "joined", joined,
          "time s", t / 1000.0,
          "components", comps.size(),
          "largest", comps.isEmpty() ? 0 : comps.get(0),
          "mean degree", mean(g.degrees()),
          "max degree", g.maxDegree(),
          "clustering", g.clusteringCoefficient(),
          "mean path", g.meanPathLength(sources, ctx.random("path" + c)),
          "alpha (active)", fit.alpha(),
          "xmin (active)", fit.xmin(),
          "alpha (known-by)", knownFit.alpha(),
          "xmin (known-by)", knownFit.xmin(),
          "max known-by", max(liveOnly(sim, known))));
      last = g;
      lastKnown = liveOnly(sim, known);
      if (c == checkpoints) {
        ctx.measureMemory();
      }
    }
    ctx.report().put("per step", steps);
    PowerLawFit fit = PowerLawFit.fit(last.degrees());
    PowerLawFit knownFit = PowerLawFit.fit(lastKnown);
    ctx.report().put("final degree distribution (active views)", histogram(last.degrees()));
    ctx.report().put("final known-by distribution (active + passive views)",
        histogram(lastKnown));
    ctx.report().put("power-law fits (Clauset-Shalizi-Newman MLE)", List.of(
        fitRow("active view degree", fit), fitRow("known-by (in-degree over all views)",
            knownFit)));
    ctx.report().plot(degreePlot("degree-distribution.png", "Active-view degree distribution "
        + "(log-log) with ML power-law fit", last.degrees(), fit));
    ctx.report().plot(degreePlot("known-by-distribution.png", "Known-by distribution (active +"
        + " passive views, log-log) with ML power-law fit", lastKnown, knownFit));
    int cap = sim.config().activeViewSize();
    ctx.report().finding(String.format(java.util.Locale.ROOT, "Active views are capped at %d, "
        + "so active degrees lie in 1..%d (mean %.2f): the cap is what keeps hubs from growing "
        + "without bound, and it leaves no heavy tail to fit (fit: %s).", cap, cap,
        mean(last.degrees()), describe(fit)));
    ctx.report().finding(String.format(java.util.Locale.ROOT, "How many nodes know a node "
        + "(active + passive views) ranges up to %d (mean %.1f); fit: %s. %s", max(lastKnown),
        mean(lastKnown), describe(knownFit), scaleFree(knownFit)
            ? "That is in the scale-free range (2 < alpha < 3.5)."
            : "That is not a scale-free distribution: random-walk joins favour well-connected"
            + " nodes, but shuffles and uniform passive-view sampling spread knowledge evenly, "
            + "so the tail is far thinner than preferential attachment alone would give."));
    List<Integer> comps = last.componentSizes();
    ctx.report().finding(comps.size() == 1 ? "The overlay is one connected component of "
        + comps.get(0) + " nodes after growth." : "The overlay is split into " + comps.size()
        + " components after growth (largest " + comps.get(0) + ").");
    ctx.traffic(m, "");
  }

  static String describe(PowerLawFit f) {
    if (Double.isNaN(f.alpha())) {
      return "too few distinct values above any xmin to fit";
    }
    return String.format(java.util.Locale.ROOT, "alpha %.2f +/- %.2f from xmin %d, %d nodes in "
        + "the tail, KS distance %.3f%s", f.alpha(), f.sigma(), f.xmin(), f.tail(), f.ks(),
        f.alpha() >= PowerLawFit.MAX_ALPHA - 0.01 ? " (at the search bound: no power law)" : "");
  }

  static boolean scaleFree(PowerLawFit f) {
    return f.alpha() > 2 && f.alpha() < 3.5 && f.ks() < 0.1;
  }

  static int[] liveOnly(OverlaySim sim, int[] perNode) {
    return java.util.stream.IntStream.range(0, sim.size()).filter(sim::isLive)
        .map(i -> perNode[i]).toArray();
  }

  static Map<String, Object> fitRow(String what, PowerLawFit f) {
    return Report.row("distribution", what, "alpha", f.alpha(), "sigma", f.sigma(),
        "xmin", f.xmin(), "tail", f.tail(), "KS distance", f.ks());
  }

  static List<Map<String, Object>> histogram(int[] values) {
    SortedMap<Integer, Integer> h = new TreeMap<>();
    for (int v : values) {
      h.merge(v, 1, Integer::sum);
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    h.forEach((k, v) -> rows.add(Report.row("degree", k, "nodes", v)));
    return rows;
  }

  static Plot degreePlot(String file, String title, int[] values, PowerLawFit fit) {
    SortedMap<Integer, Integer> h = new TreeMap<>();
    for (int v : values) {
      h.merge(v, 1, Integer::sum);
    }
    double total = values.length;
    double[] x = h.keySet().stream().mapToDouble(Integer::doubleValue).toArray();
    double[] y = h.values().stream().mapToDouble(v -> v / total).toArray();
    List<Plot.Series> series = new ArrayList<>();
    series.add(new Plot.Series("measured P(k)", x, y, false));
    if (!Double.isNaN(fit.alpha()) && x.length > 0) {
      // The fit describes the tail k >= xmin, which holds tail/total of the nodes.
      double z = 0;
      int maxK = (int) x[x.length - 1];
      for (int k = fit.xmin(); k <= maxK * 4; k++) {
        z += Math.pow(k, -fit.alpha());
      }
      int pts = Math.max(2, maxK - fit.xmin() + 1);
      double[] fx = new double[pts];
      double[] fy = new double[pts];
      for (int i = 0; i < pts; i++) {
        double k = fit.xmin() + (maxK - fit.xmin()) * (double) i / (pts - 1);
        fx[i] = k;
        fy[i] = fit.tail() / total * Math.pow(k, -fit.alpha()) / z;
      }
      series.add(new Plot.Series(String.format(java.util.Locale.ROOT, "fit alpha=%.2f, "
          + "xmin=%d", fit.alpha(), fit.xmin()), fx, fy, true));
    }
    return new Plot(file, title, "degree k", "share of nodes P(k)", true, true, series);
  }

  static double mean(int[] v) {
    double s = 0;
    for (int x : v) {
      s += x;
    }
    return v.length == 0 ? 0 : s / v.length;
  }

  static int max(int[] v) {
    int m = 0;
    for (int x : v) {
      m = Math.max(m, x);
    }
    return m;
  }
}
