package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PowerLawFitTest {
  /** Discrete power-law samples by inverse transform (Clauset et al. 2009, appendix D). */
  private static int[] sample(double alpha, int xmin, int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      double u = r.nextDouble();
      out[i] = (int) Math.floor((xmin - 0.5) * Math.pow(1 - u, -1 / (alpha - 1)) + 0.5);
    }
    return out;
  }

  @Test
  void recoversTheExponentOfAPowerLaw() {
    PowerLawFit fit = PowerLawFit.fit(sample(2.5, 1, 20_000, 1));
    assertThat(fit.alpha()).isBetween(2.4, 2.6);
    assertThat(fit.ks()).isLessThan(0.05);
    assertThat(fit.sigma()).isLessThan(0.05);
  }

  @Test
  void findsTheLowerBoundOfAPowerLawTail() {
    // Below 10, uniform noise; from 10 on, a power law with alpha 3.
    int[] tail = sample(3.0, 10, 5_000, 2);
    SplittableRandom r = new SplittableRandom(3);
    int[] data = new int[tail.length + 5_000];
    System.arraycopy(tail, 0, data, 0, tail.length);
    for (int i = tail.length; i < data.length; i++) {
      data[i] = 1 + r.nextInt(9);
    }
    PowerLawFit fit = PowerLawFit.fit(data);
    assertThat(fit.xmin()).isBetween(8, 14);
    assertThat(fit.alpha()).isBetween(2.8, 3.25);
  }

  @Test
  void aNarrowDistributionIsNotMistakenForAPowerLaw() {
    SplittableRandom r = new SplittableRandom(4);
    int[] data = new int[5_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = 40 + r.nextInt(5);
    }
    PowerLawFit fit = PowerLawFit.fit(data);
    assertThat(fit.alpha()).isGreaterThan(10);
  }

  @Test
  void tooLittleDataGivesNoFit() {
    assertThat(PowerLawFit.fit(new int[] {1, 2, 3}).alpha()).isNaN();
  }

  @Test
  void hurwitzZetaMatchesKnownValues() {
    assertThat(PowerLawFit.hurwitzZeta(2, 1)).isCloseTo(Math.PI * Math.PI / 6,
        org.assertj.core.data.Offset.offset(1e-9));
    assertThat(PowerLawFit.hurwitzZeta(3, 1)).isCloseTo(1.2020569031595942,
        org.assertj.core.data.Offset.offset(1e-9));
  }
}
