package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.Plumtree;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Gossip;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The overlay's behaviour on a simulated network with a virtual clock: convergence, broadcast
 * under loss, crash detection and replacement, pauses that must not kill, partitions that
 * heal, and a misbehaving peer that gets banned while the others carry on.
 */
class OverlayScenarioTest {
  private static final String TOPIC = "t";

  private static OverlaySim grown(long seed, int n, NetworkModel net, Recorder rec) {
    OverlaySim sim = new OverlaySim(seed, n, OverlayConfig.lan(), net);
    sim.listen(rec).subscribeAll(TOPIC);
    sim.growAll(0, 20);
    sim.runUntil(n * 20L + 10_000);
    return sim;
  }

  /**
   * Every live node has a non-empty view within the cap, and no link stays one-sided: a link
   * may be one-sided for a moment while a Neighbor or Disconnect is in flight, so one-sided
   * pairs seen now must be gone a few seconds later.
   */
  private static void assertHealthyViews(OverlaySim sim) {
    int cap = sim.config().activeViewSize();
    Set<List<Integer>> oneSided = oneSided(sim);
    sim.runFor(3_000);
    Set<List<Integer>> later = oneSided(sim);
    later.retainAll(oneSided);
    assertThat(later).as("links that stayed one-sided").isEmpty();
    for (int i = 0; i < sim.size(); i++) {
      if (sim.status(i) == OverlaySim.Status.UP) {
        assertThat(sim.activeView(i).length).as("active view of node %d", i).isBetween(1, cap);
      }
    }
  }

  private static Set<List<Integer>> oneSided(OverlaySim sim) {
    Set<List<Integer>> pairs = new HashSet<>();
    for (int i = 0; i < sim.size(); i++) {
      if (sim.status(i) != OverlaySim.Status.UP) {
        continue;
      }
      for (int j : sim.activeView(i)) {
        boolean back = false;
        for (int k : sim.activeView(j)) {
          back |= k == i;
        }
        if (!back) {
          pairs.add(List.of(i, j));
        }
      }
    }
    return pairs;
  }

  private static int deliveredCount(Recorder rec, String payload) {
    Set<Integer> nodes = new HashSet<>();
    for (Recorder.Seen s : rec.of(OverlayEvent.Delivered.class)) {
      if (((OverlayEvent.Delivered) s.event()).payload().toStringUtf8().equals(payload)) {
        nodes.add(s.node());
      }
    }
    return nodes.size();
  }

