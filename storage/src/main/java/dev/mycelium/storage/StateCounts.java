package dev.mycelium.storage;

import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.StoreStats;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * A store's bookkeeping of what it holds: entries per {@link FragmentState}, the slots reserved
 * against its capacity, and the hash failures found. Shared by the fragment store and the
 * replica stores, so that they count, refuse a full store and report in one way.
 *
 * <p>Slots are reserved before a write and released when it does not insert, so two racing
 * inserts cannot both take the last slot; the counts by state follow the entries written.
 */
public final class StateCounts {
  private static final FragmentState[] STATES = FragmentState.values();

  private final String what;
  private final long capacityEntries;
  private final String capacityKey;
  private final AtomicLong[] counts = new AtomicLong[STATES.length];
  private final AtomicLong reserved = new AtomicLong();
  private final AtomicLong blankDetections = new AtomicLong();

  /**
   * Counts for a store that holds at most {@code capacityEntries} IDs.
   *
   * @param what the store's name in messages ("fragment store")
   * @param capacityKey the setting that bounds it, named when it is full
   * @throws IllegalArgumentException when the capacity is below 1
   */
  public StateCounts(String what, long capacityEntries, String capacityKey) {
    if (capacityEntries < 1) {
      throw new IllegalArgumentException(capacityKey + " must be at least 1, got "
          + capacityEntries);
    }
    this.what = what;
    this.capacityEntries = capacityEntries;
    this.capacityKey = capacityKey;
    for (int i = 0; i < counts.length; i++) {
      counts[i] = new AtomicLong();
    }
  }

  /** Most IDs the store holds. */
  public long capacityEntries() {
    return capacityEntries;
  }

  /** Entries in one state. */
  public long get(FragmentState state) {
    return counts[state.ordinal()].get();
  }

  /** Counts one more entry in {@code state}, written in a slot already reserved. */
  public void add(FragmentState state) {
    counts[state.ordinal()].incrementAndGet();
  }

  /** Counts an entry found at open in {@code state}, and takes its slot. */
  public void addFound(FragmentState state) {
    add(state);
    reserved.incrementAndGet();
  }

  /** Forgets an entry in {@code state} that was removed, and frees its slot. */
  public void removed(FragmentState state) {
    counts[state.ordinal()].decrementAndGet();
    reserved.decrementAndGet();
  }

  /** Moves one entry from one state to another. */
  public void transition(FragmentState from, FragmentState to) {
    if (from != to) {
      counts[from.ordinal()].decrementAndGet();
      counts[to.ordinal()].incrementAndGet();
    }
  }

  /** Sets every count (indexed by state ordinal) and the slots taken, as found at open. */
  public void restore(long[] byState) {
    long total = 0;
    for (int i = 0; i < byState.length; i++) {
      counts[i].set(byState[i]);
      total += byState[i];
    }
    reserved.set(total);
  }

  /** Counts one hash failure found (by a read or the scrubber). */
  public void blankDetected() {
    blankDetections.incrementAndGet();
  }

  /**
   * Reserves a slot and runs {@code write}, releasing the slot when it does not insert.
   *
   * @return the slots taken counting this one when {@code write} inserted, or 0 when it did not
   * @throws StoreFullException when no slot is left; nothing is written
   */
  public long insert(BooleanSupplier write) {
    long now = reserved.incrementAndGet();
    if (now > capacityEntries) {
      reserved.decrementAndGet();
      throw full(null);
    }
    boolean inserted = false;
    try {
      inserted = write.getAsBoolean();
    } finally {
      if (!inserted) {
        reserved.decrementAndGet();
      }
    }
    return inserted ? now : 0;
  }

  /** The refusal of a write that no longer fits, naming the setting to raise. */
  public StoreFullException full(RuntimeException cause) {
    StoreFullException e = new StoreFullException("the " + what + " is full (" + total()
        + " of " + capacityEntries + " entries); raise " + capacityKey
        + (cause == null ? "" : " (the map refused the write: " + cause.getMessage() + ")"));
    if (cause != null) {
      e.initCause(cause);
    }
    return e;
  }

  /** Entries in every state together. */
  public long total() {
    long total = 0;
    for (AtomicLong c : counts) {
      total += c.get();
    }
    return total;
  }

  /** The counts, capacity and hash failures, as the store reports them. */
  public StoreStats stats() {
    Map<FragmentState, Long> byState = new EnumMap<>(FragmentState.class);
    for (FragmentState s : STATES) {
      byState.put(s, get(s));
    }
    return new StoreStats(Map.copyOf(byState), total(), capacityEntries, blankDetections.get());
  }

  /** "state n, state n, ..." in state order, for the clean-close marker and logs. */
  public String text() {
    StringBuilder sb = new StringBuilder();
    for (FragmentState s : STATES) {
      sb.append(sb.length() == 0 ? "" : ", ").append(s.name().toLowerCase(Locale.ROOT))
          .append(' ').append(get(s));
    }
    return sb.toString();
  }
}
