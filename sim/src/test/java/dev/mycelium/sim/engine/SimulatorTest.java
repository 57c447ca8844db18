package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimulatorTest {
  @Test
  void eventsRunByTimeThenBySchedulingOrder() {
    Simulator sim = new Simulator();
    List<String> log = new ArrayList<>();
    sim.at(20, () -> log.add("b@20"));
    sim.at(10, () -> log.add("a@10"));
    sim.at(20, () -> log.add("c@20"));
    sim.at(20, () -> log.add("d@20"));
    sim.at(5, () -> sim.after(15, () -> log.add("e@20 scheduled last")));
    sim.runUntil(100);
    assertThat(log).containsExactly("a@10", "b@20", "c@20", "d@20", "e@20 scheduled last");
    assertThat(sim.now()).isEqualTo(100);
    assertThat(sim.eventsProcessed()).isEqualTo(6);
  }

  @Test
  void theClockOnlyMovesForward() {
    Simulator sim = new Simulator();
    sim.runUntil(50);
    assertThatThrownBy(() -> sim.at(49, () -> { }))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already at 50");
    assertThatThrownBy(() -> sim.after(-1, () -> { }))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void runUntilStopsBeforeLaterEvents() {
    Simulator sim = new Simulator();
    List<Long> seen = new ArrayList<>();
    sim.at(10, () -> seen.add(sim.now()));
    sim.at(30, () -> seen.add(sim.now()));
    sim.runUntil(20);
    assertThat(seen).containsExactly(10L);
    assertThat(sim.pending()).isEqualTo(1);
  }
}
