package dev.mycelium.storage;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentStore;
import java.util.List;
import java.util.function.Predicate;

/**
 * Nearest-neighbour search by cosine similarity over fragment vectors. Derived state: it can
 * always be rebuilt from the {@link FragmentStore}.
 *
 * <p>Two implementations: {@code JVectorIndex} (approximate, DiskANN-style graph) and
 * {@code ExactVectorIndex} (brute force; the test oracle and the simulator's default).
 */
public interface VectorIndex extends AutoCloseable {
  /** Adds or replaces a vector. May index in the background; see {@link #pending()}. */
  void add(FragmentId id, float[] vector);

  /** Removes a vector; it is never returned again. */
  void remove(FragmentId id);

  /**
   * The {@code k} best vectors that pass {@code accept}, best first. Vectors added but not yet
   * in the graph are searched exactly, so nothing added is ever missed.
   */
  List<VectorHit> search(float[] query, int k, Predicate<FragmentId> accept);

  /**
   * The vector kept for a fragment (unit length), if the index holds one. It outlives the
   * fragment's bytes: a fragment that turned BLANK or LOST keeps its place in the index, and
   * this is what lets a search stand its nearest surviving neighbours in for it (semantic
   * fallback, DESIGN.md).
   */
  default java.util.Optional<float[]> vector(FragmentId id) {
    return java.util.Optional.empty();
  }

  /** Vectors in the index, pending included. */
  long size();

  /** Vectors added but not yet in the graph (the index lag). */
  long pending();

  /** Persists what is needed to start without a rebuild and releases resources. */
  @Override
  void close();
}
