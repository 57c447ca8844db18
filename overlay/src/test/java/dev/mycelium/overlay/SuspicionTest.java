package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.wire.NodeId;
import org.junit.jupiter.api.Test;

class SuspicionTest {
  private static NodeId id(int b) {
    byte[] x = new byte[32];
    x[0] = (byte) b;
    return NodeId.of(x);
  }

  @Test
  void timeoutStartsAtMaxAndReachesMinAfterKConfirmations() {
    assertThat(Suspicion.timeout(1_000, 6_000, 3, 0)).isEqualTo(6_000);
    assertThat(Suspicion.timeout(1_000, 6_000, 3, 3)).isEqualTo(1_000);
    assertThat(Suspicion.timeout(1_000, 6_000, 3, 10)).isEqualTo(1_000);
    // log(2)/log(4) = 0.5: half way after one of three confirmations.
    assertThat(Suspicion.timeout(1_000, 6_000, 3, 1)).isEqualTo(3_500);
    long previous = Long.MAX_VALUE;
    for (int c = 0; c <= 3; c++) {
      long t = Suspicion.timeout(1_000, 6_000, 3, c);
      assertThat(t).isLessThan(previous);
      previous = t;
    }
  }

  @Test
  void onlyDistinctConfirmersCountAndTheFirstDoesNot() {
    Suspicion s = new Suspicion(100, 1_000, 6_000, 3, id(1));
    Awareness healthy = new Awareness(8);
    assertThat(s.deadline(healthy)).isEqualTo(6_100);
    assertThat(s.confirm(id(1))).isFalse();
    assertThat(s.confirm(id(2))).isTrue();
    assertThat(s.confirm(id(2))).isFalse();
    assertThat(s.confirmations()).isEqualTo(1);
    assertThat(s.deadline(healthy)).isEqualTo(3_600);
  }

  @Test
  void poorLocalHealthStretchesTheDeadline() {
    Suspicion s = new Suspicion(0, 1_000, 6_000, 3, id(1));
    Awareness sick = new Awareness(8);
    sick.apply(2);
    assertThat(s.deadline(sick)).isEqualTo(18_000);
  }

  @Test
  void awarenessIsClamped() {
    Awareness a = new Awareness(3);
    a.apply(-5);
    assertThat(a.score()).isZero();
    a.apply(10);
    assertThat(a.score()).isEqualTo(3);
    assertThat(a.scale(500)).isEqualTo(2_000);
  }

  @Test
  void rejectsNonsense() {
    assertThatThrownBy(() -> new Suspicion(0, 5_000, 1_000, 3, id(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("min <= max");
  }
}
