package dev.mycelium.storage.index;

import dev.mycelium.model.FragmentId;
import dev.mycelium.storage.VectorHit;
import dev.mycelium.storage.VectorIndex;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Brute-force cosine search over every vector. It is the oracle the approximate index is tested
 * against and the simulator's default, where data sets are small and exactness makes runs
 * reproducible. Vectors are normalised on add, so a score is one dot product. Thread-safe;
 * nothing is ever pending and nothing is persisted.
 */
public final class ExactVectorIndex implements VectorIndex {
  private final int dimension;
  private final Map<FragmentId, float[]> vectors = new ConcurrentHashMap<>();

  /** An empty index for vectors of {@code dimension} components. */
  public ExactVectorIndex(int dimension) {
    if (dimension < 1) {
      throw new IllegalArgumentException("dimension must be at least 1, got " + dimension);
    }
    this.dimension = dimension;
  }

  /** The dimension of every vector in the index. */
  public int dimension() {
    return dimension;
  }

  @Override
  public void add(FragmentId id, float[] vector) {
    Objects.requireNonNull(id, "id");
    vectors.put(id, Vectors.normalised(vector, dimension));
  }

  @Override
  public void remove(FragmentId id) {
    vectors.remove(id);
  }

  @Override
  public List<VectorHit> search(float[] query, int k, Predicate<FragmentId> accept) {
    Vectors.checkK(k);
    float[] q = Vectors.normalised(query, dimension);
    Predicate<FragmentId> filter = accept == null ? id -> true : accept;
    Vectors.TopK top = new Vectors.TopK(k);
    for (Map.Entry<FragmentId, float[]> e : vectors.entrySet()) {
      float score = Vectors.dot(q, e.getValue());
      // The score test first: the caller's predicate may be costly (a store lookup).
      if (top.wants(score) && filter.test(e.getKey())) {
        top.offer(new VectorHit(e.getKey(), score));
      }
    }
    return top.bestFirst();
  }

  @Override
  public java.util.Optional<float[]> vector(FragmentId id) {
    float[] v = vectors.get(id);
    return v == null ? java.util.Optional.empty() : java.util.Optional.of(v.clone());
  }

  @Override
  public long size() {
    return vectors.size();
  }

  @Override
  public long pending() {
    return 0;
  }

  @Override
  public void close() {
    // Nothing to persist: the index is rebuilt from the store at start.
  }
}
