package dev.mycelium.storage.index;

import java.util.Random;

/**
 * The seeded, clustered vector set the index is tuned and tested on: unit vectors in Gaussian
 * clusters around about sqrt(n) centres, clustered like sentence embeddings, unlike uniform
 * noise, on which no graph index does well. It lives here, beside the index, rather than in the
 * bench module because the index's own tests need the very same vectors as {@code mycelium
 * bench search} (their recall bounds were set on them), and the bench module depends on this
 * one, not the other way round.
 */
public final class ClusteredVectors {
  private ClusteredVectors() {}

  /**
   * {@code n} vectors of {@code dim} dimensions. The first {@code m} vectors are the same for
   * every {@code n >= m}.
   */
  public static float[][] of(long seed, int n, int dim) {
    return range(seed, 0, n, dim);
  }

  /**
   * Vectors {@code from} (inclusive) to {@code to} of the set {@link #of(long, int, int)} makes,
   * with as many centres as a set of {@code from} vectors (at least 1): from the same clusters
   * as the first {@code from}, but not among them, which is what a query set wants.
   */
  public static float[][] range(long seed, int from, int to, int dim) {
    int size = from == 0 ? to : from;
    int centres = Math.max(1, (int) Math.round(Math.sqrt(size)));
    Random cr = new Random(seed);
    float[][] centre = new float[centres][dim];
    for (float[] v : centre) {
      for (int i = 0; i < dim; i++) {
        v[i] = (float) cr.nextGaussian();
      }
    }
    float[][] out = new float[to - from][];
    for (int j = from; j < to; j++) {
      Random r = new Random(seed * 1_000_003L + j);
      float[] c = centre[r.nextInt(centres)];
      float[] v = new float[dim];
      for (int i = 0; i < dim; i++) {
        v[i] = c[i] + (float) (r.nextGaussian() * 0.75);
      }
      out[j - from] = Vectors.normalised(v, dim);
    }
    return out;
  }
}
