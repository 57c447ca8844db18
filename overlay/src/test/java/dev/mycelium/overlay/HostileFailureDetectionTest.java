package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Ack;
import dev.mycelium.wire.proto.Alive;
import dev.mycelium.wire.proto.Dead;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Neighbor;
import dev.mycelium.wire.proto.PingReq;
import dev.mycelium.wire.proto.Suspect;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Peers that lie to the failure detector: forged Suspect, Dead and Alive about third parties,
 * absurd incarnations, Acks on someone else's behalf, PingReqs from strangers. Each test
 * asserts what the honest node still believes about its honest neighbours.
 */
class HostileFailureDetectionTest {
  private final OverlayConfig config = OverlayConfig.test();
  private final NodeId honest = TestCrypto.id(2);
  private final NodeId other = TestCrypto.id(3);
  private final NodeId liar = TestCrypto.id(4);
  private final NodeId stranger = TestCrypto.id(66);

  private OverlayNode node() {
    NodeId id = TestCrypto.id(1);
    OverlayNode n = new OverlayNode(config, new PeerAddress(id, "h1", 7001),
        new SplittableRandom(1), TestCrypto.signer(id), TestCrypto.verifier(), 0);
    n.start(0);
    for (NodeId p : List.of(honest, other, liar)) {
      n.onMessage(0, p, Envelope.newBuilder().setNeighbor(Neighbor.newBuilder()
          .setSender(new PeerAddress(p, "10.0.0." + (p.toBytes()[0] & 0xff), 7000).toProto())
          .setHighPriority(true)).build());
    }
    assertThat(n.activeView()).containsExactlyInAnyOrder(honest, other, liar);
    return n;
  }

  private static Envelope suspect(NodeId about, long inc) {
    return Envelope.newBuilder().setSuspect(Suspect.newBuilder()
        .setNodeId(ByteString.copyFrom(about.toBytes())).setIncarnation(inc)).build();
  }

  private static Envelope dead(NodeId about, long inc) {
    return Envelope.newBuilder().setDead(Dead.newBuilder()
        .setNodeId(ByteString.copyFrom(about.toBytes())).setIncarnation(inc)).build();
  }

  private static Envelope alive(NodeId about, long inc) {
    return Envelope.newBuilder().setAlive(Alive.newBuilder()
        .setNodeId(ByteString.copyFrom(about.toBytes())).setIncarnation(inc)).build();
  }

  private static boolean reports(List<Effect> effects, Class<? extends OverlayEvent> type) {
    return effects.stream().anyMatch(e -> e instanceof Effect.Report r && type.isInstance(r.event()));
  }

  /**
   * Runs the node for a while; every peer but the silent ones answers its Pings. Returns all
   * effects.
   */
  private List<Effect> run(OverlayNode n, long from, long to, List<NodeId> silent,
      Runnable eachTick) {
    List<Effect> all = new ArrayList<>();
    for (long t = from; t < to; t += config.tickMillis()) {
      eachTick.run();
      List<Effect> out = n.tick(t);
      all.addAll(out);
      for (Effect e : out) {
        if (e instanceof Effect.Send s && s.envelope().hasPing() && !silent.contains(s.to())) {
          all.addAll(n.onMessage(t, s.to(), Envelope.newBuilder().setAck(Ack.newBuilder()
              .setSeq(s.envelope().getPing().getSeq())).build()));
        }
      }
    }
    return all;
  }

  @Test
  void aStrangersSuspectAndDeadAboutANeighbourChangeNothing() {
    OverlayNode n = node();
    List<Effect> out = new ArrayList<>(n.onMessage(1, stranger, suspect(honest, 0)));
    out.addAll(n.onMessage(2, stranger, dead(honest, 0)));
    assertThat(reports(out, OverlayEvent.Suspected.class)).isFalse();
    assertThat(reports(out, OverlayEvent.Dead.class)).isFalse();
    assertThat(n.detector().state(honest)).isEqualTo(MemberState.ALIVE);
    assertThat(n.activeView()).contains(honest);
    assertThat(n.scores().score(3, honest)).isZero();
  }

  @Test
  void aNeighboursForgedSuspicionOnlyBringsOurOwnProbeForward() {
    OverlayNode n = node();
    long t0 = 5 * config.probeIntervalMillis();
    run(n, 0, t0, List.of(), () -> { });
    List<Effect> out = new ArrayList<>(n.onMessage(t0, liar, suspect(honest, Long.MAX_VALUE)));
    out.addAll(n.onMessage(t0, liar, dead(honest, Long.MAX_VALUE)));
    assertThat(reports(out, OverlayEvent.Suspected.class)).isFalse();
    assertThat(n.detector().state(honest)).isEqualTo(MemberState.ALIVE);
    assertThat(n.activeView()).contains(honest);
    // The next tick probes the accused at once.
    assertThat(n.tick(t0)).anyMatch(e -> e instanceof Effect.Send s && s.to().equals(honest)
        && s.envelope().hasPing());
    // A campaign of lies over many periods, while the accused answers its probes.
    long t1 = t0 + 20 * config.probeIntervalMillis();
    List<Effect> campaign = run(n, t0 + config.tickMillis(), t1, List.of(), () -> {
      n.onMessage(0, liar, suspect(honest, Long.MAX_VALUE));
      n.onMessage(0, liar, dead(honest, 0));
    });
    assertThat(reports(campaign, OverlayEvent.Suspected.class)).isFalse();
    assertThat(reports(campaign, OverlayEvent.Dead.class)).isFalse();
    assertThat(n.detector().deaths()).isZero();
    assertThat(n.activeView()).contains(honest);
    assertThat(n.scores().score(t1, honest)).isZero();
  }

