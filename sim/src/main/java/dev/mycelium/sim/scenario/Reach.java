package dev.mycelium.sim.scenario;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * When each node first had one broadcast, in milliseconds after it was sent (-1: not yet), as
 * a {@link Cluster} observed it. On a simulated network the times are exact deliveries; on
 * real nodes they are the first poll that found the fragment, so upper bounds.
 *
 * @param sent whether the broadcast left its origin (a real put can fail to answer in time)
 * @param firstSeen by node index
 */
public record Reach(boolean sent, long[] firstSeen) {
  /** Nodes that had it. */
  public int reached() {
    return reached(i -> true);
  }

  /** Nodes in {@code which} that had it. */
  public int reached(IntPredicate which) {
    int n = 0;
    for (int i = 0; i < firstSeen.length; i++) {
      if (firstSeen[i] >= 0 && which.test(i)) {
        n++;
      }
    }
    return n;
  }

  /** Milliseconds until {@code share} of {@code population} had it, or -1 if never. */
  public long timeToReach(int population, double share) {
    int needed = (int) Math.ceil(population * share - 1e-9);
    if (needed <= 0) {
      return 0;
    }
    long[] t = sortedTimes();
    return t.length < needed ? -1 : t[needed - 1];
  }

  /**
   * Share of {@code population} that had it at each of {@code steps} times
   * {@code stepMillis} apart from the send.
   */
  public double[] curve(int population, long stepMillis, int steps) {
    double[] out = new double[steps];
    long[] t = sortedTimes();
    int k = 0;
    for (int s = 0; s < steps; s++) {
      while (k < t.length && t[k] <= s * stepMillis) {
        k++;
      }
      out[s] = population == 0 ? 0 : Math.min(1.0, k / (double) population);
    }
    return out;
  }

  private long[] sortedTimes() {
    return Arrays.stream(firstSeen).filter(x -> x >= 0).sorted().toArray();
  }
}
