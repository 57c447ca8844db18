package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Gossip;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PlumtreeTest {
  private final OverlayConfig config = OverlayConfig.test();
  private final NodeId a = TestCrypto.id(1);
  private final NodeId b = TestCrypto.id(2);
  private final NodeId c = TestCrypto.id(3);

  private Plumtree tree(NodeId self, NodeId... neighbours) {
    Plumtree p = new Plumtree(config, self, TestCrypto.signer(self), TestCrypto.verifier(),
        new SplittableRandom(self.hashCode()), 0);
    for (NodeId n : neighbours) {
      p.neighborUp(n);
    }
    return p;
  }

  private static List<Effect.Send> sends(Outbox out) {
    return out.effects().stream().filter(e -> e instanceof Effect.Send)
        .map(e -> (Effect.Send) e).collect(Collectors.toList());
  }

  private static Gossip gossipTo(Outbox out, NodeId to) {
    return sends(out).stream().filter(s -> s.to().equals(to) && s.envelope().hasGossip())
        .map(s -> s.envelope().getGossip()).findFirst().orElseThrow();
  }

  @Test
  void explicitTtlIsCarriedAndAMessageAtTtlZeroIsDeliveredButNotRelayed() {
    Plumtree pa = tree(a, b);
    Plumtree pb = tree(b, a, c);
    pb.subscribe("t");
    Outbox out = new Outbox();
    pa.broadcast(0, "t", ByteString.copyFromUtf8("near"), 1, 0, out);
    Gossip g = gossipTo(out, b);
    assertThat(g.getTtl()).isZero();
    Outbox outB = new Outbox();
    assertThat(pb.onGossip(10, a, g, outB)).isEqualTo(Plumtree.Outcome.DELIVERED);
    pb.tick(20, outB);
    assertThat(sends(outB)).noneMatch(s -> s.envelope().hasGossip() || s.envelope().hasIhave());
  }

  @Test
  void duplicateFromAnEagerPeerPrunesIt() {
    Plumtree pa = tree(a, b, c);
    Plumtree pb = tree(b, a, c);
    pb.subscribe("t");
    Outbox out = new Outbox();
    pa.broadcast(0, "t", ByteString.copyFromUtf8("x"), 1, out);
    Gossip g = gossipTo(out, b);
    Outbox outB = new Outbox();
    assertThat(pb.onGossip(10, a, g, outB)).isEqualTo(Plumtree.Outcome.DELIVERED);
    assertThat(outB.effects()).anyMatch(e -> e instanceof Effect.Report r
        && r.event() instanceof OverlayEvent.Delivered d && d.payload().toStringUtf8().equals("x"));
    Outbox dup = new Outbox();
    assertThat(pb.onGossip(20, c, g, dup)).isEqualTo(Plumtree.Outcome.DUPLICATE);
    assertThat(sends(dup)).singleElement().satisfies(s -> {
      assertThat(s.to()).isEqualTo(c);
      assertThat(s.envelope().hasPrune()).isTrue();
    });
    assertThat(pb.lazyPeers()).containsExactly(c);
    assertThat(pb.eagerPeers()).containsExactly(a);
    assertThat(pb.duplicates()).isEqualTo(1);
  }

  @Test
  void announcedButMissingMessageIsGraftedAfterTheTimeout() {
    Plumtree pa = tree(a, b);
    Plumtree pb = tree(b, a);
    pb.subscribe("t");
    pa.onPrune(b);
    Outbox out = new Outbox();
    pa.broadcast(0, "t", ByteString.copyFromUtf8("y"), 1, out);
    assertThat(sends(out)).isEmpty();
    Outbox tickA = new Outbox();
    pa.tick(50, tickA);
    Envelope ihave = sends(tickA).get(0).envelope();
    assertThat(ihave.hasIhave()).isTrue();
    Outbox outB = new Outbox();
    pb.onIHave(60, a, ihave.getIhave(), outB);
    Outbox early = new Outbox();
    pb.tick(60 + config.graftTimeoutMillis() - 1, early);
    assertThat(sends(early)).isEmpty();
    Outbox late = new Outbox();
    pb.tick(60 + config.graftTimeoutMillis(), late);
    Envelope graft = sends(late).get(0).envelope();
    assertThat(graft.hasGraft()).isTrue();
    Outbox reply = new Outbox();
    pa.onGraft(300, b, graft.getGraft(), reply);
    assertThat(pa.eagerPeers()).contains(b);
    Gossip g = gossipTo(reply, b);
    assertThat(pb.onGossip(320, a, g, new Outbox())).isEqualTo(Plumtree.Outcome.DELIVERED);
    assertThat(pb.delivered()).isEqualTo(1);
    assertThat(pb.graftsSent()).isEqualTo(1);
  }

  @Test
  void forgedBroadcastIsNeitherDeliveredNorRelayed() {
    Plumtree pa = tree(a, b);
    Plumtree pb = tree(b, a, c);
    pb.subscribe("t");
    Outbox out = new Outbox();
    pa.broadcast(0, "t", ByteString.copyFromUtf8("z"), 1, out);
    Gossip forged = gossipTo(out, b).toBuilder().setPayload(ByteString.copyFromUtf8("evil"))
        .build();
    Outbox outB = new Outbox();
    assertThat(pb.onGossip(5, a, forged, outB)).isEqualTo(Plumtree.Outcome.BAD_SIGNATURE);
    assertThat(outB.effects()).isEmpty();
    assertThat(pb.badSignatures()).isEqualTo(1);
  }

  @Test
  void unsubscribedTopicsAreRelayedButNotDelivered() {
    Plumtree pa = tree(a, b);
    Plumtree pb = tree(b, a, c);
    Outbox out = new Outbox();
    pa.broadcast(0, "other", ByteString.copyFromUtf8("w"), 1, out);
    Outbox outB = new Outbox();
    pb.onGossip(5, a, gossipTo(out, b), outB);
    assertThat(outB.effects()).noneMatch(e -> e instanceof Effect.Report);
    Gossip relayed = gossipTo(outB, c);
    assertThat(relayed.getTtl()).isEqualTo(config.broadcastTtl() - 1);
  }

  @Test
  void fullQueueDropsTheLowestPriorityFirst() {
    OverlayConfig slow = config.withOutbound(2, 1);
    Plumtree p = new Plumtree(slow, a, TestCrypto.signer(a), TestCrypto.verifier(),
        new SplittableRandom(1), 0);
    p.neighborUp(b);
    Outbox out = new Outbox();
    // One token at start: the first message leaves, the rest queue (capacity 2).
    p.broadcast(0, "t", ByteString.copyFromUtf8("p5"), 5, out);
    p.broadcast(0, "t", ByteString.copyFromUtf8("p1"), 1, out);
    p.broadcast(0, "t", ByteString.copyFromUtf8("p9"), 9, out);
    p.broadcast(0, "t", ByteString.copyFromUtf8("p3"), 3, out);
    assertThat(p.dropped()).isEqualTo(1);
    assertThat(out.effects()).anyMatch(e -> e instanceof Effect.Report r
        && r.event() instanceof OverlayEvent.BroadcastDropped d && d.priority() == 1);
    Outbox later = new Outbox();
    p.tick(1_000, later);
    p.tick(2_000, later);
    assertThat(sends(later)).extracting(s -> s.envelope().getGossip().getPayload().toStringUtf8())
        .containsExactly("p9", "p3");
  }
}
