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
        0, 1_000_000, 1, 0)).hasMessageContaining("outlive");
    assertThatThrownBy(() -> d.withDigestLeafBits(10)).hasMessageContaining("4, 8, 12 or 16");
    assertThatThrownBy(() -> d.withReplicationFactor(0)).hasMessageContaining("at least 1");
  }
}
