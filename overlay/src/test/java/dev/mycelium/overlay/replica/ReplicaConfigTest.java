package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReplicaConfigTest {
  @Test
  void defaultsAreValidAndRThree() {
    assertThat(ReplicaConfig.DEFAULTS.replicationFactor()).isEqualTo(3);
    assertThat(ReplicaConfig.DEFAULTS.withDigestLeafBits(8).digestLeafBits()).isEqualTo(8);
    assertThat(ReplicaConfig.DEFAULTS.withReplicationFactor(5).replicationFactor()).isEqualTo(5);
  }

  @Test
  void tombstonesMustOutliveTheLongestRepairCycle() {
    ReplicaConfig d = ReplicaConfig.DEFAULTS;
    assertThatThrownBy(() -> new ReplicaConfig(3, 12, 1000, 1, 1, 1, 1, 1, 10, 3, 1_000_000, 1,
        0, 1_000_000, 1_000, 1_000, 1, 0)).hasMessageContaining("outlive");
    assertThatThrownBy(() -> d.withDigestLeafBits(10)).hasMessageContaining("4, 8, 12 or 16");
    assertThatThrownBy(() -> d.withReplicationFactor(0)).hasMessageContaining("at least 1");
  }

  @Test
  void theScrubStepFitsInItsPassAndEveryScrubSettingIsPositive() {
    assertThatThrownBy(() -> scrub(60_000, 120_000, 10))
        .hasMessage("scrub step (120000 ms) cannot be longer than the scrub pass (60000 ms)");
    assertThatThrownBy(() -> scrub(0, 0, 10)).hasMessage("scrub pass must be at least 1, got 0");
    assertThatThrownBy(() -> scrub(60_000, 1_000, 0))
        .hasMessage("scrub batch must be at least 1, got 0");
    assertThat(scrub(60_000, 60_000, 1).scrubStepMillis()).isEqualTo(60_000);
  }

  private static ReplicaConfig scrub(long pass, long step, int batch) {
    ReplicaConfig d = ReplicaConfig.DEFAULTS;
    return new ReplicaConfig(d.replicationFactor(), d.digestLeafBits(),
        d.antiEntropyIntervalMillis(), d.repairsPerTick(), d.idleRepairsPerTick(), d.fetchBatch(),
        d.fetchTimeoutMillis(), d.backoffBaseMillis(), d.backoffMaxMillis(), d.maxAttempts(),
        d.lostRetryMillis(), d.streamPerTick(), d.holderGraceMillis(),
        d.tombstoneRetentionMillis(), pass, step, batch, d.restoreBroadcastDelayMillis());
  }
}
