package dev.mycelium.storage.index;

import dev.mycelium.model.FragmentId;
import java.nio.ByteBuffer;
import java.util.Random;

/** Seeded test vectors and IDs. */
final class TestData {
  private TestData() {}

  static FragmentId id(int i) {
    byte[] b = new byte[FragmentId.LENGTH];
    ByteBuffer.wrap(b).putInt(i).putInt(~i);
    return FragmentId.of(b);
  }

  static int number(FragmentId id) {
    return ByteBuffer.wrap(id.toBytes()).getInt();
  }

  static float[][] clustered(long seed, int n, int dim) {
    return ClusteredVectors.of(seed, n, dim);
  }

  static float[] random(Random r, int dim) {
    float[] v = new float[dim];
    for (int i = 0; i < dim; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }
}
