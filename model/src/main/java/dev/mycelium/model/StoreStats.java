package dev.mycelium.model;

import java.util.Map;

/**
 * A snapshot of a store's contents and use.
 *
 * @param byState number of fragments in each state
 * @param entries entries in use
 * @param capacityEntries entries the store is sized for
 * @param blankDetections hash failures found since start (reads and scrubber)
 */
public record StoreStats(
    Map<FragmentState, Long> byState, long entries, long capacityEntries, long blankDetections) {

  /** Share of the capacity in use, 0 to 1. */
  public double fillRatio() {
    return capacityEntries == 0 ? 0 : (double) entries / capacityEntries;
  }
}
