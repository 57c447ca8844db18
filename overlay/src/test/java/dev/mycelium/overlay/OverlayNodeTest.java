package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Join;
import dev.mycelium.wire.proto.Ping;
import dev.mycelium.wire.proto.Suspect;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OverlayNodeTest {
  private final OverlayConfig config = OverlayConfig.test();

  private OverlayNode node(int b) {
    NodeId id = TestCrypto.id(b);
    return new OverlayNode(config, new PeerAddress(id, "h" + b, 7000 + b),
        new SplittableRandom(b), TestCrypto.signer(id), TestCrypto.verifier(), 0);
  }

  private static <T extends OverlayEvent> List<T> events(List<Effect> effects, Class<T> type) {
    return effects.stream().filter(e -> e instanceof Effect.Report r && type.isInstance(r.event()))
        .map(e -> type.cast(((Effect.Report) e).event())).toList();
  }

  @Test
  void garbageFromAPeerGetsItBannedAndIgnored() {
    OverlayNode n = node(1);
    NodeId rogue = TestCrypto.id(66);
    List<Effect> last = List.of();
    int bans = 0;
    for (int i = 0; i < 3; i++) {
      last = n.onMessage(i, rogue, Envelope.getDefaultInstance());
      bans += events(last, OverlayEvent.Banned.class).size();
    }
    assertThat(bans).isEqualTo(1);
    assertThat(n.malformed()).isEqualTo(3);
    assertThat(n.scores().isBanned(10, rogue)).isTrue();
    List<Effect> ignored = n.onMessage(10, rogue,
        Envelope.newBuilder().setPing(Ping.newBuilder().setSeq(1)).build());
    assertThat(ignored).noneMatch(e -> e instanceof Effect.Send);
    assertThat(ignored).anyMatch(e -> e instanceof Effect.Disconnect d && d.peer().equals(rogue));
  }

  @Test
  void applicationMessagesPassTheSameDefencesAsOverlayMessages() {
    OverlayNode n = node(1);
    NodeId peer = TestCrypto.id(2);
    assertThat(n.admit(0, 0, peer, 0).accepted()).isTrue();
    assertThat(n.admit(0, 0, n.id(), 0).accepted()).isFalse();
    int bans = 0;
    for (int i = 0; i < 3; i++) {
      bans += events(n.penalize(1, peer, PeerScores.BAD_SIGNATURE, "forged replica"),
          OverlayEvent.Banned.class).size();
    }
    assertThat(bans).isEqualTo(1);
    OverlayNode.Admission refused = n.admit(2, 2, peer, 0);
    assertThat(refused.accepted()).isFalse();
    assertThat(refused.effects())
        .anyMatch(e -> e instanceof Effect.Disconnect d && d.peer().equals(peer));
  }

  @Test
  void aJoinWhoseAddressIsNotTheSendersIsMalformed() {
    OverlayNode n = node(1);
    OverlayNode other = node(2);
    Envelope spoofed = Envelope.newBuilder().setJoin(Join.newBuilder()
        .setJoiner(other.self().toProto())).build();
    n.onMessage(0, TestCrypto.id(3), spoofed);
    assertThat(n.malformed()).isEqualTo(1);
    assertThat(n.activeView()).isEmpty();
  }

  @Test
  void joinMakesBothSidesActiveNeighbours() {
    OverlayNode a = node(1);
    OverlayNode b = node(2);
    a.start(0);
    List<Effect> out = b.join(0, List.of(a.self()));
    Envelope join = ((Effect.Send) out.stream().filter(e -> e instanceof Effect.Send)
        .findFirst().orElseThrow()).envelope();
    List<Effect> reply = a.onMessage(10, b.id(), join);
    assertThat(a.activeView()).containsExactly(b.id());
    assertThat(events(reply, OverlayEvent.PeerUp.class)).hasSize(1);
    for (Effect e : reply) {
      if (e instanceof Effect.Send s && s.to().equals(b.id())) {
        b.onMessage(20, a.id(), s.envelope());
      }
    }
    assertThat(b.activeView()).containsExactly(a.id());
  }

  @Test
  void aSuspicionAboutItselfIsRefutedWithAHigherIncarnation() {
    OverlayNode n = node(1);
    NodeId accuser = TestCrypto.id(2);
    Envelope suspect = Envelope.newBuilder().setSuspect(Suspect.newBuilder()
        .setNodeId(ByteString.copyFrom(n.id().toBytes())).setIncarnation(0)).build();
    List<Effect> out = n.onMessage(0, accuser, suspect);
    assertThat(events(out, OverlayEvent.SelfRefuted.class)).singleElement()
        .satisfies(r -> assertThat(r.incarnation()).isEqualTo(1));
    assertThat(out).anyMatch(e -> e instanceof Effect.Send s && s.to().equals(accuser)
        && s.envelope().hasAlive() && s.envelope().getAlive().getIncarnation() == 1);
    // A second accuser with the old incarnation still gets an answer, without a new bump.
    List<Effect> again = n.onMessage(1, TestCrypto.id(3), suspect);
    assertThat(again).anyMatch(e -> e instanceof Effect.Send s && s.envelope().hasAlive()
        && s.envelope().getAlive().getIncarnation() == 1);
    assertThat(n.detector().incarnation()).isEqualTo(1);
  }

  @Test
  void anUnansweredProbeLeadsToIndirectProbesThenSuspicionAndDemotion() {
    OverlayNode a = node(1);
    OverlayNode b = node(2);
    OverlayNode c = node(3);
    a.start(0);
    // a accepts b and c as neighbours (high priority Neighbor requests).
    for (OverlayNode x : List.of(b, c)) {
      a.onMessage(0, x.id(), Envelope.newBuilder().setNeighbor(
          dev.mycelium.wire.proto.Neighbor.newBuilder().setSender(x.self().toProto())
              .setHighPriority(true)).build());
    }
    assertThat(a.activeView()).containsExactly(b.id(), c.id());
    boolean pingReqSeen = false;
    boolean suspected = false;
    for (long t = 0; t <= 3 * config.probeIntervalMillis() && !suspected;
        t += config.tickMillis()) {
      for (Effect e : a.tick(t)) {
        if (e instanceof Effect.Send s && s.envelope().hasPing() && s.to().equals(c.id())) {
          // c answers; b stays silent.
          a.onMessage(t, c.id(), Envelope.newBuilder().setAck(
              dev.mycelium.wire.proto.Ack.newBuilder().setSeq(s.envelope().getPing().getSeq()))
              .build());
        }
        if (e instanceof Effect.Send s && s.envelope().hasPingReq()) {
          assertThat(s.to()).isEqualTo(c.id());
          pingReqSeen = true;
        }
        if (e instanceof Effect.Report r && r.event() instanceof OverlayEvent.Suspected sus) {
          assertThat(sus.peer()).isEqualTo(b.id());
          suspected = true;
        }
      }
    }
    assertThat(pingReqSeen).isTrue();
    assertThat(suspected).isTrue();
    assertThat(a.activeView()).containsExactly(c.id());
    assertThat(a.passiveView()).contains(b.id());
    assertThat(a.detector().state(b.id())).isEqualTo(MemberState.SUSPECT);
  }
}
