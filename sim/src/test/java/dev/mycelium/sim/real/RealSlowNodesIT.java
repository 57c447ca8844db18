package dev.mycelium.sim.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioRunner;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code slow-nodes} on four real node processes: one is frozen with SIGSTOP for 2 s and loses
 * a tenth of its inbound frames, another is SIGKILLed. A 2 s pause is well inside the failure
 * detector's suspicion timeout, so no live node may be declared dead, while the killed one
 * must be noticed (suspected, or its link dropped) by a node that had it as a neighbour. The
 * scenario is the one the simulator runs, on the real substrate of its cluster.
 */
class RealSlowNodesIT {
  @TempDir Path dir;

  @Test
  @SuppressWarnings("unchecked")
  void pausesAreNotDeathsAndTheKillIsSuspected() {
    var config = ScenarioRunner.load("slow-nodes", Map.ofEntries(
        Map.entry("nodes", "4"),
        Map.entry("slow-nodes.minority", "0.25"),
        Map.entry("slow-nodes.pause-ms", "2000"),
        Map.entry("slow-nodes.minority-loss", "0.1"),
        Map.entry("slow-nodes.window-ms", "5000"),
        Map.entry("slow-nodes.crashes", "1"),
        Map.entry("slow-nodes.observe-ms", "6000"),
        Map.entry("real.join-interval-ms", "100"),
        Map.entry("real.settle-ms", "3000")));

    Report report = RealRunner.run("slow-nodes", config, dir, ScenarioRunner.silent());

    String md = report.markdown();
    Map<String, Object> deaths = (Map<String, Object>) report.results().get("false deaths");
    assertThat(((Number) deaths.get("dead verdicts about live nodes")).intValue()).as(md)
        .isZero();
    assertThat(((Number) deaths.get("nodes never crashed declared dead")).intValue()).as(md)
        .isZero();
    Map<String, Object> limits = (Map<String, Object>) report.results().get("limits");
    assertThat(limits.get("slow processing ms per message (half the minority)"))
        .isEqualTo("not on this substrate");
    Map<String, Object> detection =
        (Map<String, Object>) report.results().get("detection of real crashes");
    assertThat(detection.get("crashes")).isEqualTo(1);
    assertThat(detection.get("never noticed")).as(md).isEqualTo(0);
    assertThat(((Number) detection.get("first noticed by a neighbour: max ms")).longValue())
        .as(md).isBetween(0L, 6_000L);
    assertThat(report.plots()).extracting(Plot::file).contains("detection-times.png");
    assertThat(report.findings()).anyMatch(f -> f.contains("slow-per-message-ms"))
        .anyMatch(f -> f.contains("GET /v1/peers"));
  }
}
