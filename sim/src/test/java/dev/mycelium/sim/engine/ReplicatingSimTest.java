package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.overlay.replica.ReplicaEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The simulator drives the replication core as the daemon does: puts reach R holders through
 * the simulated network, a crash keeps the disk, a wipe empties it and the node restores from
 * its holders, and one seed replays the same run.
 */
class ReplicatingSimTest {
  private static final FragmentCodec CODEC =
      new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));

  private static OverlaySim sim(long seed) {
    return OverlaySim.withReplication(seed, 12, OverlayConfig.lan(),
        new NetworkModel().latency(LatencyModel.uniform(20, 80)), ReplicaConfig.DEFAULTS, CODEC,
        1_000);
  }

  private static List<Fragment> writeAt(OverlaySim sim, int node, int count, long at) {
    List<Fragment> out = new ArrayList<>();
    for (int k = 0; k < count; k++) {
      out.add(CODEC.create(sim.keys(node), at + k, "note " + k, new float[] {k, 1, 2, 3},
          Map.of(), Visibility.SHARED));
    }
    sim.at(at, () -> out.forEach(f -> assertThat(sim.put(node, f)).isTrue()));
    return out;
  }

  private static int holders(OverlaySim sim, FragmentId id) {
    int n = 0;
    for (int i = 0; i < sim.size(); i++) {
      InMemoryHeldReplicas held = sim.held(i);
      if (sim.isLive(i) && held != null && held.replica(id).isPresent()) {
        n++;
      }
    }
    return n;
  }

  @Test
  void putsReachThreeHoldersAndAWipedNodeRestores() {
    OverlaySim sim = sim(5);
    List<Integer> acked = new ArrayList<>();
    sim.listen(new SimListener() {
      @Override
      public void onReplicaEvent(long time, int node, ReplicaEvent e) {
        if (e instanceof ReplicaEvent.WriteAcked) {
          acked.add(node);
        }
      }
    });
    sim.growAll(0, 20);
    List<Fragment> fs = writeAt(sim, 0, 20, 10_000);
    sim.runUntil(20_000);
    for (int i = 0; i < sim.size(); i++) {
      assertThat(sim.id(i)).isEqualTo(sim.keys(i).nodeId());
    }
    for (Fragment f : fs) {
      assertThat(holders(sim, f.id())).isEqualTo(3);
    }
    assertThat(acked).hasSize(60).containsOnly(0);
    assertThat(sim.applicationBytesSent()).isPositive();

    // A crashed holder keeps its disk: after the restart it still holds the replicas.
    int holder = sim.replica(0).holders().stream().mapToInt(sim::indexOf).findFirst()
        .orElseThrow();
    InMemoryHeldReplicas disk = sim.held(holder);
    sim.crash(holder, 20_000);
    sim.runUntil(21_000);
    assertThat(sim.replica(holder)).isNull();
    sim.restart(holder, 22_000, List.of(0 == holder ? 1 : 0));
    sim.runUntil(23_000);
    assertThat(sim.replica(holder)).isNotNull();
    assertThat(sim.held(holder)).isSameAs(disk);
    assertThat(disk.replica(fs.get(0).id())).isPresent();

    // The owner loses its disk and gets everything back from its holders.
    sim.wipeDisk(0, 30_000);
    sim.runUntil(30_001);
    assertThat(sim.store(0).get(fs.get(0).id())).isEmpty();
    sim.runUntil(90_000);
    for (Fragment f : fs) {
      assertThat(sim.store(0).get(f.id()).orElseThrow().state())
          .isEqualTo(FragmentState.PRESENT);
      assertThat(sim.store(0).keptBytesForTest(f.id()).orElseThrow()).isEqualTo(f.signed());
    }
  }

  /**
   * Once the writes are placed, a node's replication sleeps until its next anti-entropy round
   * (one per 30 s: 20 in 10 minutes, 21 with the first round's phase) or the next step of its
   * scrub (a pass of 15 minutes; the one at boot found nothing held, so the next starts after
   * this window), or when its active view changes, which a settled overlay's does rarely. The
   * minimum spacing of 1 s used to be its period: 600 ticks in 10 minutes.
   */
  @Test
  void anIdleReplicatingNodeSleepsUntilItsNextAntiEntropyRound() {
    OverlaySim sim = sim(11);
    sim.growAll(0, 20);
    writeAt(sim, 0, 20, 10_000);
    sim.runUntil(60_000);
    long[] before = new long[sim.size()];
    for (int i = 0; i < sim.size(); i++) {
      before[i] = sim.nodeCore(i).replicaTicks();
    }
    sim.runUntil(60_000 + 10 * 60_000);
    for (int i = 0; i < sim.size(); i++) {
      assertThat(sim.nodeCore(i).replicaTicks() - before[i]).as("replication ticks of node %d", i)
          .isBetween(20L, 22L);
    }
  }

  @Test
  void oneSeedReplaysTheSameRun() {
    long[] hashes = new long[2];
    for (int k = 0; k < 2; k++) {
      OverlaySim sim = sim(9);
      sim.growAll(0, 20);
      writeAt(sim, 3, 10, 5_000);
      sim.crash(7, 8_000);
      sim.runUntil(15_000);
      hashes[k] = sim.traceHash();
    }
    assertThat(hashes[0]).isEqualTo(hashes[1]);
  }

  @Test
  void aPlainSimulationHasNoReplicaCores() {
    OverlaySim sim = new OverlaySim(1, 3, OverlayConfig.lan(), new NetworkModel());
    sim.growAll(0, 20);
    sim.runUntil(2_000);
    assertThat(sim.replicating()).isFalse();
    assertThat(sim.replica(1)).isNull();
    assertThat(sim.keys(1)).isNull();
    assertThatThrownBy(() -> OverlaySim.withReplication(1, 3, OverlayConfig.lan(),
        new NetworkModel(), ReplicaConfig.DEFAULTS, CODEC, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("replica tick");
  }
}
