package dev.mycelium.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every metric a node registers follows {@link MetricNameRule}, the JVM's metrics are
 * exported beside them, and the rule itself tells good names from bad ones.
 */
class MetricNamesTest {
  private static NodeMetrics.Sources sources() {
    Map<FragmentState, Long> byState = new EnumMap<>(FragmentState.class);
    for (FragmentState s : FragmentState.values()) {
      byState.put(s, 1L);
    }
    StoreStats stats = new StoreStats(byState, 4, 100, 0);
    return new NodeMetrics.Sources() {
      @Override
      public StoreStats storeStats() {
        return stats;
      }

      @Override
      public long indexSize() {
        return 3;
      }

      @Override
      public long indexPending() {
        return 1;
      }

      @Override
      public long embedQueue() {
        return 0;
      }

      @Override
      public long scrubberChecked() {
        return 5;
      }

      @Override
      public long scrubberFailures() {
        return 0;
      }
    };
  }

  @Test
  void everyNodeMetricFollowsTheNamingRuleAndTheJvmIsExported() {
    NodeMetrics m = new NodeMetrics(MetricNamesTest::sources);
    m.httpRequest("/v1/status", 200, 1_000_000);
    String text = new String(m.scrape(), StandardCharsets.UTF_8);

    assertThat(MetricNameRule.check(text)).isEmpty();
    Map<String, String> families = MetricNameRule.families(text);
    assertThat(families).containsKeys("mycelium_store_fragments", "mycelium_index_vectors",
        "mycelium_index_pending_vectors", "mycelium_embedder_queued_fragments",
        "mycelium_http_request_duration_seconds");
    assertThat(families.keySet().stream().filter(n -> n.startsWith("mycelium_")).count())
        .isGreaterThanOrEqualTo(14);
    assertThat(families).containsKeys("jvm_memory_used_bytes", "jvm_threads_current",
        "jvm_gc_collection_seconds", "process_cpu_seconds_total");
    assertThat(MetricNameRule.labelNames(text)).contains("state", "route", "code");
  }

  @Test
  void theRuleRefusesNamesWithoutAreaOrUnit() {
    assertThat(MetricNameRule.problems("mycelium_index_vectors", "gauge")).isEmpty();
    assertThat(MetricNameRule.problems("mycelium_overlay_bans_total", "counter")).isEmpty();
    assertThat(MetricNameRule.problems("mycelium_overlay_bans", "counter")).isEmpty();
    assertThat(MetricNameRule.problems("mycelium_fault_dropped_frames_total", "counter"))
        .isEmpty();
    assertThat(MetricNameRule.problems("mycelium_http_request_duration_seconds", "histogram"))
        .isEmpty();
    assertThat(MetricNameRule.problems("mycelium_index_size", "gauge"))
        .singleElement().asString().contains("ends in its unit");
    assertThat(MetricNameRule.problems("mycelium_things_count", "gauge"))
        .anyMatch(p -> p.contains("area 'things'"));
    assertThat(MetricNameRule.problems("mycelium_http_latency_ms", "histogram"))
        .singleElement().asString().contains("base unit");
    assertThat(MetricNameRule.problems("mycelium_store_total", "counter"))
        .singleElement().asString().contains("<thing>_total");
    assertThat(MetricNameRule.problems("Mycelium_Store_Entries", "gauge"))
        .singleElement().asString().contains("snake case");
    assertThat(MetricNameRule.check("# TYPE mycelium_store_entries gauge\n"
        + "mycelium_store_entries{BadLabel=\"x\"} 1\n"))
        .containsExactly("label BadLabel: not lower snake case");
  }
}
