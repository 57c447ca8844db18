package dev.mycelium.sim.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.sim.report.Report;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every shipped scenario file runs on a small network, in every build, and says what it
 * should: these are the scenarios users run at 1,000 to 100,000 nodes.
 */
class ScenariosTest {
  private static Report run(String scenario, String... sets) {
    Map<String, String> over = new java.util.LinkedHashMap<>();
    over.put("grow.settle-ms", "10000");
    for (int i = 0; i + 1 < sets.length; i += 2) {
      over.put(sets[i], sets[i + 1]);
    }
    return ScenarioRunner.run(scenario, ScenarioRunner.load(scenario, over),
        ScenarioRunner.silent()).report();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> section(Report r, String name) {
    return (Map<String, Object>) r.results().get(name);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> rows(Report r, String name) {
    return (List<Map<String, Object>>) r.results().get(name);
  }

  @Test
  void everyShippedScenarioLoadsAndIsDocumented() throws Exception {
    for (String name : ScenarioRunner.BUILT_IN) {
      assertThat(ScenarioRunner.load(name, Map.of()).getString("kind")).isEqualTo(name);
      String text = new String(ScenarioRunner.class.getResourceAsStream("/scenarios/" + name
          + ".conf").readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(text).as(name + " documents itself at the top").startsWith("# " + name + ":")
          .contains("# Network:").contains("# Load:").contains("# Faults").contains("Measured");
    }
  }

  @Test
  void growthReportsShapeAndFitsPerStep() {
    Report r = run("growth", "nodes", "120", "growth.checkpoints", "3");
    List<Map<String, Object>> steps = rows(r, "per step");
    assertThat(steps).hasSize(3);
    Map<String, Object> last = steps.get(2);
    assertThat(last.get("joined")).isEqualTo(120);
    assertThat(last.get("components")).isEqualTo(1);
    assertThat((Double) last.get("mean path")).isBetween(1.5, 6.0);
    assertThat((Double) last.get("clustering")).isBetween(0.0, 1.0);
    assertThat(rows(r, "power-law fits (Clauset-Shalizi-Newman MLE)")).hasSize(2);
    assertThat(r.plots()).extracting(p -> p.file()).contains("degree-distribution.png");
    assertThat(r.plots().get(0).logX()).isTrue();
  }

  @Test
  void broadcastReachesEveryoneAtEachLossRate() {
    Report r = run("broadcast", "nodes", "100", "broadcast.count", "3",
        "broadcast.recover-ms", "5000", "broadcast.horizon-ms", "8000");
    List<Map<String, Object>> rows = rows(r, "broadcasts");
    assertThat(rows).extracting(x -> x.get("loss")).containsExactly(0.0, 0.1, 0.3);
    for (Map<String, Object> row : rows) {
      assertThat((Double) row.get("mean reach")).isEqualTo(1.0);
    }
    assertThat((Long) rows.get(0).get("t99.9 max ms")).isBetween(1L, 1_500L);
    assertThat((Double) rows.get(0).get("copies/node steady")).isBetween(0.9, 1.5);
    assertThat(r.findings()).anyMatch(f -> f.startsWith("0% loss"));
  }

  @Test
  void networkSearchIsAnsweredFindsWhatIsInReachAndPenalizesNobody() {
    Report r = run("network-search", "nodes", "100", "search.searches", "40",
        "search.hops", "[1, 2]", "search.holders", "10", "search.crashed", "0.1",
        "search.slow", "0.1");
    List<Map<String, Object>> rows = rows(r, "searches");
    assertThat(rows).hasSize(3);
    for (Map<String, Object> row : rows.subList(0, 2)) {
      assertThat(row.get("completed")).as(row.toString()).isEqualTo(40);
      assertThat((Double) row.get("complete share")).as(row.toString()).isEqualTo(1.0);
      assertThat((Double) row.get("relevant found mean")).as(row.toString())
          .isEqualTo((Double) row.get("relevant in reach mean"));
      assertThat((Double) row.get("messages/query")).isPositive();
    }
    assertThat((Double) rows.get(1).get("messages/query"))
        .isGreaterThan((Double) rows.get(0).get("messages/query"));
    assertThat((Double) rows.get(1).get("relevant found mean"))
        .isGreaterThan((Double) rows.get(0).get("relevant found mean"));
    assertThat(section(r, "honesty")).containsEntry("penalties", 0L).containsEntry("bans", 0L);
  }

  @Test
  void sharedFragmentsReachTheirSubscribersAndForgedOnesAreNeverKept() {
    Report r = run("shared-knowledge", "nodes", "120", "shared.publications", "15",
        "shared.topics", "4", "shared.liars", "0.05", "shared.forged-per-liar", "2");
    List<Map<String, Object>> rows = rows(r, "publications");
    assertThat(rows).hasSize(3);
    Map<String, Object> clean = rows.get(0);
    assertThat(clean.get("publications")).isEqualTo(15);
    // 120 nodes are within the daemon's TTL of 6 hops of one another: everyone is reached.
    assertThat((Double) clean.get("reach min")).as(clean.toString()).isEqualTo(1.0);
    assertThat((Double) clean.get("copies/node/publication")).isBetween(0.5, 3.0);
    assertThat((Double) rows.get(1).get("reach mean")).as(rows.get(1).toString())
        .isGreaterThan(0.9);
    Map<String, Object> liars = section(r, "liars");
    assertThat(liars.get("liars")).isEqualTo(6);
    assertThat((Long) liars.get("forged deliveries checked and rejected")).isPositive();
    assertThat(liars).containsEntry("penalties of honest nodes", 0L);
  }

  @Test
  void massFailureKeepsTheSurvivorsConnected() {
    Report r = run("mass-failure", "nodes", "100", "mass-failure.fractions", "[0.5]",
        "mass-failure.heal-horizon-ms", "20000", "mass-failure.broadcasts", "3");
    Map<String, Object> row = rows(r, "mass failure").get(0);
    assertThat(row.get("crashed")).isEqualTo(50);
    // Measured after the crash has happened: the survivors' views still hold dead nodes then.
    assertThat((Long) row.get("views healed after ms")).isGreaterThan(0L);
    assertThat(row.get("components at end")).isEqualTo(1);
    assertThat((Long) row.get("one component after ms")).isBetween(0L, 20_000L);
    assertThat((Double) row.get("reliability after healing")).isEqualTo(1.0);
  }

  @Test
  void hubAttackCurvesStartWholeAndShrink() {
    Report r = run("hub-attack", "nodes", "100", "hub-attack.dynamic-heal-ms", "15000");
    List<Map<String, Object>> rows = rows(r, "largest component vs removal (snapshot, no repair)");
    assertThat(rows.get(0).get("largest (hubs first)")).isEqualTo(1.0);
    assertThat(rows.get(0).get("largest (random)")).isEqualTo(1.0);
    double prev = 1.0;
    for (Map<String, Object> row : rows) {
      double v = (Double) row.get("largest (hubs first)");
      assertThat(v).isLessThanOrEqualTo(prev);
      prev = v;
    }
    assertThat((Double) rows.get(rows.size() - 1).get("largest (hubs first)")).isLessThan(0.2);
    List<Map<String, Object>> dyn = rows(r, "attack on the running overlay (share of survivors)");
    assertThat(dyn).hasSize(2);
    assertThat(dyn.get(0).get("largest after healing")).isEqualTo(1.0);
  }

  @Test
  void slowNodesAreNotDeclaredDeadAndCrashesAreFound() {
    Report r = run("slow-nodes", "nodes", "80", "slow-nodes.crashes", "3",
        "slow-nodes.window-ms", "20000", "slow-nodes.observe-ms", "20000");
    assertThat(section(r, "false deaths").get("dead verdicts about live nodes")).isEqualTo(0);
    Map<String, Object> d = section(r, "detection of real crashes");
    assertThat((Integer) d.get("neighbour pairs (healthy holders)")).isGreaterThan(3);
    assertThat(d.get("never suspected")).isEqualTo(0);
    assertThat((Long) d.get("suspected: max ms")).isBetween(1L, 3_000L);
    assertThat(r.plots()).extracting(p -> p.file()).contains("detection-times.png");
  }

  @Test
  void aSplitHealsIntoOneComponent() {
    Report r = run("partition-heal", "nodes", "80", "partition-heal.split-ms", "30000",
        "partition-heal.observe-ms", "40000");
    Map<String, Object> heal = section(r, "heal");
    assertThat((Integer) heal.get("most components during the split")).isGreaterThanOrEqualTo(2);
    assertThat((Long) heal.get("one component after heal, ms")).isBetween(0L, 40_000L);
    assertThat(heal.get("broadcast after heal: reach")).isEqualTo(1.0);
    assertThat((Long) heal.get("two components after the cut, ms")).isBetween(0L, 30_000L);
    assertThat(rows(r, "broadcasts made during the split")).hasSize(6).allSatisfy(row ->
        assertThat(row.get("reach on the other side before heal")).isEqualTo(0.0));
    // Simulated nodes carry no data: the private half of the experiment is declared absent.
    assertThat(r.results()).doesNotContainKey("private fragments written during the split");
    assertThat(r.findings()).anyMatch(f -> f.startsWith("Private fragments written during a "
        + "split are not followed on simulated nodes"));
  }

  @Test
  void churnKeepsTheOverlayMostlyConnected() {
    Report r = run("churn", "nodes", "80", "churn.duration-ms", "40000",
        "churn.downtime-ms", "10000");
    List<Map<String, Object>> rows = rows(r, "overlay under churn");
    assertThat(rows).hasSizeGreaterThan(5);
    for (Map<String, Object> row : rows) {
      assertThat((Double) row.get("largest share")).isGreaterThan(0.9);
    }
    assertThat((Integer) section(r, "churn").get("departures")).isEqualTo(40);
  }

  @Test
  void overridesMustNameExistingKeysAndValidValues() {
    assertThatThrownBy(() -> ScenarioRunner.load("broadcast", Map.of("broadcast.lossez", "1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no such key").hasMessageContaining("broadcast.losses");
    assertThatThrownBy(() -> ScenarioRunner.load("nope", Map.of()))
        .hasMessageContaining("unknown scenario 'nope'");
    assertThatThrownBy(() -> run("growth", "nodes", "1"))
        .hasMessageContaining("nodes must be at least 2");
    assertThat(ScenarioRunner.load("growth", Map.of("network.loss", "0.25"))
        .getDouble("network.loss")).isEqualTo(0.25);
    ScenarioContext hubs = new ScenarioContext("growth", ScenarioRunner.load("growth",
        Map.of("overlay.active-view", "12", "overlay.active-target", "4")),
        ScenarioRunner.silent(), () -> { });
    assertThat(hubs.overlay().activeViewSize()).isEqualTo(12);
    assertThat(hubs.overlay().activeViewTarget()).isEqualTo(4);
    ScenarioContext wrong = new ScenarioContext("growth", ScenarioRunner.load("growth",
        Map.of("overlay.active-target", "9")), ScenarioRunner.silent(), () -> { });
    assertThatThrownBy(wrong::overlay).hasMessageContaining("must not exceed the active view");
  }

  @Test
  void aScenarioCanBeLoadedFromAFile(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("tiny.conf");
    Files.writeString(f, "kind = growth\ndescription = \"tiny\"\nnodes = 20\n"
        + "growth { checkpoints = 1, path-sources = 5 }\n");
    assertThat(ScenarioRunner.nameOf(f.toString())).isEqualTo("tiny");
    assertThat(ScenarioRunner.load(f.toString(), Map.of()).getInt("nodes")).isEqualTo(20);
  }
}
