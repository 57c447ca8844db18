package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class OverlayConfigTest {
  @Test
  void presetsAreValidAndDeriveTimingsInOnePlace() {
    for (OverlayConfig c : List.of(OverlayConfig.local(), OverlayConfig.lan(), OverlayConfig.wan(),
        OverlayConfig.test())) {
      assertThat(c.suspicionMinMillis()).isGreaterThan(c.probeIntervalMillis());
      assertThat(c.suspicionMaxMillis()).isGreaterThanOrEqualTo(c.suspicionMinMillis());
      assertThat(c.indirectNackMillis()).isLessThan(c.indirectWindowMillis());
      assertThat(c.tickMillis()).isLessThan(c.probeTimeoutMillis());
    }
    OverlayConfig lan = OverlayConfig.lan();
    // memberlist: 4 * log10(36 + 1) * 1 s
    assertThat(lan.suspicionMinMillis()).isEqualTo(Math.round(4 * Math.log10(37) * 1_000));
    // A 5 s pause must end before the shortest suspicion does, so it is refuted, not fatal.
    assertThat(lan.suspicionMinMillis()).isGreaterThan(5_000 + lan.probeIntervalMillis());
  }

  @Test
  void badValuesAreRejectedWithTheirName() {
    assertThatThrownBy(() -> OverlayConfig.lan().withOutbound(10_000, 6_000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("peerMessagesPerSecond");
    assertThatThrownBy(() -> OverlayConfig.lan().withViews(6, 7, 30))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activeViewTarget");
    assertThatThrownBy(() -> OverlayConfig.lan().withViews(0, 30))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activeViewSize");
    assertThatThrownBy(() -> OverlayConfig.lan().withOutbound(-1, 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outboundQueueCapacity");
  }
}
