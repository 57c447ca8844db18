package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Node faults beyond crash and pause: slow processing, graceful leave, disk wipe, bit flips. */
class FaultsTest {
  private record Fault(long time, int node, NodeFault fault) {}

  private static OverlaySim grown(long seed, int n, List<Fault> faults, Recorder rec) {
    OverlaySim sim = new OverlaySim(seed, n, OverlayConfig.lan(),
        new NetworkModel().latency(LatencyModel.fixed(30)));
    sim.listen(rec).subscribeAll("t");
    sim.listen(new SimListener() {
      @Override
      public void onFault(long time, int node, NodeFault fault) {
        faults.add(new Fault(time, node, fault));
      }
    });
    sim.growAll(0, 20);
    sim.runUntil(n * 20L + 10_000);
    return sim;
  }

  private static long deliveredAt(Recorder rec, int node, String payload) {
    return rec.of(OverlayEvent.Delivered.class).stream()
        .filter(s -> s.node() == node
            && ((OverlayEvent.Delivered) s.event()).payload().toStringUtf8().equals(payload))
        .mapToLong(Recorder.Seen::time).findFirst().orElse(-1);
  }

  @Test
  void aSlowNodeHandlesMessagesLateButHandlesThemAll() {
    List<Fault> faults = new ArrayList<>();
    Recorder rec = new Recorder();
    OverlaySim sim = grown(31, 30, faults, rec);
    int slow = 5;
    long t = sim.now();
    sim.slow(slow, t, 200, 20_000);
    sim.broadcast(0, t + 10, "t", ByteString.copyFromUtf8("x"), 1);
    sim.runFor(15_000);
    long fast = deliveredAt(rec, 1, "x") - (t + 10);
    long late = deliveredAt(rec, slow, "x") - (t + 10);
    assertThat(fast).isBetween(0L, 1_000L);
    // Every message to the slow node waits at least one processing time.
    assertThat(late).isGreaterThanOrEqualTo(200);
    assertThat(faults).anyMatch(f -> f.node() == slow && f.fault() instanceof NodeFault.Slow s
        && s.perMessageMillis() == 200);
    assertThat(GraphStats.of(sim).componentSizes()).containsExactly(30);
  }

  @Test
  void aNodeThatLeavesIsDroppedAtOnceWithoutADeathVerdict() {
    List<Fault> faults = new ArrayList<>();
    Recorder rec = new Recorder();
    OverlaySim sim = grown(37, 30, faults, rec);
    int leaver = 9;
    dev.mycelium.wire.NodeId id = sim.id(leaver);
    sim.leave(leaver, sim.now());
    sim.runFor(2_000);
    assertThat(sim.isLive(leaver)).isFalse();
    assertThat(sim.liveCount()).isEqualTo(29);
    for (int i = 0; i < 30; i++) {
      if (i != leaver) {
        assertThat(sim.activeView(i)).doesNotContain(leaver);
      }
    }
    assertThat(rec.of(OverlayEvent.Dead.class))
        .noneMatch(s -> ((OverlayEvent.Dead) s.event()).peer().equals(id));
    assertThat(faults).anyMatch(f -> f.node() == leaver && f.fault() instanceof NodeFault.Leave);
  }

  @Test
  void diskWipesAndBitFlipsAreReportedWithReplayableSeeds() {
    List<Fault> first = new ArrayList<>();
    List<Fault> second = new ArrayList<>();
    for (List<Fault> faults : List.of(first, second)) {
      OverlaySim sim = grown(41, 10, faults, new Recorder());
      sim.wipeDisk(3, sim.now() + 5);
      sim.flipBits(4, sim.now() + 6, 8);
      sim.runFor(100);
    }
    assertThat(first).anyMatch(f -> f.node() == 3 && f.fault() instanceof NodeFault.DiskWipe);
    assertThat(first).anyMatch(f -> f.node() == 4 && f.fault() instanceof NodeFault.BitFlips b
        && b.count() == 8);
    assertThat(second).isEqualTo(first);
  }

  @Test
  void aRestartIsReportedAndTheLiveCountFollowsCrashesAndRestarts() {
    List<Fault> faults = new ArrayList<>();
    OverlaySim sim = grown(43, 12, faults, new Recorder());
    assertThat(sim.liveCount()).isEqualTo(12);
    sim.crash(2, sim.now());
    sim.crash(2, sim.now() + 1);
    sim.runFor(10);
    assertThat(sim.liveCount()).isEqualTo(11);
    sim.restart(2, sim.now(), List.of(0));
    sim.runFor(5_000);
    assertThat(sim.liveCount()).isEqualTo(12);
    assertThat(faults).filteredOn(f -> f.fault() instanceof NodeFault.Crash).hasSize(1);
    assertThat(faults).anyMatch(f -> f.node() == 2 && f.fault() instanceof NodeFault.Restart);
  }
}
