package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A suspicion timer that shrinks as independent confirmations arrive (Lifeguard's dynamic
 * suspicion, as in memberlist's {@code suspicion.go}). It starts at the maximum so that a lone
 * suspicion from a node with a bad link cannot kill a healthy peer quickly, and reaches the
 * minimum after {@code k} other nodes agree:
 * {@code timeout = max(min, max - (max - min) * log(c + 1) / log(k + 1))}.
 */
public final class Suspicion {
  private final long start;
  private final long minMillis;
  private final long maxMillis;
  private final int k;
  private final Set<NodeId> confirmers = new LinkedHashSet<>();

  /**
   * @param first the node whose suspicion started this timer (not counted as a confirmation)
   */
  public Suspicion(long start, long minMillis, long maxMillis, int k, NodeId first) {
    if (minMillis <= 0 || maxMillis < minMillis || k < 1) {
      throw new IllegalArgumentException(
          "suspicion needs 0 < min <= max and k >= 1, got " + minMillis + ", " + maxMillis + ", " + k);
    }
    this.start = start;
    this.minMillis = minMillis;
    this.maxMillis = maxMillis;
    this.k = k;
    confirmers.add(first);
  }

  /** Counts one more independent suspecter; returns false if it was already counted. */
  public boolean confirm(NodeId from) {
    return confirmers.add(from);
  }

  /** Confirmations beyond the first suspecter. */
  public int confirmations() {
    return confirmers.size() - 1;
  }

  /** The current timeout for a given number of confirmations (the formula above). */
  public static long timeout(long minMillis, long maxMillis, int k, int confirmations) {
    double frac = Math.log(confirmations + 1.0) / Math.log(k + 1.0);
    long t = (long) Math.floor(maxMillis - frac * (maxMillis - minMillis));
    return Math.max(minMillis, t);
  }

  /** When the suspect is declared dead, stretched by the local health multiplier. */
  public long deadline(Awareness health) {
    return start + health.scale(timeout(minMillis, maxMillis, k, confirmations()));
  }

  public long start() {
    return start;
  }
}
