package dev.mycelium.node.replica;

/**
 * What the node's surfaces ({@code GET /v1/repair}, {@code POST /v1/repair/run}, {@code
 * mycelium repair}) need from the part of the node that repairs. A seam so that the HTTP routes
 * and the CLI are tested without a network, and so that a node without replication (no peer
 * service) says so instead of pretending.
 */
public interface RepairControl {
  /** The current numbers. */
  RepairStatus status();

  /**
   * Starts a repair cycle now, without waiting for the schedule.
   *
   * @return true when a cycle was started, false when one was already running (it covers the
   *     same work)
   */
  boolean runNow();
}
