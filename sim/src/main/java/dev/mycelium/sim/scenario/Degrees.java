package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.PowerLawFit;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How a degree distribution is reported, by simulated and real runs alike: a histogram, a
 * log-log plot with the Clauset-Shalizi-Newman maximum-likelihood power-law fit ("Power-law
 * distributions in empirical data", SIAM Review 2009), and words for the fit.
 */
public final class Degrees {
  private Degrees() {}

  public static String describe(PowerLawFit f) {
    if (Double.isNaN(f.alpha())) {
      return "too few distinct values above any xmin to fit";
    }
    return String.format(java.util.Locale.ROOT, "alpha %.2f +/- %.2f from xmin %d, %d nodes in "
        + "the tail, KS distance %.3f%s", f.alpha(), f.sigma(), f.xmin(), f.tail(), f.ks(),
        f.alpha() >= PowerLawFit.MAX_ALPHA - 0.01 ? " (at the search bound: no power law)" : "");
  }

  public static boolean scaleFree(PowerLawFit f) {
    return f.alpha() > 2 && f.alpha() < 3.5 && f.ks() < 0.1;
  }

  public static Map<String, Object> fitRow(String what, PowerLawFit f) {
    return Report.row("distribution", what, "alpha", f.alpha(), "sigma", f.sigma(),
        "xmin", f.xmin(), "tail", f.tail(), "KS distance", f.ks());
  }

  public static List<Map<String, Object>> histogram(int[] values) {
    SortedMap<Integer, Integer> h = new TreeMap<>();
    for (int v : values) {
      h.merge(v, 1, Integer::sum);
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    h.forEach((k, v) -> rows.add(Report.row("degree", k, "nodes", v)));
    return rows;
  }

  public static Plot degreePlot(String file, String title, int[] values, PowerLawFit fit) {
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

  public static double mean(int[] v) {
    double s = 0;
    for (int x : v) {
      s += x;
    }
    return v.length == 0 ? 0 : s / v.length;
  }

  public static int max(int[] v) {
    int m = 0;
    for (int x : v) {
      m = Math.max(m, x);
    }
    return m;
  }

  /**
   * The final shape of a grown network: both distributions as tables, their power-law fits
   * and log-log plots ({@code degree-distribution.png}, {@code known-by-distribution.png}).
   *
   * @param of words after "distribution" in the plot titles, e.g. "" or " of real nodes"
   * @return the two fits, active degree first
   */
  public static PowerLawFit[] report(Report report, int[] degrees, int[] knownBy, String of) {
    PowerLawFit fit = PowerLawFit.fit(degrees);
    PowerLawFit knownFit = PowerLawFit.fit(knownBy);
    report.put("final degree distribution (active views)", histogram(degrees));
    report.put("final known-by distribution (active + passive views)", histogram(knownBy));
    report.put("power-law fits (Clauset-Shalizi-Newman MLE)", List.of(
        fitRow("active view degree", fit),
        fitRow("known-by (in-degree over all views)", knownFit)));
    report.plot(degreePlot("degree-distribution.png", "Active-view degree distribution" + of
        + " (log-log) with ML power-law fit", degrees, fit));
    report.plot(degreePlot("known-by-distribution.png", "Known-by distribution" + of
        + " (active + passive views, log-log) with ML power-law fit", knownBy, knownFit));
    return new PowerLawFit[] {fit, knownFit};
  }
}
