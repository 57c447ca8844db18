package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TokenBucketTest {
  @Test
  void refillsOnlyFromTheTimePassedIn() {
    TokenBucket b = new TokenBucket(10, 3, 1_000);
    assertThat(b.tryTake(1_000)).isTrue();
    assertThat(b.tryTake(1_000)).isTrue();
    assertThat(b.tryTake(1_000)).isTrue();
    assertThat(b.tryTake(1_000)).isFalse();
    assertThat(b.tryTake(1_050)).isFalse();
    assertThat(b.tryTake(1_100)).isTrue();
    // Time going backwards (a confused driver) never adds tokens.
    assertThat(b.tryTake(900)).isFalse();
    assertThat(b.available(100_000)).isEqualTo(3.0);
  }
}
