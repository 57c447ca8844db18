package dev.mycelium.node.peer;

import dev.mycelium.wire.NodeId;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Network faults injected into a running node, for test networks only: the simulator's real
 * mode runs scenarios on real node processes on loopback, where a partition or message loss
 * cannot be made from outside without root, so each node makes them itself. A node hands this
 * to its HTTP API ({@code /v1/debug/faults}) only when {@code mycelium.debug.fault-injection}
 * is true; otherwise nothing reaches it.
 */
public interface FaultControl {
  /**
   * The faults in force.
   *
   * @param partitioned peers this node is cut off from
   * @param loss probability with which each inbound frame from a peer is dropped (0 = off)
   * @param seed seed of the random drops, so a run can be repeated
   * @param dropped frames dropped by {@code loss} since start
   */
  record State(Set<NodeId> partitioned, double loss, long seed, long dropped) {
    public State {
      partitioned = Set.copyOf(partitioned);
    }
  }

  /**
   * A change; an empty field leaves that fault as it is.
   *
   * @param partition the new set of peers to cut off (replaces the old one; empty heals)
   * @param loss the new drop probability, from 0 to 1
   * @param seed the new seed of the drops (the random sequence restarts from it)
   */
  record Change(Optional<Set<NodeId>> partition, OptionalDouble loss, OptionalLong seed) {}

  /** The faults in force now. */
  State state();

  /**
   * Applies a change on the node's network thread, all of it or (on bad input) none of it.
   *
   * @return the faults in force after the change
   * @throws IllegalArgumentException when the loss is outside [0, 1] or the partition names
   *     this node itself
   */
  State apply(Change change);
}
