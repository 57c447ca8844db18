package dev.mycelium.sim.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.node.cli.ProgressBar;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioRunner;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real-mode forms of growth, mass-failure, hub-attack and self-healing, each on four or
 * five real node processes on 127.0.0.1 with short timings: the nodes really start, really die
 * by SIGKILL, really lose bytes on disk, and the report says what happened.
 */
class RealModeIT {
  @TempDir Path tmp;

  private Report run(String scenario, String... sets) {
    Map<String, String> over = new LinkedHashMap<>();
    over.put("real.settle-ms", "3000");
    over.put("real.poll-ms", "100");
    for (int i = 0; i + 1 < sets.length; i += 2) {
      over.put(sets[i], sets[i + 1]);
    }
    return RealRunner.run(scenario, ScenarioRunner.load(scenario, over), tmp.resolve("nodes"),
        new ProgressBar(new PrintWriter(PrintWriter.nullWriter()), 0, false));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> section(Report r, String name) {
    assertThat(r.results()).containsKey(name);
    return (Map<String, Object>) r.results().get(name);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> rows(Report r, String name) {
    assertThat(r.results()).containsKey(name);
    return (List<Map<String, Object>>) r.results().get(name);
  }

  private static double num(Map<String, Object> row, String key) {
    assertThat(row).containsKey(key);
    return ((Number) row.get(key)).doubleValue();
  }

  private static List<String> plots(Report r) {
    return r.plots().stream().map(Plot::file).toList();
  }

  @Test
  void growthMeasuresTheGraphTheRealNodesReport() throws Exception {
    Report r = run("growth", "nodes", "4", "growth.checkpoints", "2");
    List<Map<String, Object>> steps = rows(r, "per step");
    assertThat(steps).hasSize(2);
    Map<String, Object> last = steps.get(1);
    assertThat(num(last, "joined")).isEqualTo(4);
    assertThat(num(last, "components")).isEqualTo(1);
    assertThat(num(last, "largest")).isEqualTo(4);
    assertThat(num(last, "mean degree")).isGreaterThanOrEqualTo(1);
    int counted = rows(r, "final degree distribution (active views)").stream()
        .mapToInt(row -> (int) num(row, "nodes")).sum();
    assertThat(counted).isEqualTo(4);
    assertThat(num(section(r, "traffic"), "messages per node per second, mean")).isPositive();
    assertThat(plots(r)).contains("degree-distribution.png", "traffic.png");
    r.write(tmp.resolve("report"));
    assertThat(Files.readString(tmp.resolve("report/report.json"))).contains("\"mode\" : "
        + "\"real\"");
    assertThat(Files.readString(tmp.resolve("report/report.md"))).contains("real node "
        + "processes");
  }

  @Test
  void massFailureKillsProcessesAndTheSurvivorsHeal() {
    // Two rounds: before the second, the first round's killed processes restart on their
    // files and must rejoin.
    Report r = run("mass-failure", "nodes", "5", "mass-failure.fractions", "[0.4, 0.4]",
        "mass-failure.broadcasts", "2", "mass-failure.heal-horizon-ms", "8000",
        "mass-failure.check-interval-ms", "500");
    Map<String, Object> row = rows(r, "mass failure").get(0);
    assertThat(num(row, "crashed")).isEqualTo(2);
    assertThat(num(row, "survivors")).isEqualTo(3);
    assertThat(num(row, "one component after ms")).isNotNegative();
    assertThat(num(row, "views healed after ms")).isNotNegative();
    assertThat(num(row, "first message reliability")).isEqualTo(1.0);
    assertThat(num(row, "reliability after healing")).isEqualTo(1.0);
    assertThat(rows(r, "mass failure")).hasSize(2);
    assertThat(num(rows(r, "mass failure").get(1), "survivors")).isEqualTo(3);
    assertThat(r.findings()).anyMatch(f -> f.matches("Before the next phase the 2 killed "
        + "nodes restarted on their files; all 5 nodes were one component again after \\d+ "
        + "ms\\."));
    assertThat(plots(r)).contains("reliability-after-failure.png",
        "largest-component-over-time.png");
  }

  @Test
  void hubAttackRemovesFromTheSnapshotAndKillsOnTheRunningNodes() {
    Report r = run("hub-attack", "nodes", "5", "hub-attack.step", "0.2",
        "hub-attack.max-fraction", "0.8", "hub-attack.dynamic-fraction", "0.4",
        "hub-attack.dynamic-heal-ms", "5000");
    List<Map<String, Object>> snapshot = rows(r,
        "largest component vs removal (snapshot, no repair)");
    assertThat(snapshot).hasSize(5);
    assertThat(num(snapshot.get(0), "largest (hubs first)")).isEqualTo(1.0);
    assertThat(num(snapshot.get(4), "largest (hubs first)")).isLessThanOrEqualTo(0.2);
    List<Map<String, Object>> dyn = rows(r, "attack on the running overlay (share of survivors)");
    assertThat(dyn).hasSize(2);
    for (Map<String, Object> row : dyn) {
      assertThat(num(row, "removed")).isEqualTo(2);
      assertThat(num(row, "components after healing")).isEqualTo(1);
      assertThat(num(row, "largest after healing")).isEqualTo(1.0);
    }
  }

  @Test
  void selfHealingRepairsRottenBytesAndRestoresAWipedNode() {
    Report r = run("self-healing", "nodes", "4", "self-healing.victim-fragments", "60",
        "self-healing.fragments-per-node", "2", "self-healing.lookups", "100",
        "self-healing.lookup-window-ms", "2000", "self-healing.loss-min", "0.08",
        "self-healing.loss-max", "0.1", "self-healing.replicate-max-ms", "60000",
        "self-healing.repair-max-ms", "60000");
    Map<String, Object> loss = section(r, "loss");
    assertThat(num(loss, "lost")).isGreaterThanOrEqualTo(4);
    assertThat(num(loss, "bytes corrupted")).isEqualTo(num(loss, "lost"));
    Map<String, Object> lookups = section(r, "lookups during loss");
    assertThat(num(lookups, "failures")).isZero();
    assertThat(num(lookups, "present and identical")).isPositive();
    Map<String, Object> repair = section(r, "repair");
    // A counter, so it cannot miss what a sample taken too late would: every damaged
    // fragment was found and fetched again from a holder.
    assertThat(num(repair, "repairs done")).isGreaterThanOrEqualTo(num(loss, "lost"));
    assertThat(num(repair, "time to full repair ms")).isNotNegative();
    assertThat(num(repair, "share restored")).isEqualTo(1.0);
    assertThat(num(section(r, "wipe and restore"), "share restored")).isEqualTo(1.0);
    assertThat(plots(r)).contains("fragments-by-state.png");
  }
}