  @Test
  void hearsayProbesAtMostOncePerPeriod() {
    OverlayNode n = node();
    long t0 = 5 * config.probeIntervalMillis();
    run(n, 0, t0, List.of(), () -> { });
    int[] pings = {0};
    long t1 = t0 + 10 * config.probeIntervalMillis();
    for (long t = t0; t < t1; t += config.tickMillis()) {
      n.onMessage(t, liar, suspect(honest, 0));
      for (Effect e : n.tick(t)) {
        if (e instanceof Effect.Send s && s.to().equals(honest) && s.envelope().hasPing()) {
          pings[0]++;
          n.onMessage(t, honest, Envelope.newBuilder().setAck(Ack.newBuilder()
              .setSeq(s.envelope().getPing().getSeq())).build());
        }
      }
    }
    // Ordinary probing sends one Ping per period; hearsay may add at most one more.
    assertThat(pings[0]).isLessThanOrEqualTo(2 * 10 + 1);
  }

  @Test
  void aliveAboutSomeoneElseDoesNotRefuteOurSuspicion() {
    OverlayNode n = node();
    List<Effect> all = run(n, 0, 4 * config.probeIntervalMillis(), List.of(honest), () -> { });
    assertThat(reports(all, OverlayEvent.Suspected.class)).isTrue();
    assertThat(n.detector().state(honest)).isEqualTo(MemberState.SUSPECT);
    List<Effect> forged = n.onMessage(10_000, liar, alive(honest, 7));
    assertThat(reports(forged, OverlayEvent.Refuted.class)).isFalse();
    assertThat(n.detector().state(honest)).isEqualTo(MemberState.SUSPECT);
    List<Effect> real = n.onMessage(10_001, honest, alive(honest, 1));
    assertThat(reports(real, OverlayEvent.Refuted.class)).isTrue();
  }

  @Test
  void anAbsurdIncarnationAboutUsIsRefusedAndCannotOverflow() {
    OverlayNode n = node();
    n.onMessage(1, liar, suspect(n.id(), Long.MAX_VALUE));
    n.onMessage(2, liar, dead(n.id(), -1L));
    assertThat(n.detector().incarnation()).isZero();
    assertThat(n.malformed()).isEqualTo(2);
    // An honest suspicion at our incarnation is still refuted, one step up.
    List<Effect> out = n.onMessage(3, other, suspect(n.id(), 0));
    assertThat(n.detector().incarnation()).isEqualTo(1);
    assertThat(out).anyMatch(e -> e instanceof Effect.Send s && s.to().equals(other)
        && s.envelope().hasAlive() && s.envelope().getAlive().getIncarnation() == 1);
  }

  @Test
  void aSubjectsOwnAliveMayNotJumpAbsurdly() {
    OverlayNode n = node();
    run(n, 0, 4 * config.probeIntervalMillis(), List.of(honest), () -> { });
    assertThat(n.detector().state(honest)).isEqualTo(MemberState.SUSPECT);
    n.onMessage(10_000, honest, alive(honest, Long.MAX_VALUE));
    assertThat(n.malformed()).isEqualTo(1);
    assertThat(n.detector().state(honest)).isEqualTo(MemberState.SUSPECT);
  }

  @Test
  void acksOnSomeoneElsesBehalfDoNotKeepASilentPeerAlive() {
    OverlayNode n = node();
    List<Effect> all = new ArrayList<>();
    for (long t = 0; t < 4 * config.probeIntervalMillis(); t += config.tickMillis()) {
      List<Effect> out = n.tick(t);
      all.addAll(out);
      for (Effect e : out) {
        if (e instanceof Effect.Send s && s.envelope().hasPing()) {
          Envelope ack = Envelope.newBuilder().setAck(Ack.newBuilder()
              .setSeq(s.envelope().getPing().getSeq())).build();
          if (s.to().equals(honest)) {
            // honest is down; a stranger answers for it. (A helper asked for an indirect probe
            // may vouch for the target: that is what SWIM asks helpers to do.)
            all.addAll(n.onMessage(t, stranger, ack));
          } else {
            all.addAll(n.onMessage(t, s.to(), ack));
          }
        }
      }
    }
    assertThat(n.detector().state(honest)).isEqualTo(MemberState.SUSPECT);
  }

  @Test
  void aStrangersPingReqIsNotRelayed() {
    OverlayNode n = node();
    PeerAddress victim = new PeerAddress(TestCrypto.id(99), "192.0.2.9", 9999);
    List<Effect> out = n.onMessage(1, stranger, Envelope.newBuilder().setPingReq(
        PingReq.newBuilder().setSeq(1).setTarget(victim.toProto())).build());
    assertThat(out).noneMatch(e -> e instanceof Effect.Connect || e instanceof Effect.Send);
    // The same request from a neighbour is relayed.
    List<Effect> relayed = n.onMessage(2, other, Envelope.newBuilder().setPingReq(
        PingReq.newBuilder().setSeq(1).setTarget(victim.toProto())).build());
    assertThat(relayed).anyMatch(e -> e instanceof Effect.Send s && s.to().equals(victim.id()));
  }
}
