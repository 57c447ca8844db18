package dev.mycelium.storage;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import java.util.Map;
import java.util.SplittableRandom;

/** Small fragments for tests, from fixed keys so that failures replay. */
final class Fixtures {
  static final FragmentCodec CODEC = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(8));
  static final OwnerKeys ALICE = OwnerKeys.fromSeed(seed(1));
  static final OwnerKeys BOB = OwnerKeys.fromSeed(seed(2));

  private Fixtures() {}

  static byte[] seed(int b) {
    byte[] s = new byte[32];
    s[0] = (byte) b;
    return s;
  }

  static float[] vector(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[8];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextDouble(-1, 1);
    }
    return v;
  }

  static Fragment fragment(OwnerKeys owner, int n) {
    return CODEC.create(
        owner, 1_700_000_000_000L + n, "fragment number " + n, vector(n), Map.of("n", "" + n),
        Visibility.SHARED);
  }

  static Fragment fragment(int n) {
    return fragment(ALICE, n);
  }
}
