package dev.mycelium.overlay;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;

/**
 * What happened inside the overlay, reported to the driver for logs, metrics, status and the
 * application. Events are values: the cores never call back into the driver.
 */
public sealed interface OverlayEvent {
  /** A peer entered the active view. */
  record PeerUp(NodeId peer) implements OverlayEvent {}

  /** A peer left the active view (it may still be alive and kept as passive). */
  record PeerDown(NodeId peer) implements OverlayEvent {}

  /** A probe of an active peer failed; its suspicion period starts. */
  record Suspected(NodeId peer, long incarnation) implements OverlayEvent {}

  /** A suspected peer proved it is alive with a higher incarnation. */
  record Refuted(NodeId peer, long incarnation) implements OverlayEvent {}

  /** A suspected peer did not refute in time. */
  record Dead(NodeId peer, long incarnation) implements OverlayEvent {}

  /** A peer announced a graceful leave. */
  record Left(NodeId peer) implements OverlayEvent {}

  /** This node refuted a suspicion about itself. */
  record SelfRefuted(long incarnation) implements OverlayEvent {}

  /** A broadcast on a subscribed topic reached this node (once per message). */
  record Delivered(ByteString id, NodeId origin, String topic, int priority, ByteString payload)
      implements OverlayEvent {}

  /** A broadcast was dropped from the bounded outbound queue. */
  record BroadcastDropped(ByteString id, int priority) implements OverlayEvent {}

  /** A peer fell below the score threshold and is ignored until the given time. */
  record Banned(NodeId peer, long untilMillis, String reason) implements OverlayEvent {}
}
