package dev.mycelium.node.replica;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReplicaServiceIdleTest {
  @Test
  void theNodeIsIdleOnlyOnceItsUserHasStoppedWritingForAWhile() {
    long lastWrite = 1_000_000;
    assertThat(ReplicaService.idle(lastWrite, lastWrite)).isFalse();
    assertThat(ReplicaService.idle(lastWrite + ReplicaService.IDLE_AFTER_MILLIS - 1, lastWrite))
        .isFalse();
    assertThat(ReplicaService.idle(lastWrite + ReplicaService.IDLE_AFTER_MILLIS, lastWrite))
        .isTrue();
  }
}
