package dev.mycelium.overlay.replica;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;

/**
 * What {@link ReplicaCore} asks its driver to do, as data, in order: the daemon maps these onto
 * PeerService (sendApplication, broadcast, penalize) and its logs and metrics; the simulator
 * onto its event queue.
 */
public sealed interface ReplicaEffect {
  /**
   * Send one message to a peer.
   *
   * @param address where the peer listens, when the core knows it (from a manifest or a restore
   *     query); null when the driver must already know it (an active neighbour)
   */
  record Send(NodeId to, PeerAddress address, Envelope envelope) implements ReplicaEffect {}

  /** Broadcast a payload on a topic over the overlay (restore queries). */
  record Broadcast(String topic, ByteString payload, int priority) implements ReplicaEffect {}

  /**
   * Lower a peer's score: it sent a forged or altered replica ({@code PeerScores.BAD_SIGNATURE})
   * or a malformed message ({@code PeerScores.MALFORMED}).
   */
  record Penalize(NodeId peer, double points, String reason) implements ReplicaEffect {}

  /** Something happened, for logs, metrics and waiting callers. */
  record Report(ReplicaEvent event) implements ReplicaEffect {}
}
