package dev.mycelium.overlay;

/**
 * Lifeguard's local health multiplier (Dadgar et al., "Lifeguard: Local Health Awareness for
 * More Accurate Failure Detection", 2018). A node that misses its own acks and nacks, or has to
 * refute suspicions about itself, is probably the slow one (a GC pause, a saturated link); it
 * then waits longer before blaming others, scaling its probe timeouts by score + 1.
 */
public final class Awareness {
  private final int max;
  private int score;

  public Awareness(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("awareness max must be >= 0, got " + max);
    }
    this.max = max;
  }

  /** Moves the score by delta, clamped to [0, max]. */
  public void apply(int delta) {
    score = Math.max(0, Math.min(max, score + delta));
  }

  public int score() {
    return score;
  }

  /** A timeout stretched by the current health: timeout * (score + 1). */
  public long scale(long timeoutMillis) {
    return timeoutMillis * (score + 1);
  }
}
