package dev.mycelium.node.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.wire.NodeId;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The record of a node's repair work: counts every repair, failure, loss and byte moved, tracks
 * cycles, and logs each repair and each loss with the fragment ID and where the copy came from,
 * so that an operator can answer "what happened to fragment X" from the log alone (issue 4,
 * "Surfaces"). The replication service reports here as it applies the core's effects; the
 * API, the CLI and the metrics read from here.
 *
 * <p>Thread-safe: reports come from the replication thread, reads from API and scrape threads.
 */
public final class RepairLedger {
  private static final Logger LOG = LoggerFactory.getLogger("dev.mycelium.node.repair");

  private long repairsDone;
  private long repairsFailed;
  private long losses;
  private long bytesMoved;
  private long replicatedBytes;
  private long cycles;
  private long queue;
  private boolean running;
  private Optional<RepairStatus.Cycle> lastCycle = Optional.empty();

  /** An empty ledger. */
  public RepairLedger() {}

  /**
   * A fragment (own, {@code held} false) or a replica held for another owner ({@code held}
   * true) was restored from {@code source}.
   */
  public synchronized void repaired(FragmentId id, NodeId source, long bytes, boolean held) {
    repairsDone++;
    bytesMoved += bytes;
    LOG.info("repaired {} {} from {} ({} bytes)", held ? "held replica" : "fragment", id,
        source, bytes);
  }

  /** A repair attempt for {@code id} found no good copy at {@code source} (null: no holder). */
  public synchronized void failed(FragmentId id, NodeId source, String why) {
    repairsFailed++;
    // One line per attempt would flood the log while a holder is away; the attempts are
    // counted, and a loss (all attempts failed) is logged as an error.
    LOG.debug("repair of fragment {} failed at {}: {}", id,
        source == null ? "no holder" : source.toString(), why);
  }

  /**
   * A fragment turned LOST after {@code tries} attempts; it is still retried, slowly. For a
   * replica held for another owner ({@code held}), the owner still has it and anti-entropy
   * brings it back, so that is a warning; an own fragment with no copy anywhere is an error.
   */
  public synchronized void lost(FragmentId id, int tries, boolean held) {
    losses++;
    if (held) {
      LOG.warn("held replica {} is LOST here: no good copy found in {} tries; still retried "
          + "with back-off, and the owner's anti-entropy sends it again", id, tries);
    } else {
      LOG.error("fragment {} is LOST: no good copy found in {} tries; still retried with "
          + "back-off", id, tries);
    }
  }

  /**
   * Replica bytes this node has sent to its holders since start (puts and streams to new
   * holders), as the replication core counts them; part of the bytes moved.
   */
  public synchronized void replicated(long totalBytes) {
    this.replicatedBytes = totalBytes;
  }

  /** The number of repairs waiting, as the replication core last reported it. */
  public synchronized void queue(long length) {
    this.queue = length;
  }

  /** Whether a repair cycle is under way, as the replication core last reported it. */
  public synchronized void running(boolean running) {
    this.running = running;
  }

  /** Whether a cycle is running. */
  public synchronized boolean running() {
    return running;
  }

  /** A repair cycle finished; logged when it did any work or was asked for. */
  public synchronized void cycleFinished(RepairStatus.Cycle c) {
    lastCycle = Optional.of(c);
    cycles++;
    if (c.repaired() > 0 || c.failed() > 0 || !c.trigger().equals("schedule")) {
      LOG.info("repair cycle ({}) done in {} ms: {} repaired, {} failed, {} waiting",
          c.trigger(), c.durationMillis(), c.repaired(), c.failed(), queue);
    }
  }

  /** A snapshot of the ledger with the given store counts. */
  public synchronized RepairStatus status(StoreStats own, StoreStats held) {
    return new RepairStatus(
        counts(own), counts(held), queue, running, repairsDone, repairsFailed,
        losses, bytesMoved + replicatedBytes, cycles, lastCycle, java.util.List.of(), 0, 0,
        false);
  }

  private static Map<FragmentState, Long> counts(StoreStats s) {
    return s == null ? Map.of() : s.byState();
  }

  /**
   * Registers the {@code mycelium_repair_*} metrics, read from {@code status} at scrape time
   * (null while replication is not running: nothing is reported).
   */
  public static void registerMetrics(PrometheusRegistry registry,
      Supplier<RepairStatus> status) {
    NodeMetrics.counter(registry, "mycelium_repair_repaired_total",
        "Fragments and held replicas restored from another node", status,
        s -> (double) s.repairsDone());
    NodeMetrics.counter(registry, "mycelium_repair_failed_total",
        "Repair attempts that found no good copy", status, s -> (double) s.repairsFailed());
    NodeMetrics.counter(registry, "mycelium_repair_lost_total",
        "Fragments that turned LOST (no copy found after the configured tries)", status,
        s -> (double) s.losses());
    NodeMetrics.counter(registry, "mycelium_repair_moved_bytes_total",
        "Bytes of fragments and replicas moved for repair and re-replication", status,
        s -> (double) s.bytesMoved());
    NodeMetrics.counter(registry, "mycelium_repair_cycles_total", "Repair cycles finished",
        status, s -> (double) s.cycles());
    NodeMetrics.gauge(registry, "mycelium_repair_queue_fragments",
        "Fragments waiting for repair", status, s -> (double) s.queue());
    NodeMetrics.gauge(registry, "mycelium_repair_running_tasks",
        "Repair cycles running now: 1 or 0", status, s -> s.running() ? 1 : 0);
    NodeMetrics.gauge(registry, "mycelium_repair_last_cycle_seconds",
        "Length of the last finished repair cycle", status,
        s -> s.lastCycle().map(c -> c.durationMillis() / 1000.0).orElse(0.0));
    NodeMetrics.gauge(registry, "mycelium_repair_last_cycle_timestamp_seconds",
        "When the last repair cycle finished, seconds since the epoch (0: none yet)", status,
        s -> s.lastCycle().map(c -> c.finishedAtMillis() / 1000.0).orElse(0.0));
    GaugeWithCallback.builder()
        .name("mycelium_repair_held_replicas")
        .help("Replicas held for other owners, by state")
        .labelNames("state")
        .callback(cb -> {
          RepairStatus s = status.get();
          if (s != null) {
            for (FragmentState st : FragmentState.values()) {
              cb.call(s.held().getOrDefault(st, 0L), st.name());
            }
          }
        })
        .register(registry);
  }
}
