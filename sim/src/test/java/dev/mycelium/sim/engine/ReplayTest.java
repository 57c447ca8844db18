package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The replay guarantee: one seed, one scenario, one outcome. */
class ReplayTest {
  private record Outcome(long trace, long messages, List<String> views, int delivered) {}

  private static Outcome run(long seed) {
    OverlaySim sim = new OverlaySim(seed, 60, OverlayConfig.lan(),
        new NetworkModel().loss(0.05).duplication(0.01));
    Recorder rec = new Recorder();
    sim.listen(rec).subscribeAll("t");
    sim.growAll(0, 20);
    sim.crash(7, 8_000);
    sim.pause(9, 9_000, 2_000);
    for (int b = 0; b < 5; b++) {
      sim.broadcast(b * 3, 10_000 + b * 500, "t", ByteString.copyFromUtf8("m" + b), 1);
    }
    sim.runUntil(20_000);
    List<String> views = new ArrayList<>();
    for (int i = 0; i < sim.size(); i++) {
      views.add(java.util.Arrays.toString(sim.activeView(i)));
    }
    return new Outcome(sim.traceHash(), sim.totalMessagesSent(), views,
        rec.of(dev.mycelium.overlay.OverlayEvent.Delivered.class).size());
  }

  @Test
  void twoRunsWithOneSeedAreIdentical() {
    Outcome first = run(1234);
    Outcome second = run(1234);
    assertThat(second).isEqualTo(first);
    assertThat(first.delivered()).isGreaterThan(5 * 50);
  }

  @Test
  void anotherSeedGivesAnotherRun() {
    assertThat(run(1).trace()).isNotEqualTo(run(2).trace());
  }
}
