package dev.mycelium.sim.engine;

import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.replica.ReplicaEvent;
import dev.mycelium.wire.proto.Envelope;

/** Observes a simulated run: what nodes report and what they send. */
public interface SimListener {
  /** A node reported an event at virtual time {@code time}. */
  default void onEvent(long time, int node, OverlayEvent event) {}

  /** A node handed a message to the network (before loss or partitions apply). */
  default void onSend(long time, int from, int to, Envelope envelope, int bytes) {}

  /** A node's replica core reported an event (replicating simulations only). */
  default void onReplicaEvent(long time, int node, ReplicaEvent event) {}

  /** A fault was injected into a node. */
  default void onFault(long time, int node, NodeFault fault) {}
}