  @Test
  void fiveNodesConvergeToConnectedSymmetricViews() {
    OverlaySim sim = grown(5, 5, new NetworkModel(), new Recorder());
    assertThat(GraphStats.of(sim).componentSizes()).containsExactly(5);
    assertHealthyViews(sim);
    for (int i = 0; i < 5; i++) {
      assertThat(sim.activeView(i).length).isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void twoHundredNodesConvergeWithinTheDegreeCap() {
    OverlaySim sim = grown(200, 200, new NetworkModel(), new Recorder());
    GraphStats g = GraphStats.of(sim);
    assertThat(g.componentSizes()).containsExactly(200);
    assertThat(g.maxDegree()).isLessThanOrEqualTo(sim.config().activeViewSize());
    assertHealthyViews(sim);
    double mean = g.degreeHistogram().entrySet().stream()
        .mapToDouble(e -> e.getKey() * (double) e.getValue()).sum() / 200;
    assertThat(mean).isGreaterThan(5.0);
  }

  @Test
  void aNetworkGrownInDoublingWavesIsOneComponentWithFullViews() {
    OverlaySim sim = new OverlaySim(5, 2_000, OverlayConfig.lan(), new NetworkModel());
    // 1 + 1 + 2 + ... + 1024 + 976: eleven waves of 2 s.
    long grown = sim.growInWaves(0, 2_000);
    assertThat(grown).isEqualTo(11 * 2_000L);
    sim.runUntil(grown + 10_000);
    GraphStats g = GraphStats.of(sim);
    assertThat(g.componentSizes()).containsExactly(2_000);
    assertHealthyViews(sim);
    double mean = g.degreeHistogram().entrySet().stream()
        .mapToDouble(e -> e.getKey() * (double) e.getValue()).sum() / 2_000;
    assertThat(mean).isGreaterThan(5.5);
  }

  /**
   * Drivers wake a node at its core's deadline, not every tick period: an idle network costs
   * about one wake-up per node per probe period (its probe round, now and then a shuffle),
   * where ticking every period cost {@code probeInterval / tickMillis} (10 with these
   * timings).
   */
  @Test
  void anIdleNetworkWakesEachNodeAboutOncePerProbePeriod() {
    OverlaySim sim = grown(13, 200, new NetworkModel(), new Recorder());
    long periods = 20;
    long wakes = sim.wakeUps();
    long messages = sim.totalMessagesDelivered();
    sim.runFor(periods * sim.config().probeIntervalMillis());
    double wakesPerPeriod = (sim.wakeUps() - wakes) / (200.0 * periods);
    double messagesPerPeriod = (sim.totalMessagesDelivered() - messages) / (200.0 * periods);
    assertThat(wakesPerPeriod).isBetween(1.0, 2.0);
    // Pings and Acks to each of the (at most six) neighbours, now and then a shuffle or a
    // Neighbor request.
    assertThat(messagesPerPeriod).isLessThan(2.0 * sim.config().activeViewSize() + 4);
  }

  @Test
  void broadcastReachesEveryNodeWithoutLossAndWithThirtyPercentLoss() {
    Recorder rec = new Recorder();
    NetworkModel net = new NetworkModel();
    OverlaySim sim = grown(7, 100, net, rec);
    sim.broadcast(3, sim.now(), TOPIC, ByteString.copyFromUtf8("clean"), 1);
    sim.runFor(5_000);
    assertThat(deliveredCount(rec, "clean")).isEqualTo(100);
    net.loss(0.3);
    sim.broadcast(42, sim.now(), TOPIC, ByteString.copyFromUtf8("lossy"), 1);
    sim.runFor(15_000);
    assertThat(deliveredCount(rec, "lossy")).isEqualTo(100);
  }

  @Test
  void crashedNeighbourIsSuspectedThenDeadAndReplacedFromThePassiveView() {
    Recorder rec = new Recorder();
    OverlaySim sim = grown(11, 40, new NetworkModel(), rec);
    int victim = 17;
    List<Integer> holders = new ArrayList<>();
    for (int i = 0; i < sim.size(); i++) {
      for (int j : sim.activeView(i)) {
        if (j == victim) {
          holders.add(i);
        }
      }
    }
    assertThat(holders).isNotEmpty();
    long crashAt = sim.now();
    NodeId victimId = sim.id(victim);
    sim.crash(victim, crashAt);
    sim.runFor(10_000);
    for (int h : holders) {
      assertThat(rec.of(OverlayEvent.Suspected.class)).as("holder %d suspects the victim", h)
          .anyMatch(s -> s.node() == h && ((OverlayEvent.Suspected) s.event()).peer()
              .equals(victimId) && s.time() - crashAt <= 3 * sim.config().probeIntervalMillis());
      assertThat(sim.activeView(h)).doesNotContain(victim);
      assertThat(sim.activeView(h).length)
          .isGreaterThanOrEqualTo(sim.config().activeViewSize() - 1);
    }
    sim.runFor(sim.config().suspicionMaxMillis() + 5_000);
    assertThat(rec.of(OverlayEvent.Dead.class))
        .anyMatch(s -> ((OverlayEvent.Dead) s.event()).peer().equals(victimId));
    assertThat(GraphStats.of(sim).componentSizes()).containsExactly(39);
  }

  @Test
  void aNodePausedForFiveSecondsIsNotDeclaredDead() {
    Recorder rec = new Recorder();
    OverlaySim sim = grown(13, 40, new NetworkModel(), rec);
    int paused = 21;
    NodeId pausedId = sim.id(paused);
    sim.pause(paused, sim.now(), 5_000);
    sim.runFor(60_000);
    assertThat(rec.of(OverlayEvent.Suspected.class)).as("the pause is noticed")
        .anyMatch(s -> ((OverlayEvent.Suspected) s.event()).peer().equals(pausedId));
    assertThat(rec.of(OverlayEvent.Dead.class)).as("but never taken for a death")
        .noneMatch(s -> ((OverlayEvent.Dead) s.event()).peer().equals(pausedId));
    assertThat(rec.of(OverlayEvent.Refuted.class))
        .anyMatch(s -> ((OverlayEvent.Refuted) s.event()).peer().equals(pausedId));
    assertThat(GraphStats.of(sim).componentSizes()).containsExactly(40);
    assertThat(sim.activeView(paused)).isNotEmpty();
  }

  @Test
  void aCrashedNodeRestartedWithEmptyStateRejoins() {
    Recorder rec = new Recorder();
    OverlaySim sim = grown(23, 30, new NetworkModel(), rec);
    sim.crash(12, sim.now());
    sim.runFor(15_000);
    assertThat(GraphStats.of(sim).liveNodes()).isEqualTo(29);
    sim.restart(12, sim.now(), List.of(3));
    sim.runFor(10_000);
    assertThat(sim.status(12)).isEqualTo(OverlaySim.Status.UP);
    assertThat(sim.activeView(12).length).isGreaterThanOrEqualTo(2);
    assertThat(GraphStats.of(sim).componentSizes()).containsExactly(30);
    sim.broadcast(12, sim.now(), TOPIC, ByteString.copyFromUtf8("back"), 1);
    sim.runFor(5_000);
    assertThat(deliveredCount(rec, "back")).isEqualTo(30);
  }

  @Test
  void aTwoWayPartitionHealsIntoOneComponent() {
    Recorder rec = new Recorder();
    NetworkModel net = new NetworkModel();
    OverlaySim sim = grown(17, 40, net, rec);
    BitSet left = new BitSet();
    BitSet right = new BitSet();
    for (int i = 0; i < 40; i++) {
      (i % 2 == 0 ? left : right).set(i);
    }
    int cut = net.partition(left, right, true);
    sim.runFor(60_000);
    assertThat(GraphStats.of(sim).componentSizes()).as("split while cut").hasSize(2);
    net.heal(cut);
    sim.runFor(60_000);
    assertThat(GraphStats.of(sim).componentSizes()).containsExactly(40);
    sim.broadcast(0, sim.now(), TOPIC, ByteString.copyFromUtf8("after heal"), 1);
    sim.runFor(5_000);
    assertThat(deliveredCount(rec, "after heal")).isEqualTo(40);
  }

  @Test
  void aPeerSendingGarbageAndForgeriesIsBannedWhileOthersCarryOn() {
    Recorder rec = new Recorder();
    OverlaySim sim = grown(19, 20, new NetworkModel(), rec);
    byte[] raw = new byte[32];
    raw[0] = 66;
    NodeId rogue = NodeId.of(raw);
    int target = 4;
    long t = sim.now();
    ByteString id = ByteString.copyFrom(new byte[Plumtree.ID_LENGTH]);
    for (int k = 0; k < 6; k++) {
      sim.inject(rogue, target, t + k * 10, Envelope.getDefaultInstance());
      sim.inject(rogue, target, t + k * 10 + 5, Envelope.newBuilder().setGossip(Gossip.newBuilder()
          .setId(id).setOrigin(ByteString.copyFrom(sim.id(1).toBytes()))
          .setSignature(ByteString.copyFromUtf8("forged")).setTopic(TOPIC).setTtl(5)
          .setPayload(ByteString.copyFromUtf8("evil"))).build());
    }
    sim.runFor(1_000);
    assertThat(rec.of(OverlayEvent.Banned.class)).singleElement().satisfies(s -> {
      assertThat(s.node()).isEqualTo(target);
      assertThat(((OverlayEvent.Banned) s.event()).peer()).isEqualTo(rogue);
    });
    assertThat(sim.core(target).scores().isBanned(sim.now(), rogue)).isTrue();
    assertThat(deliveredCount(rec, "evil")).isZero();
    sim.broadcast(9, sim.now(), TOPIC, ByteString.copyFromUtf8("honest"), 1);
    sim.runFor(5_000);
    assertThat(deliveredCount(rec, "honest")).isEqualTo(20);
    assertHealthyViews(sim);
  }
}
