package dev.mycelium.node.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on stderr, redrawn in place with a carriage return, so that a long
 * import shows how far it got without flooding the terminal or mixing with stdout (which a
 * script may be parsing). It redraws at most every 100 ms.
 */
public final class ProgressBar {
  private static final int WIDTH = 30;
  private static final long REDRAW_NANOS = 100_000_000L;

  private final PrintWriter err;
  private final long total;
  private final boolean enabled;
  private final long startNanos = System.nanoTime();
  private long lastDraw;
  private int lastLength;

  /** A bar over {@code total} items (0 or less: unknown); draws nothing unless enabled. */
  public ProgressBar(PrintWriter err, long total, boolean enabled) {
    this.err = err;
    this.total = total;
    this.enabled = enabled;
  }

  /** Shows {@code done} items done, {@code failed} of them failed. */
  public void update(long done, long failed, boolean force) {
    if (due(force)) {
      draw(render(done, failed, (lastDraw - startNanos) / 1e9));
    }
  }

  /**
   * Shows a caller-made status line instead of the item bar, for runs whose progress is not a
   * count of items (the simulator shows simulated time and events per second).
   */
  public void text(String line, boolean force) {
    if (due(force)) {
      draw(line);
    }
  }

  /** Whether to draw now (enabled, and forced or the last draw is old enough); marks the draw. */
  private boolean due(boolean force) {
    if (!enabled) {
      return false;
    }
    long now = System.nanoTime();
    if (!force && now - lastDraw < REDRAW_NANOS) {
      return false;
    }
    lastDraw = now;
    return true;
  }

  /** Draws {@code line} over the last one, blanking what the last one had beyond it. */
  private void draw(String line) {
    int pad = Math.max(0, lastLength - line.length());
    err.print("\r" + line + " ".repeat(pad));
    err.flush();
    lastLength = line.length();
  }

  /** Ends the bar's line so that what follows starts on a fresh one. */
  public void finish() {
    if (enabled && lastLength > 0) {
      err.println();
      err.flush();
    }
  }

  /** The bar's text for a state; visible for tests. */
  String render(long done, long failed, double seconds) {
    double rate = seconds > 0 ? done / seconds : 0;
    StringBuilder sb = new StringBuilder();
    if (total > 0) {
      double frac = Math.min(1.0, (double) done / total);
      int filled = (int) Math.round(frac * WIDTH);
      sb.append('[')
          .append("#".repeat(filled))
          .append(".".repeat(WIDTH - filled))
          .append("] ")
          .append(done)
          .append('/')
          .append(total)
          .append(String.format(Locale.ROOT, " %3.0f%%", frac * 100));
    } else {
      sb.append(done).append(" done");
    }
    sb.append(String.format(Locale.ROOT, "  %.0f/s", rate));
    if (failed > 0) {
      sb.append("  ").append(failed).append(" failed");
    }
    return sb.toString();
  }
}
