package dev.mycelium.sim.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code partition-heal}, the scenario written once, on four real node processes: the fault
 * API's cut splits the active views into two components, a broadcast made on one side stays
 * there during the split, the overlay is one component again after the heal, the split's recent
 * broadcasts are pulled across the new links, a broadcast made after the heal reaches everyone,
 * and the private fragments written during the split stay readable on their owners.
 */
class RealPartitionHealIT {
  @TempDir Path dir;

  @Test
  @SuppressWarnings("unchecked")
  void splitsAndHealsIntoOneComponent() {
    var config = ScenarioRunner.load("partition-heal", Map.ofEntries(
        Map.entry("nodes", "4"),
        Map.entry("partition-heal.split-ms", "6000"),
        Map.entry("partition-heal.broadcasts-per-side", "1"),
        Map.entry("partition-heal.observe-ms", "5000"),
        Map.entry("overlay.preset", "local"),
        Map.entry("partition-heal.check-interval-ms", "500"),
        Map.entry("real.join-interval-ms", "100"),
        Map.entry("real.settle-ms", "2000"),
        Map.entry("real.poll-ms", "100")));
    Report report = RealRunner.run("partition-heal", config, dir, ScenarioRunner.silent());
    // The numbers behind a failure, in the failsafe output.
    System.out.println(report.markdown());

    Map<String, Object> heal = (Map<String, Object>) report.results().get("heal");
    assertThat(heal.get("side sizes")).isEqualTo("2 / 2");
    assertThat(heal.get("puts failed")).isEqualTo(0);
    assertThat((Long) heal.get("two components after the cut, ms")).isNotNegative();
    assertThat((Integer) heal.get("most components during the split")).isGreaterThanOrEqualTo(2);
    assertThat((Long) heal.get("one component after heal, ms")).isNotNegative();
    assertThat((Double) heal.get("broadcast after heal: reach")).isEqualTo(1.0);
    assertThat((Long) heal.get("broadcast after heal: ms to every node")).isNotNegative();
    List<Map<String, Object>> shared = (List<Map<String, Object>>) report.results()
        .get("broadcasts made during the split");
    assertThat(shared).hasSize(2).allSatisfy(r -> {
      // Written halfway through the 6 s split.
      assertThat((Long) r.get("age at heal ms")).isBetween(3_000L, 20_000L);
      assertThat((Double) r.get("reach on its side before heal")).isEqualTo(1.0);
      assertThat((Double) r.get("reach on the other side before heal")).isZero();
      // Seconds old at the heal, well inside the message cache: the new links announce them.
      assertThat((Double) r.get("reach on the other side")).isEqualTo(1.0);
    });
    List<Map<String, Object>> priv = (List<Map<String, Object>>) report.results()
        .get("private fragments written during the split");
    assertThat(priv).hasSize(2)
        .allSatisfy(r -> assertThat(r.get("readable on its owner")).isEqualTo(true));
    assertThat(report.findings()).noneMatch(f -> f.contains("not followed"));
    assertThat(report.plots()).extracting(p -> p.file()).contains("components-over-time.png");
  }
}
