package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Ack;
import dev.mycelium.wire.proto.ActiveView;
import dev.mycelium.wire.proto.Alive;
import dev.mycelium.wire.proto.CapacityAdvert;
import dev.mycelium.wire.proto.Dead;
import dev.mycelium.wire.proto.Disconnect;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ForwardJoin;
import dev.mycelium.wire.proto.Gossip;
import dev.mycelium.wire.proto.Graft;
import dev.mycelium.wire.proto.IHave;
import dev.mycelium.wire.proto.Join;
import dev.mycelium.wire.proto.Leave;
import dev.mycelium.wire.proto.Nack;
import dev.mycelium.wire.proto.Neighbor;
import dev.mycelium.wire.proto.NeighborReply;
import dev.mycelium.wire.proto.Ping;
import dev.mycelium.wire.proto.PingReq;
import dev.mycelium.wire.proto.Prune;
import dev.mycelium.wire.proto.Shuffle;
import dev.mycelium.wire.proto.ShuffleReply;
import dev.mycelium.wire.proto.Suspect;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * The overlay's invariants under random message sequences from a liar that is an active
 * neighbour and from a crowd of strangers, while the honest neighbours answer their probes:
 * the views stay within their caps, no honest neighbour this node chose is evicted, suspected,
 * killed or penalized, walks stay within the configured TTL, the node's incarnation only rises
 * and by bounded steps, and what the node holds for peers stays within its byte and entry caps.
 */
class HostileOverlayProperties {
  private static final OverlayConfig CONFIG = OverlayConfig.test().withViews(6, 4, 12);
  private static final NodeId SELF = TestCrypto.id(1);
  private static final List<NodeId> HONEST = List.of(TestCrypto.id(2), TestCrypto.id(3),
      TestCrypto.id(4), TestCrypto.id(5));
  private static final NodeId LIAR = TestCrypto.id(9);

  /** One hostile message: its kind, who sends it (0 = the liar), and three free parameters. */
  record Step(int kind, int sender, long a, long b, int c) {}

  @Provide
  Arbitrary<Step> step() {
    return Combinators.combine(
        Arbitraries.integers().between(0, 23),
        Arbitraries.integers().between(0, 40),
        Arbitraries.longs(),
        Arbitraries.longs().between(-4, 1L << 22),
        Arbitraries.integers().between(-2, 300)).as(Step::new);
  }

  private static PeerAddress addr(NodeId id) {
    return new PeerAddress(id, "10.0.0." + (id.toBytes()[0] & 0xff), 7000);
  }

  private static NodeId stranger(int i) {
    return TestCrypto.id(100 + i);
  }

  private static Envelope reply() {
    return Envelope.newBuilder().setNeighborReply(NeighborReply.newBuilder().setAccepted(true))
        .build();
  }

  /** A node whose four honest neighbours it chose itself, plus the liar, which joined it. */
  private static OverlayNode settled() {
    OverlayNode n = new OverlayNode(CONFIG, addr(SELF), new SplittableRandom(1),
        TestCrypto.signer(SELF), TestCrypto.verifier(), 0);
    NodeId seed = HONEST.get(0);
    n.join(0, List.of(addr(seed)));
    n.onMessage(1, seed, reply());
    Shuffle.Builder s = Shuffle.newBuilder().setOrigin(addr(seed).toProto()).setTtl(0);
    for (NodeId h : HONEST.subList(1, HONEST.size())) {
      s.addPeers(addr(h).toProto());
    }
    n.onMessage(2, seed, Envelope.newBuilder().setShuffle(s).build());
    n.tick(3);
    for (NodeId h : HONEST.subList(1, HONEST.size())) {
      n.onMessage(4, h, reply());
    }
    n.onMessage(5, LIAR, Envelope.newBuilder().setJoin(Join.newBuilder()
        .setJoiner(addr(LIAR).toProto())).build());
    return n;
  }

