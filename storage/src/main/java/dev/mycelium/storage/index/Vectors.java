package dev.mycelium.storage.index;

import dev.mycelium.storage.VectorHit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Small vector helpers shared by the indexes. Both indexes store unit vectors so that cosine
 * similarity is a plain dot product, which is what makes exact and graph scores comparable.
 */
public final class Vectors {
  private Vectors() {}

  /**
   * A unit-length copy of {@code v}.
   *
   * @throws IllegalArgumentException if the dimension is wrong, a component is not finite, or
   *     the vector is all zeros (cosine similarity is undefined for it)
   */
  public static float[] normalised(float[] v, int dimension) {
    if (v == null) {
      throw new IllegalArgumentException("a vector is required");
    }
    if (v.length != dimension) {
      throw new IllegalArgumentException(
          "vector has " + v.length + " dimensions, the index expects " + dimension);
    }
    double sum = 0;
    for (float x : v) {
      if (!Float.isFinite(x)) {
        throw new IllegalArgumentException("vector has a NaN or infinite component");
      }
      sum += (double) x * x;
    }
    if (sum == 0) {
      throw new IllegalArgumentException(
          "vector is all zeros; cosine similarity needs a direction");
    }
    // Divided in double: the float inverse of a tiny norm overflows to infinity.
    double norm = Math.sqrt(sum);
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] / norm);
    }
    return out;
  }

  /** The dot product of two vectors of the same length. */
  public static float dot(float[] a, float[] b) {
    float s0 = 0;
    float s1 = 0;
    float s2 = 0;
    float s3 = 0;
    int i = 0;
    int n = a.length - 3;
    // Four accumulators let the JIT pipeline the multiply-adds.
    for (; i < n; i += 4) {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
      s3 += a[i + 3] * b[i + 3];
    }
    for (; i < a.length; i++) {
      s0 += a[i] * b[i];
    }
    return s0 + s1 + s2 + s3;
  }

  /** The cosine similarity of two vectors of any length (not necessarily unit). */
  public static float cosine(float[] a, float[] b) {
    double na = dot(a, a);
    double nb = dot(b, b);
    if (na == 0 || nb == 0) {
      return 0;
    }
    return (float) (dot(a, b) / Math.sqrt(na * nb));
  }

  /** Orders hits best first, breaking ties by id so results are deterministic. */
  static final Comparator<VectorHit> BEST_FIRST =
      Comparator.comparingDouble((VectorHit h) -> -h.score()).thenComparing(VectorHit::id);

  /** Keeps the best {@code k} hits seen so far. Not thread-safe. */
  static final class TopK {
    private final int k;
    private final PriorityQueue<VectorHit> heap;

    TopK(int k) {
      this.k = k;
      this.heap = new PriorityQueue<>(k + 1, BEST_FIRST.reversed());
    }

    /** Whether a hit with this score could still enter the top k. */
    boolean wants(float score) {
      return heap.size() < k || score >= heap.peek().score();
    }

    void offer(VectorHit hit) {
      if (heap.size() < k) {
        heap.add(hit);
      } else if (BEST_FIRST.compare(hit, heap.peek()) < 0) {
        heap.poll();
        heap.add(hit);
      }
    }

    int size() {
      return heap.size();
    }

    List<VectorHit> bestFirst() {
      List<VectorHit> out = new ArrayList<>(heap);
      out.sort(BEST_FIRST);
      return Collections.unmodifiableList(out);
    }
  }

  static void checkK(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be at least 1, got " + k);
    }
  }
}
