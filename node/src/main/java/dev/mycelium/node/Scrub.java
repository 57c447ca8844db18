package dev.mycelium.node;

import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.FragmentId;
import dev.mycelium.storage.FragmentState;
import dev.mycelium.storage.FragmentStore;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the background integrity walk (the beacon) at a bounded rate: every step checks a
 * tenth of {@code storage.scrub-rate-per-second} fragments, so that steps every 100 ms add up
 * to the configured rate, and failures turn fragments BLANK through the store's own check.
 * A pass walks a snapshot of the IDs taken at its start; fragments written during a pass are
 * checked in the next one.
 */
final class Scrub {
  private static final Logger LOG = LoggerFactory.getLogger(Scrub.class);

  private final FragmentStore store;
  private final NodeMetrics metrics;
  private final int perStep;
  private List<FragmentId> pass = List.of();
  private int cursor;
  private volatile long passes;

  Scrub(FragmentStore store, NodeMetrics metrics, int ratePerSecond) {
    this.store = store;
    this.metrics = metrics;
    this.perStep = Math.max(1, ratePerSecond / 10);
  }

  /** Checks the next batch of fragments; called every 100 ms from one thread. */
  void step() {
    if (cursor >= pass.size()) {
      if (!pass.isEmpty()) {
        passes++;
        LOG.debug("scrub pass {} done ({} fragments)", passes, pass.size());
      }
      List<FragmentId> ids = new ArrayList<>();
      store.forEachId(ids::add);
      pass = ids;
      cursor = 0;
    }
    long checked = 0;
    long failures = 0;
    int end = Math.min(pass.size(), cursor + perStep);
    for (; cursor < end; cursor++) {
      FragmentId id = pass.get(cursor);
      FragmentState state = store.check(id);
      if (state == null) {
        continue;
      }
      checked++;
      if (state == FragmentState.BLANK) {
        failures++;
      }
    }
    if (failures > 0) {
      LOG.warn("scrubber found {} missing or corrupt fragments; they are flagged BLANK",
          failures);
    }
    metrics.scrubbed(checked, failures);
  }

  /** Complete passes over the store since start. */
  long passes() {
    return passes;
  }
}
