package dev.mycelium.sim.real;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code broadcast} on four real node processes: without loss every shared fragment reaches
 * every node, and with injected loss the nodes really drop frames yet the report keeps its
 * shape.
 */
class RealBroadcastIT {
  @TempDir Path dir;

  @Test
  @SuppressWarnings("unchecked")
  void everyBroadcastReachesEveryNodeWithoutLoss() {
    var config = ScenarioRunner.load("broadcast", Map.ofEntries(
        Map.entry("nodes", "4"),
        Map.entry("broadcast.losses", "[0, 0.2]"),
        Map.entry("broadcast.count", "3"),
        Map.entry("broadcast.interval-ms", "500"),
        Map.entry("broadcast.horizon-ms", "4000"),
        Map.entry("broadcast.step-ms", "100"),
        Map.entry("broadcast.recover-ms", "500"),
        Map.entry("real.join-interval-ms", "100"),
        Map.entry("real.settle-ms", "3000"),
        Map.entry("real.poll-ms", "100")));
    Report report = RealRunner.run("broadcast", config, dir, ScenarioRunner.silent());
    // The numbers behind a failure, in the failsafe output.
    System.out.println(report.markdown());

    List<Map<String, Object>> rows = (List<Map<String, Object>>) report.results()
        .get("broadcasts");
    assertThat(rows).hasSize(2);
    Map<String, Object> clean = rows.get(0);
    assertThat(clean.get("loss")).isEqualTo(0.0);
    assertThat((Double) clean.get("mean reach")).isEqualTo(1.0);
    assertThat((Double) clean.get("min reach")).isEqualTo(1.0);
    assertThat(clean.get("reached 100%")).isEqualTo(3L);
    assertThat((Long) clean.get("t100 max ms")).isBetween(0L, 4000L);
    assertThat(clean.get("dropped by injected loss")).isEqualTo(0L);
    assertThat((Long) rows.get(1).get("dropped by injected loss")).isPositive();
    assertThat(report.plots()).extracting(p -> p.file())
        .contains("reach-over-time.png", "traffic.png");
    assertThat(report.results()).containsKey("traffic");
  }

  @Test
  void lossOnBroadcastTrafficOnlyIsRefusedBeforeAnyNodeStarts() {
    var config = ScenarioRunner.load("broadcast", Map.of("nodes", "4",
        "broadcast.loss-applies-to", "broadcast"));
    assertThatThrownBy(() -> RealRunner.run("broadcast", config, dir, ScenarioRunner.silent()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("loss-applies-to");
    assertThat(dir.resolve("node.conf")).doesNotExist();
  }
}
