package dev.mycelium.sim.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code churn} on four real node processes, kept short because every return is a JVM start:
 * at each of two steps one of the three churned nodes leaves (by SIGTERM or SIGKILL), while a
 * stable writer's fragments are replicated on three holders and, at the second step, it sends
 * a broadcast. The downtime outlasts the churn, so both come back on their files after it. The
 * broadcast reaches the nodes up when it was sent; after the churn every node is back in one
 * component with no stale view entry, and the writer's holders are all up again with copies
 * of its fragments.
 */
class RealChurnIT {
  @TempDir Path dir;

  @Test
  @SuppressWarnings("unchecked")
  void theOverlayHealsAndReplicasSurviveChurn() {
    var config = ScenarioRunner.load("churn", Map.ofEntries(
        Map.entry("nodes", "4"),
        Map.entry("churn.duration-ms", "5000"),
        Map.entry("churn.interval-ms", "3000"),
        Map.entry("churn.downtime-ms", "5000"),
        Map.entry("churn.check-interval-ms", "1000"),
        Map.entry("churn.broadcast-every-ms", "2000"),
        Map.entry("churn.replication", "true"),
        Map.entry("churn.fragments-per-node", "3"),
        Map.entry("churn.replication-min-age-ms", "10000"),
        Map.entry("real.churn.writers", "1"),
        Map.entry("real.churn.reach-after-ms", "1000"),
        Map.entry("real.join-interval-ms", "100"),
        Map.entry("real.settle-ms", "2000")));

    Report report = RealRunner.run("churn", config, dir, ScenarioRunner.silent());

    String md = report.markdown();
    Map<String, Object> churn = (Map<String, Object>) report.results().get("churn");
    assertThat(((Number) churn.get("departures")).intValue()).as(md).isGreaterThanOrEqualTo(1);
    assertThat(churn.get("returns")).as(md).isEqualTo(churn.get("departures"));
    assertThat(((Number) churn.get("broadcasts")).intValue()).as(md).isGreaterThanOrEqualTo(1);
    List<Map<String, Object>> reach =
        (List<Map<String, Object>>) report.results().get("broadcasts under churn");
    assertThat(reach).as(md).isNotEmpty();
    assertThat(reach).as(md).allSatisfy(b ->
        assertThat(((Number) b.get("reach")).doubleValue()).isPositive());
    Map<String, Object> after = (Map<String, Object>) report.results().get("overlay after churn");
    assertThat(after.get("live")).as(md).isEqualTo(4);
    assertThat(after.get("answered")).as(md).isEqualTo(4);
    assertThat(after.get("components")).as(md).isEqualTo(1);
    assertThat(((Number) after.get("stale view entries")).doubleValue()).as(md).isZero();
    Map<String, Object> replication = (Map<String, Object>) report.results().get("replication");
    assertThat(((Number) replication.get("first placement ms")).longValue()).as(md)
        .isNotNegative();
    List<Map<String, Object>> rows =
        (List<Map<String, Object>>) report.results().get("replication under churn");
    Map<String, Object> last = rows.get(rows.size() - 1);
    assertThat(last.get("holders up, minimum over writers")).as(md).isEqualTo(3);
    assertThat(((Number) last.get("mean copies per fragment")).doubleValue()).as(md)
        .isGreaterThanOrEqualTo(2.0);
    assertThat(report.plots()).extracting(Plot::file)
        .contains("churn-connectivity.png", "churn-replication.png");
  }
}
