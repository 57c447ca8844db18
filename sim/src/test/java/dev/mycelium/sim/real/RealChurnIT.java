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
 * {@code churn} on five real node processes: every 3 s one of the three churned nodes leaves
 * (by SIGTERM or SIGKILL) and comes back on its files 4 s later, while two stable writers hold
 * replicated fragments. After the churn every node is back in one component, and the writers'
 * holders are all up again with copies of their fragments.
 */
class RealChurnIT {
  @TempDir Path dir;

  @Test
  @SuppressWarnings("unchecked")
  void theOverlayHealsAndReplicasSurviveChurn() {
    var config = ScenarioRunner.load("churn", Map.ofEntries(
        Map.entry("nodes", "5"),
        Map.entry("churn.duration-ms", "9000"),
        Map.entry("churn.interval-ms", "3000"),
        Map.entry("churn.downtime-ms", "4000"),
        Map.entry("churn.check-interval-ms", "3000"),
        Map.entry("churn.broadcast-every-ms", "4000"),
        Map.entry("churn.replication", "true"),
        Map.entry("churn.fragments-per-node", "3"),
        Map.entry("churn.replication-min-age-ms", "10000"),
        Map.entry("real.churn.writers", "2"),
        Map.entry("real.churn.reach-after-ms", "2000"),
        Map.entry("real.join-interval-ms", "100"),
        Map.entry("real.settle-ms", "3000")));

    Report report = RealRunner.run("churn", config, dir, ScenarioRunner.silent());

    Map<String, Object> churn = (Map<String, Object>) report.results().get("churn");
    assertThat(((Number) churn.get("departures")).intValue()).isGreaterThanOrEqualTo(2);
    assertThat(churn.get("returns")).isEqualTo(churn.get("departures"));
    Map<String, Object> after = (Map<String, Object>) report.results().get("overlay after churn");
    assertThat(after.get("up")).isEqualTo(5);
    assertThat(after.get("components")).isEqualTo(1);
    assertThat(((Number) after.get("stale view entries")).doubleValue()).isZero();
    Map<String, Object> replication = (Map<String, Object>) report.results().get("replication");
    assertThat(((Number) replication.get("first placement ms")).longValue()).isNotNegative();
    List<Map<String, Object>> rows =
        (List<Map<String, Object>>) report.results().get("replication under churn");
    Map<String, Object> last = rows.get(rows.size() - 1);
    assertThat(last.get("holders up, minimum over writers")).isEqualTo(3);
    assertThat(((Number) last.get("mean copies per fragment")).doubleValue())
        .isGreaterThanOrEqualTo(1.0);
    assertThat(report.plots()).extracting(Plot::file)
        .contains("churn-connectivity.png", "churn-replication.png");
  }
}
