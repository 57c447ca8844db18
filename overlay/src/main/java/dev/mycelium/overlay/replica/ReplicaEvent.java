package dev.mycelium.overlay.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import java.util.List;
import java.util.Set;

/**
 * What happened inside {@link ReplicaCore}. Every repair and every loss is one of these, with
 * the fragment and where the copy came from, so the daemon can log and count them.
 */
public sealed interface ReplicaEvent {
  /** A holder confirmed it stored one of this node's fragments; {@code confirmed} so far. */
  record WriteAcked(FragmentId id, NodeId holder, Set<NodeId> confirmed) implements ReplicaEvent {}

  /** A holder refused a replica (full, or it did not verify there). */
  record WriteRefused(FragmentId id, NodeId holder) implements ReplicaEvent {}

  /**
   * A missing fragment is back, verified and stored.
   *
   * @param own whether it is this node's own fragment (else a replica held for {@code owner})
   * @param from the peer the copy came from
   * @param bytes size of the replica moved
   */
  record Repaired(FragmentId id, NodeId owner, boolean own, NodeId from, long bytes)
      implements ReplicaEvent {}

  /** A deleted fragment's tombstone arrived where a copy was missing or kept: it stays deleted. */
  record TombstoneApplied(FragmentId id, NodeId owner, NodeId from) implements ReplicaEvent {}

  /** One attempt to fetch a fragment failed. */
  record RepairFailed(FragmentId id, NodeId from, String reason, int attempts)
      implements ReplicaEvent {}

  /** A fragment failed {@code maxAttempts} times: LOST, still retried slowly. */
  record Lost(FragmentId id, NodeId owner) implements ReplicaEvent {}

  /** A peer served a replica that does not verify: rejected, the peer penalized. */
  record ForgedReplica(FragmentId id, NodeId from, String reason) implements ReplicaEvent {}

  /** A held replica failed its scrub: dropped and queued for repair from another holder. */
  record ScrubFailed(FragmentId id, NodeId owner, String reason) implements ReplicaEvent {}

  /** A fetch-now did not bring the fragment back before its deadline. */
  record FetchTimedOut(FragmentId id) implements ReplicaEvent {}

  /** This node's holders changed (placement, a holder died or left). */
  record HoldersChanged(long version, List<NodeId> holders, List<NodeId> added,
      List<NodeId> removed) implements ReplicaEvent {}

  /** An owner's newer manifest no longer names this node: its replicas were let go. */
  record Released(NodeId owner, long version) implements ReplicaEvent {}

  /** A holder answered this node's restore query. */
  record RestoreOffered(NodeId holder, long held, long manifestVersion) implements ReplicaEvent {}

  /** A restore began: neighbours were asked (and later, if need be, the network). */
  record RestoreStarted(int neighboursAsked) implements ReplicaEvent {}
}
