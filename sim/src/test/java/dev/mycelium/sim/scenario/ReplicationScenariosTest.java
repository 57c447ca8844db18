package dev.mycelium.sim.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.sim.report.Report;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scenarios that drive the replication core, on small networks: the reference self-healing
 * protocol must lose nothing and fail no read, churn must report the replication factor over
 * time, and one seed must give the same report.
 */
class ReplicationScenariosTest {
  private static Report run(String scenario, String... sets) {
    Map<String, String> over = new LinkedHashMap<>();
    over.put("grow.settle-ms", "10000");
    for (int i = 0; i + 1 < sets.length; i += 2) {
      over.put(sets[i], sets[i + 1]);
    }
    return ScenarioRunner.run(scenario, ScenarioRunner.load(scenario, over),
        ScenarioRunner.silent()).report();
  }

  private static final String[] SMALL_HEALING = {"nodes", "30",
      "self-healing.fragments-per-node", "4", "self-healing.victim-fragments", "120",
      "self-healing.text-bytes", "128", "self-healing.repair-max-ms", "120000"};

  @SuppressWarnings("unchecked")
  private static Map<String, Object> section(Report r, String name) {
    return (Map<String, Object>) r.results().get(name);
  }

  @Test
  void selfHealingLosesNothingAndNoLookupFails() {
    Report r = run("self-healing", SMALL_HEALING);
    Map<String, Object> replication = section(r, "replication");
    assertThat((Integer) replication.get("min copies")).isGreaterThanOrEqualTo(3);
    Map<String, Object> loss = section(r, "loss");
    int lost = (Integer) loss.get("lost");
    assertThat(lost).isBetween(6, 12);
    Map<String, Object> lookups = section(r, "lookups during loss");
    assertThat(lookups.get("lookups")).isEqualTo(1000);
    assertThat(lookups.get("failures")).isEqualTo(0);
    assertThat((Integer) lookups.get("blank-flagged")).isPositive();
    Map<String, Object> repair = section(r, "repair");
    assertThat(repair.get("restored byte-identical")).isEqualTo(120);
    assertThat((Double) repair.get("share restored")).isEqualTo(1.0);
    assertThat((Long) repair.get("time to full repair ms")).isPositive();
    assertThat(((Number) repair.get("repairs done")).longValue()).isEqualTo(lost);
    assertThat(((Number) repair.get("bytes fetched by the node")).longValue()).isPositive();
    Map<String, Object> wipe = section(r, "wipe and restore");
    assertThat(wipe.get("restored byte-identical")).isEqualTo(120);
    assertThat((Long) wipe.get("time to restore ms")).isPositive();
    assertThat(r.plots()).extracting(p -> p.file()).contains("fragments-by-state.png");
  }

  @Test
  @SuppressWarnings("unchecked")
  void churnMeasuresTheReplicationFactorOverTime() {
    Report r = run("churn", "nodes", "60", "churn.duration-ms", "30000",
        "churn.downtime-ms", "10000", "churn.replication", "true",
        "churn.fragments-per-node", "3", "churn.text-bytes", "64");
    List<Map<String, Object>> rows =
        (List<Map<String, Object>>) r.results().get("replication under churn");
    assertThat(rows).hasSizeGreaterThan(3);
    for (Map<String, Object> row : rows) {
      // Above R = 3 now and then: a holder back from its downtime still holds its copy while
      // the owner has already placed one on its replacement.
      assertThat((Double) row.get("mean live copies")).isBetween(1.5, 3.5);
      assertThat((Integer) row.get("sampled")).isGreaterThanOrEqualTo(180);
    }
    // Written during the churn too: the sample grows.
    assertThat((Integer) rows.get(rows.size() - 1).get("sampled"))
        .isGreaterThan((Integer) rows.get(0).get("sampled"));
    assertThat(r.plots()).extracting(p -> p.file()).contains("churn-replication.png");
    assertThat(r.findings()).anyMatch(f -> f.startsWith("Replication under churn"));
  }

  @Test
  void churnWithoutReplicationHasNoReplicationSection() {
    Report r = run("churn", "nodes", "30", "churn.duration-ms", "5000");
    assertThat(r.results()).doesNotContainKey("replication under churn");
  }

  @Test
  void selfHealingReportIsTheSameForOneSeed(@TempDir Path dir) throws Exception {
    String[] sets = java.util.Arrays.copyOf(SMALL_HEALING, SMALL_HEALING.length + 4);
    sets[SMALL_HEALING.length] = "self-healing.wipe";
    sets[SMALL_HEALING.length + 1] = "false";
    sets[SMALL_HEALING.length + 2] = "self-healing.lookups";
    sets[SMALL_HEALING.length + 3] = "200";
    run("self-healing", sets).write(dir.resolve("a"));
    run("self-healing", sets).write(dir.resolve("b"));
    byte[] a = Files.readAllBytes(dir.resolve("a").resolve("report.json"));
    assertThat(Files.readAllBytes(dir.resolve("b").resolve("report.json"))).isEqualTo(a);
    assertThat(new String(a, java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"scenario\" : \"self-healing\"");
  }
}
