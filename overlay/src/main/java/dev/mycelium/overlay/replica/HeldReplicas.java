package dev.mycelium.overlay.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The port through which {@link ReplicaCore} keeps replicas for other owners: signed replicas
 * and tombstones by fragment ID and by owner, and the latest manifest of each owner. The daemon
 * backs it with a persistent map; the simulator and tests with {@link InMemoryHeldReplicas}.
 *
 * <p>The core verifies everything before it calls a write here, and re-verifies what it reads
 * (the scrub, and before serving), so an implementation stores bytes and nothing more. Called
 * from the driver's thread only.
 */
public interface HeldReplicas {
  /** Owners for which anything (replicas, tombstones or a manifest) is kept. */
  Set<NodeId> owners();

  /** Visits one owner's entries: (ID, true for a tombstone, false for a replica). */
  void forEach(NodeId owner, BiConsumer<FragmentId, Boolean> visitor);

  /** The owner a held replica or tombstone belongs to. */
  Optional<NodeId> ownerOf(FragmentId id);

  Optional<SignedReplica> replica(FragmentId id);

  Optional<SignedTombstone> tombstone(FragmentId id);

  /**
   * Keeps a verified replica (replacing nothing if a tombstone is kept for the ID: the core
   * checks that first).
   *
   * @return false when there is no room; the owner is told ({@link ReplicaEvent.WriteRefused})
   *     and places its fragments on another holder
   */
  boolean putReplica(NodeId owner, FragmentId id, SignedReplica replica);

  /** Keeps a verified tombstone in place of the replica, if any. */
  void putTombstone(NodeId owner, FragmentId id, SignedTombstone tombstone);

  /** Forgets a replica or tombstone (a bad copy, or an expired tombstone). */
  void remove(FragmentId id);

  /** Forgets everything kept for an owner, manifest included. */
  void dropOwner(NodeId owner);

  Optional<SignedManifest> manifest(NodeId owner);

  /** Keeps the newest verified manifest of an owner. */
  void putManifest(NodeId owner, SignedManifest manifest);
}
