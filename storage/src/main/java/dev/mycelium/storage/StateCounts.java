package dev.mycelium.storage;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Readings of a store's per-state entry counters (one {@link AtomicLong} per
 * {@link FragmentState}, indexed by ordinal), shared by the fragment store and the replica store
 * so their clean-close markers and logs say the same thing the same way.
 */
public final class StateCounts {
  private static final FragmentState[] STATES = FragmentState.values();

  private StateCounts() {}

  /** Entries in every state together. */
  public static long total(AtomicLong[] counts) {
    long total = 0;
    for (AtomicLong c : counts) {
      total += c.get();
    }
    return total;
  }

  /** "state n, state n, ..." in state order, for the clean-close marker and logs. */
  public static String text(AtomicLong[] counts) {
    StringBuilder sb = new StringBuilder();
    for (FragmentState s : STATES) {
      sb.append(sb.length() == 0 ? "" : ", ").append(s.name().toLowerCase(Locale.ROOT))
          .append(' ').append(counts[s.ordinal()].get());
    }
    return sb.toString();
  }
}
