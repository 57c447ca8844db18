package dev.mycelium.bench.replica;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Anti-entropy on the wire between two real cores (see {@link AntiEntropyBench}). */
class AntiEntropyTest {
  @Test
  void inSyncARoundCostsAtMost64BytesPerOwner() {
    AntiEntropyBench.Result r = AntiEntropyBench.measure(5_000, 0, 12, 1);
    assertThat(r.rootBytesPerOwner()).isLessThanOrEqualTo(64);
    assertThat(r.bytesBeforeTransfer()).isLessThanOrEqualTo(64);
    assertThat(r.messages()).isEqualTo(1);
    assertThat(r.missingFound()).isZero();
    assertThat(AntiEntropyBench.rootBytesPerOwner(50)).isLessThanOrEqualTo(64);
  }

  @Test
  void everyDifferenceIsFoundAndTheCostGrowsWithDifferencesNotWithTheStore() {
    for (int d : new int[] {1, 10, 100}) {
      AntiEntropyBench.Result r = AntiEntropyBench.measure(5_000, d, 12, 2);
      assertThat(r.missingFound()).as("d=%d", d).isEqualTo(d);
    }
    long small = AntiEntropyBench.measure(2_000, 1, 12, 3).bytesBeforeTransfer();
    long large = AntiEntropyBench.measure(20_000, 1, 12, 3).bytesBeforeTransfer();
    // Ten times the store: one difference costs about the same (only the leaf bucket grows).
    assertThat(large).isLessThan(small * 2);
    long one = AntiEntropyBench.measure(20_000, 1, 12, 4).bytesBeforeTransfer();
    long many = AntiEntropyBench.measure(20_000, 50, 12, 4).bytesBeforeTransfer();
    assertThat(many).isGreaterThan(10 * one);
    // And far below listing the whole store.
    assertThat(many).isLessThan(20_000L * 32 / 2);
  }
}
