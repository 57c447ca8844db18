package dev.mycelium.sim.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.sim.report.Report;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The adversary scenario on a small network: with 30% liars running every scripted attack at
 * once, honest broadcasts still reach 99% of honest nodes, no honest node is eclipsed, forged
 * suspicions kill nobody and no honest fragment is lost (the targets, which the
 * 1,000-node runs in docs/SIMULATION.md check at full size).
 */
class AdversaryScenarioTest {
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> run(int nodes, double malicious, String attack) {
    Map<String, String> over = new LinkedHashMap<>();
    over.put("nodes", Integer.toString(nodes));
    over.put("grow.settle-ms", "10000");
    over.put("adversary.malicious", Double.toString(malicious));
    over.put("adversary.attack", attack);
    over.put("adversary.attack-ms", "40000");
    over.put("adversary.broadcasts", "10");
    over.put("adversary.eclipse-targets", "3");
    over.put("adversary.victim-pool", "16");
    over.put("adversary.wipes", "3");
    Report r = ScenarioRunner.run("adversary", ScenarioRunner.load("adversary", over),
        ScenarioRunner.silent()).report();
    r.findings().forEach(System.out::println);
    return (List<Map<String, Object>>) r.results().get("attacks");
  }

  @Test
  void thirtyPercentLiarsMissEveryTarget() {
    List<Map<String, Object>> rows = run(80, 0.3, "all");
    assertThat(rows).hasSize(1);
    Map<String, Object> all = rows.get(0);
    assertThat((Integer) all.get("malicious nodes")).isEqualTo(24);
    assertThat((Long) all.get("scripted lies")).isGreaterThan(10_000L);
    assertThat((Double) all.get("reach min")).isGreaterThanOrEqualTo(0.99);
    assertThat(all.get("eclipsed max")).isEqualTo(0);
    assertThat(all.get("false suspicions")).isEqualTo(0);
    assertThat(all.get("false deaths")).isEqualTo(0);
    assertThat(all.get("fragments lost")).isEqualTo(0);
    assertThat(all.get("wiped owners restored")).isEqualTo(3);
    assertThat(all.get("fake store entries")).isEqualTo(0);
    assertThat(all.get("honest peers banned by honest nodes")).isEqualTo(0);
    assertThat((Integer) all.get("liars banned by honest nodes")).isPositive();
  }
}
