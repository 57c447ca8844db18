package dev.mycelium.node.replica;

import dev.mycelium.model.FragmentState;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A snapshot of a node's repair work, the body of {@code GET /v1/repair} and of {@code
 * mycelium repair status}. One record so that the API, the CLI and the metrics report the same
 * numbers, taken at one moment.
 *
 * @param fragments the node's own fragments by state
 * @param held replicas this node holds for other owners, by state
 * @param queue repairs waiting (fragments BLANK or LOST here, or held replicas to pull)
 * @param running whether a repair cycle is under way
 * @param repairsDone fragments and replicas restored since start
 * @param repairsFailed repair attempts that found no good copy since start
 * @param losses fragments that turned LOST since start
 * @param bytesMoved bytes of fragments and replicas received and sent for repair and
 *     re-replication since start
 * @param cycles repair cycles finished since start
 * @param lastCycle the last finished cycle, if any
 * @param holders this node's holders, in manifest order (empty before placement)
 * @param manifestVersion the version of this node's manifest (0 before placement)
 * @param streamBacklog replicas still to stream to new holders
 * @param restoring whether a restore after an empty start is under way
 */
public record RepairStatus(
    Map<FragmentState, Long> fragments,
    Map<FragmentState, Long> held,
    long queue,
    boolean running,
    long repairsDone,
    long repairsFailed,
    long losses,
    long bytesMoved,
    long cycles,
    Optional<Cycle> lastCycle,
    java.util.List<String> holders,
    long manifestVersion,
    long streamBacklog,
    boolean restoring) {

  /** The same snapshot with the owner's view of its placement. */
  public RepairStatus withPlacement(java.util.List<String> holders, long manifestVersion,
      long streamBacklog, boolean restoring) {
    return new RepairStatus(fragments, held, queue, running, repairsDone, repairsFailed, losses,
        bytesMoved, cycles, lastCycle, java.util.List.copyOf(holders), manifestVersion,
        streamBacklog, restoring);
  }

  /**
   * One repair cycle.
   *
   * @param trigger what started it: "schedule", "manual" (POST /v1/repair/run) or "restore"
   * @param startedAtMillis when it started
   * @param finishedAtMillis when it finished
   * @param repaired fragments and replicas restored in it
   * @param failed attempts in it that found no good copy
   */
  public record Cycle(String trigger, long startedAtMillis, long finishedAtMillis, long repaired,
      long failed) {

    /** Length of the cycle, milliseconds. */
    public long durationMillis() {
      return finishedAtMillis - startedAtMillis;
    }
  }

  /** The snapshot as the API's JSON object (snake_case keys, states by name). */
  public Map<String, Object> toJson() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("fragments", byName(fragments));
    out.put("held", byName(held));
    out.put("queue", queue);
    out.put("running", running);
    out.put("repairs_done", repairsDone);
    out.put("repairs_failed", repairsFailed);
    out.put("losses", losses);
    out.put("bytes_moved", bytesMoved);
    out.put("cycles", cycles);
    out.put("holders", holders);
    out.put("manifest_version", manifestVersion);
    out.put("stream_backlog", streamBacklog);
    out.put("restoring", restoring);
    if (lastCycle.isPresent()) {
      Cycle c = lastCycle.get();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("trigger", c.trigger());
      m.put("started_at", c.startedAtMillis());
      m.put("finished_at", c.finishedAtMillis());
      m.put("duration_ms", c.durationMillis());
      m.put("repaired", c.repaired());
      m.put("failed", c.failed());
      out.put("last_cycle", m);
    } else {
      out.put("last_cycle", null);
    }
    return out;
  }

  private static Map<String, Long> byName(Map<FragmentState, Long> counts) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (FragmentState s : FragmentState.values()) {
      out.put(s.name(), counts.getOrDefault(s, 0L));
    }
    return out;
  }
}
