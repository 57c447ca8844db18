package dev.mycelium.model;

import dev.mycelium.wire.proto.SignedTombstone;
import java.util.function.Consumer;

/**
 * Fragments by ID, with their states. Implementations verify on the way in and on every read:
 * a fragment whose bytes fail their hash turns {@link FragmentState#BLANK} and is answered as
 * such, never as bad bytes.
 *
 * <p>Thread-safe. Two implementations: {@code ChronicleFragmentStore} (persistent, the daemon)
 * and {@code InMemoryFragmentStore} (tests and the simulator, and the oracle for the other).
 */
public interface FragmentStore extends DiskUse, AutoCloseable {

  /**
   * Stores a verified fragment. Storing the same fragment again is a no-op; a fragment with a
   * tombstone stays deleted.
   *
   * @return the state after the call
   * @throws StoreFullException when it no longer fits
   */
  FragmentState put(Fragment fragment);

  /** Reads and verifies one fragment. Unknown IDs answer {@code Optional.empty()}. */
  java.util.Optional<StoredFragment> get(FragmentId id);

  /**
   * Records a verified tombstone: the fragment's bytes are dropped and its state is
   * {@link FragmentState#DELETED} from now on. Works for an ID the store has never seen (a
   * tombstone can arrive before its fragment); a later put of that fragment by the same owner
   * stays deleted.
   *
   * @throws InvalidFragmentException when the tombstone does not check, names another ID, or
   *     is signed by someone other than the fragment's known owner
   * @throws StoreFullException when the ID is new and no longer fits
   */
  void delete(FragmentId id, SignedTombstone tombstone);

  /**
   * Flags a fragment whose bytes are missing or bad, keeping what is known of it (its owner).
   * A DELETED fragment stays DELETED; an unknown ID gets a BLANK placeholder (known to exist,
   * bytes missing), which a later put fills. Not counted as a detection: that counter is for
   * checks that failed.
   */
  void markBlank(FragmentId id);

  /**
   * Checks one fragment fully (content hash, canonical form and the owner's signature, where a
   * read checks the hash only); a failure marks it
   * {@code BLANK}.
   *
   * @return the state after the check, or {@code null} when the ID is unknown
   */
  FragmentState check(FragmentId id);

  /**
   * The tombstone kept for a deleted fragment, so that replication can hand it on to holders
   * that were away when the delete happened. Empty when the ID is not DELETED here, or when the
   * store does not keep tombstones readable (then deletes reach only the holders that were up).
   */
  default java.util.Optional<SignedTombstone> tombstone(FragmentId id) {
    return java.util.Optional.empty();
  }

  /** Visits every ID in the store, in no particular order. Writes may run meanwhile. */
  void forEachId(Consumer<FragmentId> visitor);

  /** Current counts and use. */
  StoreStats stats();

  /** Flushes and releases the store. */
  @Override
  void close();
}