  private static ByteString bytes32(long x) {
    byte[] b = new byte[32];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (x >>> (8 * i));
    }
    return ByteString.copyFrom(b);
  }

  private static NodeId subject(Step s) {
    int pick = (int) Math.floorMod(s.b(), 4L);
    return switch (pick) {
      case 0 -> SELF;
      case 1 -> LIAR;
      default -> HONEST.get(Math.floorMod(s.c(), HONEST.size()));
    };
  }

  private static Envelope message(Step s, NodeId from, SplittableRandom rnd) {
    NodeId subject = subject(s);
    ByteString subjectBytes = ByteString.copyFrom(subject.toBytes());
    PeerAddress evil = new PeerAddress(Math.floorMod(s.b(), 3L) == 0 ? subject
        : stranger(Math.floorMod(s.c(), 40)), "203.0.113.7", 6666);
    Envelope.Builder e = Envelope.newBuilder();
    switch (s.kind()) {
      case 0 -> e.setJoin(Join.newBuilder().setJoiner(addr(from).toProto()));
      case 1 -> e.setForwardJoin(ForwardJoin.newBuilder().setJoiner(evil.toProto())
          .setTtl((int) s.a()));
      case 2 -> e.setNeighbor(Neighbor.newBuilder().setSender(addr(from).toProto())
          .setHighPriority(s.a() % 2 == 0));
      case 3 -> e.setNeighborReply(NeighborReply.newBuilder().setAccepted(true));
      case 4 -> e.setDisconnect(Disconnect.newBuilder().setAlive(s.a() % 2 == 0));
      case 5, 6 -> {
        Shuffle.Builder sh = Shuffle.newBuilder().setOrigin(evil.toProto()).setTtl((int) s.a());
        for (int i = 0; i < Math.max(0, s.c()) % 80; i++) {
          sh.addPeers(addr(stranger(i % 40)).toProto());
        }
        if (s.kind() == 5) {
          e.setShuffle(sh);
        } else {
          e.setShuffleReply(ShuffleReply.newBuilder().addAllPeers(sh.getPeersList()));
        }
      }
      case 7 -> e.setCapacity(CapacityAdvert.getDefaultInstance());
      case 8 -> {
        ActiveView.Builder v = ActiveView.newBuilder();
        for (int i = 0; i < Math.max(0, s.c()) % 30; i++) {
          v.addPeers(new PeerAddress(stranger(i), "203.0.113.8", 6000 + i).toProto());
        }
        e.setActiveView(v);
      }
      case 9 -> e.setPing(Ping.newBuilder().setSeq((int) s.a()).setNeighbor(s.b() % 2 == 0));
      case 10 -> e.setAck(Ack.newBuilder().setSeq(Math.floorMod(s.c(), 64)));
      case 11 -> e.setPingReq(PingReq.newBuilder().setSeq((int) s.a()).setTarget(evil.toProto()));
      case 12 -> e.setNack(Nack.newBuilder().setSeq(Math.floorMod(s.c(), 64)));
      case 13, 14 -> e.setSuspect(Suspect.newBuilder().setNodeId(subjectBytes)
          .setIncarnation(s.kind() == 13 ? s.a() : s.b()));
      case 15 -> e.setAlive(Alive.newBuilder().setNodeId(subjectBytes).setIncarnation(s.a()));
      case 16 -> e.setDead(Dead.newBuilder().setNodeId(subjectBytes).setIncarnation(s.b()));
      case 17 -> e.setLeave(Leave.newBuilder().setIncarnation(s.a()));
      case 18, 19 -> {
        int size = s.kind() == 19 ? Plumtree.MAX_PAYLOAD_BYTES - 64 : Math.max(0, s.c());
        ByteString payload = ByteString.copyFrom(new byte[size]);
        ByteString id = bytes32(s.a());
        int ttl = Math.floorMod(s.c(), 40);
        int maxTtl = s.b() % 5 == 0 ? ttl - 1 : ttl;
        int priority = (int) (s.b() % 300);
        NodeId origin = s.b() % 7 == 0 ? subject : from;
        byte[] sig = TestCrypto.tag(from,
            Plumtree.signedBytes(id, priority, maxTtl, "t", payload));
        e.setGossip(Gossip.newBuilder().setId(id).setOrigin(ByteString.copyFrom(origin.toBytes()))
            .setSignature(ByteString.copyFrom(sig)).setTtl(ttl).setMaxTtl(maxTtl)
            .setPriority(priority).setTopic("t").setPayload(payload));
      }
      case 20 -> {
        IHave.Builder ih = IHave.newBuilder();
        for (int i = 0; i < Math.max(0, s.c()) * 4; i++) {
          ih.addIds(bytes32(rnd.nextLong()));
        }
        e.setIhave(ih);
      }
      case 21 -> e.setGraft(Graft.newBuilder().setId(bytes32(s.a())));
      case 22 -> e.setPrune(Prune.getDefaultInstance());
      default -> { } // an empty envelope: malformed
    }
    return e.build();
  }

  @Property(tries = 150)
  void aHostileCrowdCannotBreakTheInvariants(
      @ForAll @Size(max = 250) List<@From("step") Step> steps) {
    OverlayNode n = settled();
    assertThat(n.views().protectedLinks()).containsExactlyInAnyOrderElementsOf(HONEST);
    SplittableRandom rnd = new SplittableRandom(steps.size());
    long now = 10;
    long incarnation = n.detector().incarnation();
    for (Step s : steps) {
      now += 7;
      NodeId from = s.sender() == 0 ? LIAR : stranger(s.sender() - 1);
      List<Effect> out = n.onMessage(now, from, message(s, from, rnd));
      if (s.kind() % 5 == 0) {
        out = new java.util.ArrayList<>(out);
        out.addAll(n.tick(now));
      }
      for (Effect e : out) {
        // The honest neighbours answer every probe.
        if (e instanceof Effect.Send send && send.envelope().hasPing()
            && HONEST.contains(send.to())) {
          n.onMessage(now, send.to(), Envelope.newBuilder().setAck(Ack.newBuilder()
              .setSeq(send.envelope().getPing().getSeq())).build());
        }
        if (e instanceof Effect.Send send && send.envelope().hasForwardJoin()) {
          assertThat(send.envelope().getForwardJoin().getTtl())
              .isLessThanOrEqualTo(CONFIG.activeRandomWalkLength());
        }
        if (e instanceof Effect.Send send && send.envelope().hasShuffle()) {
          assertThat(send.envelope().getShuffle().getTtl())
              .isLessThanOrEqualTo(CONFIG.activeRandomWalkLength());
        }
        if (e instanceof Effect.Report r) {
          if (r.event() instanceof OverlayEvent.Suspected x) {
            assertThat(HONEST).doesNotContain(x.peer());
          }
          if (r.event() instanceof OverlayEvent.Dead x) {
            assertThat(HONEST).doesNotContain(x.peer());
          }
        }
      }
      assertThat(n.activeView()).hasSizeLessThanOrEqualTo(CONFIG.activeViewSize())
          .containsAll(HONEST);
      assertThat(n.passiveView()).hasSizeLessThanOrEqualTo(CONFIG.passiveViewSize());
      for (NodeId h : HONEST) {
        assertThat(n.scores().score(now, h)).isZero();
        assertThat(n.detector().state(h)).isEqualTo(MemberState.ALIVE);
      }
      long inc = n.detector().incarnation();
      assertThat(inc).isGreaterThanOrEqualTo(incarnation)
          .isLessThanOrEqualTo(incarnation + FailureDetector.MAX_INCARNATION_JUMP + 1);
      incarnation = inc;
      Plumtree b = n.broadcaster();
      assertThat(b.cachedBytes()).isBetween(0L, Plumtree.MAX_CACHE_BYTES);
      assertThat(b.queuedBytes()).isBetween(0L, Plumtree.MAX_QUEUE_BYTES);
      assertThat(b.queued()).isLessThanOrEqualTo(CONFIG.outboundQueueCapacity());
      assertThat(b.remembered()).isLessThanOrEqualTo(CONFIG.dedupWindow());
      assertThat(n.scores().tracked()).isLessThanOrEqualTo(PeerScores.MAX_TRACKED);
    }
  }
}
