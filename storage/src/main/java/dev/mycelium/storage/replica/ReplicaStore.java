package dev.mycelium.storage.replica;

import dev.mycelium.model.DiskUse;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import dev.mycelium.storage.Scrubber;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A holder's store of other owners' replicas, by fragment ID (DESIGN.md, "Fragments,
 * replication and repair"). Kept apart from the node's own {@code FragmentStore} because a
 * holder may not be able to read what it keeps (private replicas are sealed), so it checks
 * envelopes, not fragments, and because its entries are grouped by owner for anti-entropy.
 *
 * <p>Every entry is in one state: {@code PRESENT} (the owner's signed replica, checked),
 * {@code BLANK} (known to exist, bytes missing or failing their check: to be pulled from another
 * holder) or {@code DELETED} (the owner's signed tombstone, which keeps a holder that was away
 * during a delete from bringing the fragment back). Reads check a digest of the stored bytes;
 * {@link #check} (the scrubber's) also checks the owner's signature. A failed check turns the
 * entry BLANK, tells the listener, and is answered as BLANK, never as bad bytes.
 *
 * <p>An entry's owner is fixed by the first write for its ID; a replica or tombstone signed by
 * someone else for that ID is refused, so no peer can squat on another owner's IDs.
 *
 * <p>Thread-safe. Two implementations share one contract test: {@link ChronicleReplicaStore}
 * (persistent, the daemon) and {@link InMemoryReplicaStore} (tests and the simulator).
 */
public interface ReplicaStore extends Scrubber.Target, DiskUse, AutoCloseable {

  /**
   * Checks and keeps an owner's replica. Keeping the same replica again is a no-op; a newer
   * envelope for the same ID (a fresh seal) replaces the old; an ID with a tombstone stays
   * DELETED.
   *
   * @return the state after the call: PRESENT, or DELETED
   * @throws dev.mycelium.model.InvalidFragmentException when the replica is malformed or
   *     forged, or the ID belongs to another owner here
   * @throws dev.mycelium.model.StoreFullException when a new ID no longer fits
   */
  FragmentState put(SignedReplica replica);

  /**
   * Keeps a replica its caller has already verified in full (the replication core checks the
   * owner's signature before it stores anything), sparing a second signature check on the
   * repair path. Same outcomes as {@link #put}.
   *
   * @throws dev.mycelium.model.InvalidFragmentException when the ID belongs to another owner
   *     here, or the envelope does not name {@code id} and {@code owner}
   * @throws dev.mycelium.model.StoreFullException when a new ID no longer fits
   */
  FragmentState putVerified(FragmentId id, NodeId owner, SignedReplica replica);

  /** Forgets one entry whatever its state (a copy let go, an expired tombstone). */
  boolean remove(FragmentId id);

  /**
   * Forgets every entry kept for one owner (its manifest no longer names this node).
   *
   * @return the number of entries dropped
   */
  int dropOwner(NodeId owner);

  /** Reads one entry, checking its stored bytes; unknown IDs answer empty. */
  Optional<HeldReplica> get(FragmentId id);

  /**
   * Records the owner's tombstone: the replica's bytes are dropped and the ID stays DELETED
   * until {@link #purgeTombstones}. Works for an ID never seen (a tombstone may come first).
   *
   * @throws dev.mycelium.model.InvalidFragmentException when the tombstone is forged, names
   *     another ID, or is signed by someone other than the ID's owner here
   * @throws dev.mycelium.model.StoreFullException when a new ID no longer fits
   */
  void delete(FragmentId id, SignedTombstone tombstone);

  /**
   * Flags an entry whose bytes are missing, keeping its owner. An unknown ID gets a BLANK
   * placeholder for the given owner (anti-entropy learned that it should be here); a DELETED
   * or BLANK entry is left as it is. Not counted as a detection.
   */
  void markBlank(FragmentId id, NodeId owner);

  /**
   * Checks one entry fully (digest, envelope, the owner's signature); a failure turns it
   * BLANK.
   *
   * @return the state after the check, or null when the ID is unknown
   */
  @Override
  FragmentState check(FragmentId id);

  /** Visits every ID, in no particular order; writes may run meanwhile. */
  @Override
  void forEachId(Consumer<FragmentId> visitor);

  /** Visits the IDs held for one owner, whatever their state. */
  void forEachOfOwner(NodeId owner, Consumer<FragmentId> visitor);

  /** The owners with at least one entry here. */
  Set<NodeId> owners();

  /** Entries held for one owner, whatever their state. */
  long countOf(NodeId owner);

  /**
   * Drops tombstones written before the given time, once they have outlived the longest repair
   * cycle.
   *
   * @return the number dropped
   */
  int purgeTombstones(long storedBeforeMillis);

  /** Counts by state, entries in use, capacity and detections since start. */
  StoreStats stats();

  /**
   * Sets the one listener told (on the detecting thread) of every entry a check turned BLANK,
   * with its owner: the replication core queues a pull from another holder.
   */
  void onBlank(BiConsumer<FragmentId, NodeId> listener);

  /** Flushes and releases the store. */
  @Override
  void close();
}
