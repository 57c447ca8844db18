package dev.mycelium.sim.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The simulated substrate's answers that no shipped scenario asks of it. */
class SimClusterTest {
  @Test
  void aWrittenFragmentIsReadableOnItsOwnerWhileItRuns() {
    var config = ScenarioRunner.load("churn", Map.of("nodes", "12",
        "grow.settle-ms", "5000"));
    SimCluster c = new SimCluster(new ScenarioContext("churn", config,
        ScenarioRunner.silent(), () -> { }));
    c.replicating(3);
    String id = c.write(0, 0, 128, new SplittableRandom(1)).orElseThrow();
    assertThat(c.readable(0, id)).isTrue();
    assertThat(c.readable(1, id)).isFalse();
    assertThat(c.readable(0, "not written")).isFalse();
    c.crash(0, c.now());
    c.runUntil(c.now() + 1, "crash");
    assertThat(c.readable(0, id)).isFalse();
  }
}
