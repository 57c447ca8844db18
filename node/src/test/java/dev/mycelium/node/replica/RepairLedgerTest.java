package dev.mycelium.node.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.wire.NodeId;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RepairLedgerTest {
  private final RepairLedger ledger = new RepairLedger();
  private final FragmentId a = FragmentId.of(new byte[32]);
  private final NodeId peer = NodeId.fromPublicKey(new byte[32]);
  private final StoreStats own = new StoreStats(
      Map.of(FragmentState.PRESENT, 5L, FragmentState.BLANK, 1L), 6, 100, 1);
  private final StoreStats held = new StoreStats(Map.of(FragmentState.PRESENT, 7L), 7, 100, 0);

  @Test
  @SuppressWarnings("unchecked")
  void countsRepairsFailuresLossesAndBytesAcrossCycles() {
    ledger.repaired(a, peer, 100, false);
    ledger.running(true);
    assertThat(ledger.running()).isTrue();
    ledger.repaired(a, peer, 50, true);
    ledger.failed(a, null, "no holder");
    ledger.replicated(25);
    ledger.lost(a, 8, false);
    ledger.lost(a, 8, true);
    ledger.queue(3);
    ledger.cycleFinished(new RepairStatus.Cycle("manual", 10_000, 11_500, 1, 1));
    ledger.running(false);
    RepairStatus s = ledger.status(own, held);
    assertThat(s.repairsDone()).isEqualTo(2);
    assertThat(s.repairsFailed()).isEqualTo(1);
    assertThat(s.losses()).isEqualTo(2);
    assertThat(s.bytesMoved()).isEqualTo(175);
    assertThat(s.queue()).isEqualTo(3);
    assertThat(s.running()).isFalse();
    assertThat(s.cycles()).isEqualTo(1);
    RepairStatus.Cycle c = s.lastCycle().orElseThrow();
    assertThat(c.trigger()).isEqualTo("manual");
    assertThat(c.durationMillis()).isEqualTo(1_500);
    Map<String, Object> json = s.withPlacement(java.util.List.of("H1"), 4, 2, true).toJson();
    assertThat(json).containsEntry("repairs_done", 2L).containsEntry("bytes_moved", 175L)
        .containsEntry("manifest_version", 4L).containsEntry("stream_backlog", 2L)
        .containsEntry("restoring", true).containsEntry("holders", java.util.List.of("H1"));
    assertThat((Map<Object, Object>) json.get("fragments")).containsEntry("BLANK", 1L)
        .containsEntry("LOST", 0L);
    assertThat((Map<Object, Object>) json.get("held")).containsEntry("PRESENT", 7L);
    assertThat((Map<Object, Object>) json.get("last_cycle")).containsEntry("duration_ms", 1_500L)
        .containsEntry("repaired", 1L).containsEntry("failed", 1L);
  }

  @Test
  void noCycleYetReportsNull() {
    RepairStatus s = ledger.status(own, held);
    assertThat(s.lastCycle()).isEmpty();
    assertThat(s.toJson()).containsEntry("last_cycle", null);
    assertThat(s.cycles()).isZero();
  }

  @Test
  void metricsReadTheStatusAtScrapeTime() {
    NodeMetrics metrics = new NodeMetrics(() -> null);
    RepairLedger.registerMetrics(metrics.registry(), () -> ledger.status(own, held));
    ledger.repaired(a, peer, 42, false);
    ledger.queue(9);
    String text = new String(metrics.scrape(), StandardCharsets.UTF_8);
    assertThat(text).contains("mycelium_repair_repaired_total 1.0")
        .contains("mycelium_repair_moved_bytes_total 42.0")
        .contains("mycelium_repair_queue_fragments 9.0")
        .contains("mycelium_repair_held_replicas{state=\"PRESENT\"} 7.0");
    NodeMetrics silent = new NodeMetrics(() -> null);
    RepairLedger.registerMetrics(silent.registry(), () -> null);
    assertThat(new String(silent.scrape(), StandardCharsets.UTF_8))
        .doesNotContain("mycelium_repair_queue_fragments 0");
  }
}
