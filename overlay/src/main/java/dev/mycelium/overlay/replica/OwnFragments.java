package dev.mycelium.overlay.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * The port through which {@link ReplicaCore} reaches this node's own fragments. The core never
 * sees a store, a file or a key for sealing: the daemon implements this over its fragment store
 * and its AEAD sealing ({@link StoreOwnFragments} covers shared fragments over any
 * {@code FragmentStore}), the simulator and tests use {@link InMemoryOwnFragments}.
 *
 * <p>Called from the driver's thread only, like the core.
 */
public interface OwnFragments {
  /** Visits every own fragment this node knows of, with its state (DELETED included). */
  void forEach(BiConsumer<FragmentId, FragmentState> visitor);

  /** The state of one own fragment, or null when unknown here. */
  FragmentState state(FragmentId id);

  /**
   * The replica to hand to holders: the owner-signed envelope of a PRESENT fragment (in the
   * clear when shared, sealed when private). Empty when the bytes are not here or the fragment
   * cannot be replicated (a private fragment with no sealing installed).
   */
  Optional<SignedReplica> replica(FragmentId id);

  /**
   * Stores a fragment repaired from a replica the core has verified (signature, ID, owner); the
   * implementation opens it when sealed and stores the fragment PRESENT.
   *
   * @return true when the fragment is PRESENT afterwards; false when it could not be used (it
   *     does not open, or the store refused it), and the core tries another holder
   */
  boolean restore(ReplicaCodec.Verified replica);

  /**
   * Records that a fragment exists whose bytes are not here, so that reads answer BLANK while it
   * is repaired (a restore learns IDs before it has bytes). Does nothing to a PRESENT or DELETED
   * fragment.
   */
  void markBlank(FragmentId id);

  /** The tombstone of a deleted own fragment, if kept. */
  Optional<SignedTombstone> tombstone(FragmentId id);

  /** Applies a verified tombstone learned back from a holder (a delete made before a wipe). */
  void applyTombstone(FragmentId id, SignedTombstone tombstone);
}
