package dev.mycelium.sim.engine;

import java.util.Arrays;

/**
 * Fits a discrete power law p(x) ~ x^-alpha for x >= xmin to integer data (degrees) by maximum
 * likelihood, as Clauset, Shalizi and Newman, "Power-law distributions in empirical data"
 * (SIAM Review 51(4), 2009) prescribe: for each candidate xmin, alpha maximizes the discrete
 * likelihood (normalized by the Hurwitz zeta function), and xmin is the one whose fit has the
 * smallest Kolmogorov-Smirnov distance to the data. Least squares on a log-log histogram,
 * the common shortcut, is biased; this is why the fit is done this way.
 *
 * @param alpha the fitted exponent (NaN if there were too few points)
 * @param xmin the smallest value the power law is fitted to
 * @param tail how many data points are >= xmin
 * @param ks the Kolmogorov-Smirnov distance between fit and data above xmin
 * @param sigma the standard error of alpha, (alpha - 1) / sqrt(tail)
 */
public record PowerLawFit(double alpha, int xmin, int tail, double ks, double sigma) {
  /** Fewest points above xmin that we fit to; fewer give no meaningful exponent. */
  public static final int MIN_TAIL = 10;

  /**
   * The largest exponent searched. A fit at this bound means the data fall off faster than
   * any power law that matters (a narrow, e.g. capped or Poisson-like, distribution).
   */
  public static final double MAX_ALPHA = 20;

  /** Fits the data; values below 1 are ignored (a power law has no zero). */
  public static PowerLawFit fit(int[] data) {
    int[] x = Arrays.stream(data).filter(v -> v >= 1).sorted().toArray();
    PowerLawFit best = new PowerLawFit(Double.NaN, 0, 0, Double.NaN, Double.NaN);
    int[] candidates = Arrays.stream(x).distinct().toArray();
    for (int xmin : candidates) {
      int from = lowerBound(x, xmin);
      int n = x.length - from;
      // A tail of a handful of points, or of two or fewer distinct values, fits any
      // exponent; Clauset et al. warn against such fits, so they are not candidates.
      if (n < Math.max(MIN_TAIL, x.length / 20) || distinct(x, from) < 3) {
        continue;
      }
      double sumLog = 0;
      for (int i = from; i < x.length; i++) {
        sumLog += Math.log(x[i]);
      }
      double alpha = maximize(n, sumLog, xmin);
      double d = ks(x, from, xmin, alpha);
      if (Double.isNaN(best.ks()) || d < best.ks()) {
        best = new PowerLawFit(alpha, xmin, n, d, (alpha - 1) / Math.sqrt(n));
      }
    }
    return best;
  }

  /** Golden-section search of the log-likelihood -n ln zeta(a, xmin) - a sum ln x. */
  private static double maximize(int n, double sumLog, int xmin) {
    double lo = 1.0001;
    double hi = MAX_ALPHA;
    double g = (Math.sqrt(5) - 1) / 2;
    double c = hi - g * (hi - lo);
    double d = lo + g * (hi - lo);
    double fc = logLikelihood(n, sumLog, xmin, c);
    double fd = logLikelihood(n, sumLog, xmin, d);
    for (int it = 0; it < 80; it++) {
      if (fc > fd) {
        hi = d;
        d = c;
        fd = fc;
        c = hi - g * (hi - lo);
        fc = logLikelihood(n, sumLog, xmin, c);
      } else {
        lo = c;
        c = d;
        fc = fd;
        d = lo + g * (hi - lo);
        fd = logLikelihood(n, sumLog, xmin, d);
      }
    }
    return (lo + hi) / 2;
  }

  private static double logLikelihood(int n, double sumLog, int xmin, double a) {
    return -n * Math.log(hurwitzZeta(a, xmin)) - a * sumLog;
  }

  private static double ks(int[] x, int from, int xmin, double alpha) {
    int n = x.length - from;
    double z = hurwitzZeta(alpha, xmin);
    double max = 0;
    int i = from;
    while (i < x.length) {
      int v = x[i];
      int j = i;
      while (j < x.length && x[j] == v) {
        j++;
      }
      double empirical = (j - from) / (double) n;
      double model = 1 - hurwitzZeta(alpha, v + 1.0) / z;
      max = Math.max(max, Math.abs(empirical - model));
      i = j;
    }
    return max;
  }

  /**
   * The Hurwitz zeta function sum over k >= 0 of (q + k)^-s for s > 1: a direct sum of the
   * first terms and an Euler-Maclaurin estimate of the rest (error far below what the fit
   * needs).
   */
  static double hurwitzZeta(double s, double q) {
    int m = 64;
    double sum = 0;
    for (int k = 0; k < m; k++) {
      sum += Math.pow(q + k, -s);
    }
    double a = q + m;
    sum += Math.pow(a, 1 - s) / (s - 1) + 0.5 * Math.pow(a, -s)
        + s / 12.0 * Math.pow(a, -s - 1)
        - s * (s + 1) * (s + 2) / 720.0 * Math.pow(a, -s - 3);
    return sum;
  }

  private static int distinct(int[] sorted, int from) {
    int d = 0;
    for (int i = from; i < sorted.length; i++) {
      if (i == from || sorted[i] != sorted[i - 1]) {
        d++;
      }
    }
    return d;
  }

  private static int lowerBound(int[] sorted, int value) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < value) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
}
