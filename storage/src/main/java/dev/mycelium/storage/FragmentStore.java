package dev.mycelium.storage;

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
public interface FragmentStore extends AutoCloseable {

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
   * {@link FragmentState#DELETED} from now on.
   */
  void delete(FragmentId id, SignedTombstone tombstone);

  /** Flags a fragment whose bytes are missing or bad, keeping what is known of it. */
  void markBlank(FragmentId id);

  /**
   * Checks one fragment's hash without decoding more than needed; a failure marks it
   * {@code BLANK}.
   *
   * @return the state after the check, or {@code null} when the ID is unknown
   */
  FragmentState check(FragmentId id);

  /** Visits every ID in the store, in no particular order. Writes may run meanwhile. */
  void forEachId(Consumer<FragmentId> visitor);

  /** Current counts and use. */
  StoreStats stats();

  /** Flushes and releases the store. */
  @Override
  void close();
}
