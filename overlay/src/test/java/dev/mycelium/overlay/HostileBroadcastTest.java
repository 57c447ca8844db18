package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Gossip;
import dev.mycelium.wire.proto.Graft;
import dev.mycelium.wire.proto.IHave;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Relays and origins that abuse Plumtree: censoring by ID hijack, raising TTLs, oversized
 * payloads, floods meant to fill the cache and the queue, priorities that wrap, announcements
 * and pulls from strangers.
 */
class HostileBroadcastTest {
  private final OverlayConfig config = OverlayConfig.test();
  private final NodeId honestOrigin = TestCrypto.id(1);
  private final NodeId node = TestCrypto.id(2);
  private final NodeId relay = TestCrypto.id(3);
  private final NodeId other = TestCrypto.id(4);
  private final NodeId attacker = TestCrypto.id(66);

  private Plumtree tree(OverlayConfig cfg, NodeId self, NodeId... neighbours) {
    Plumtree p = new Plumtree(cfg, self, TestCrypto.signer(self), TestCrypto.verifier(),
        new SplittableRandom(self.hashCode()), 0);
    for (NodeId n : neighbours) {
      p.neighborUp(n);
    }
    return p;
  }

  /** A message signed by {@code origin} as an honest origin would sign it. */
  private static Gossip signed(NodeId origin, ByteString id, int priority, int ttl, String topic,
      ByteString payload) {
    byte[] sig = TestCrypto.tag(origin, Plumtree.signedBytes(id, priority, ttl, topic, payload));
    return Gossip.newBuilder().setId(id).setOrigin(ByteString.copyFrom(origin.toBytes()))
        .setSignature(ByteString.copyFrom(sig)).setTtl(ttl).setMaxTtl(ttl).setPriority(priority)
        .setTopic(topic).setPayload(payload).build();
  }

  private static Gossip firstGossip(Outbox out) {
    return out.effects().stream()
        .filter(e -> e instanceof Effect.Send s && s.envelope().hasGossip())
        .map(e -> ((Effect.Send) e).envelope().getGossip()).findFirst().orElseThrow();
  }

  private static long delivered(Outbox out, String payload) {
    return out.effects().stream().filter(e -> e instanceof Effect.Report r
        && r.event() instanceof OverlayEvent.Delivered d
        && d.payload().toStringUtf8().equals(payload)).count();
  }

  @Test
  void aRelayCannotCensorAMessageByReusingItsId() {
    Plumtree origin = tree(config, honestOrigin, relay);
    Outbox o = new Outbox();
    origin.broadcast(0, "t", ByteString.copyFromUtf8("honest"), 1, o);
    Gossip real = firstGossip(o);
    // The attacker saw the ID first and sends its own, validly signed, message under it.
    Gossip hijack = signed(attacker, real.getId(), 1, 5, "t", ByteString.copyFromUtf8("decoy"));
    Plumtree n = tree(config, node, relay, attacker);
    n.subscribe("t");
    Outbox out = new Outbox();
    assertThat(n.onGossip(1, attacker, hijack, out)).isEqualTo(Plumtree.Outcome.DELIVERED);
    assertThat(n.onGossip(2, relay, real, out)).isEqualTo(Plumtree.Outcome.DELIVERED);
    assertThat(delivered(out, "honest")).isEqualTo(1);
  }

  @Test
  void aRelayCannotRaiseTheTtl() {
    Plumtree origin = tree(config, honestOrigin, relay);
    Outbox o = new Outbox();
    origin.broadcast(0, "t", ByteString.copyFromUtf8("near"), 1, 2, o);
    Gossip real = firstGossip(o);
    Plumtree n = tree(config, node, relay, other);
    Outbox out = new Outbox();
    Gossip raised = real.toBuilder().setTtl(30).build();
    assertThatThrownBy(() -> n.onGossip(1, relay, raised, out))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_ttl");
    Gossip reSigned = real.toBuilder().setTtl(30).setMaxTtl(30).build();
    assertThat(n.onGossip(2, relay, reSigned, out)).isEqualTo(Plumtree.Outcome.BAD_SIGNATURE);
    assertThat(n.onGossip(3, relay, real, out)).isEqualTo(Plumtree.Outcome.DELIVERED);
    assertThat(firstGossip(out).getTtl()).isEqualTo(1);
  }

  @Test
  void oversizedPayloadsAreRefusedBothWays() {
    ByteString big = ByteString.copyFrom(new byte[Plumtree.MAX_PAYLOAD_BYTES + 1]);
    Plumtree n = tree(config, node, relay);
    assertThatThrownBy(() -> n.broadcast(0, "t", big, 1, new Outbox()))
        .isInstanceOf(IllegalArgumentException.class);
    Gossip g = signed(attacker, ByteString.copyFrom(new byte[32]), 1, 3, "t", big);
    assertThatThrownBy(() -> n.onGossip(0, attacker, g, new Outbox()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(n.cachedBytes()).isZero();
  }

  @Test
  void aFloodOfMaximalMessagesStaysWithinTheByteCaps() {
    // The LAN preset remembers 10,000 messages for a minute: 2.5 GiB of maximal payloads
    // without a byte cap. The send budget is tiny so that copies pile up in the queue.
    OverlayConfig lan = OverlayConfig.lan().withOutbound(100_000, 1);
    Plumtree n = tree(lan, node, relay, other, TestCrypto.id(5));
    ByteString payload = ByteString.copyFrom(new byte[Plumtree.MAX_PAYLOAD_BYTES]);
    long maxCached = 0;
    long maxQueued = 0;
    for (int i = 0; i < 400; i++) {
      byte[] id = new byte[32];
      id[0] = (byte) i;
      id[1] = (byte) (i >> 8);
      Outbox out = new Outbox();
      n.onGossip(i, attacker, signed(attacker, ByteString.copyFrom(id), 1, 5, "t", payload), out);
      maxCached = Math.max(maxCached, n.cachedBytes());
      maxQueued = Math.max(maxQueued, n.queuedBytes());
    }
    assertThat(maxCached).isLessThanOrEqualTo(Plumtree.MAX_CACHE_BYTES)
        .isGreaterThan(Plumtree.MAX_CACHE_BYTES / 2);
    assertThat(maxQueued).isLessThanOrEqualTo(Plumtree.MAX_QUEUE_BYTES)
        .isGreaterThan(Plumtree.MAX_QUEUE_BYTES / 2);
    assertThat(n.dropped()).isPositive();
  }

  @Test
  void aPriorityThatWouldWrapIsMalformedAndTheQueueOrderHolds() {
    Plumtree n = tree(config.withOutbound(100, 1), node, relay, other);
    Gossip wrap = signed(attacker, ByteString.copyFrom(new byte[32]), Integer.MIN_VALUE, 3, "t",
        ByteString.copyFromUtf8("x"));
    assertThatThrownBy(() -> n.onGossip(0, attacker, wrap, new Outbox()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("priority");
    assertThatThrownBy(() -> n.broadcast(0, "t", ByteString.copyFromUtf8("x"), 256, new Outbox()))
        .isInstanceOf(IllegalArgumentException.class);
    // With the send budget spent, the highest priority leaves first when budget returns.
    Outbox sink = new Outbox();
    n.broadcast(0, "t", ByteString.copyFromUtf8("low"), 0, sink);
    n.broadcast(0, "t", ByteString.copyFromUtf8("top"), Plumtree.MAX_PRIORITY, sink);
    n.broadcast(0, "t", ByteString.copyFromUtf8("mid"), 7, sink);
    Outbox later = new Outbox();
    n.tick(1_000, later);
    assertThat(firstGossip(later).getPayload().toStringUtf8()).isEqualTo("top");
  }

  @Test
  void strangersCannotAnnounceOrPull() {
    Plumtree n = tree(config, node, relay);
    Outbox o = new Outbox();
    n.broadcast(0, "t", ByteString.copyFromUtf8("mine"), 1, o);
    Gossip mine = firstGossip(o);
    ByteString key = Plumtree.key(mine.getOrigin(), mine.getId());
    Outbox out = new Outbox();
    n.onGraft(1, attacker, Graft.newBuilder().setId(key).build(), out);
    n.onIHave(1, attacker, IHave.newBuilder().addIds(ByteString.copyFrom(new byte[32])).build(),
        out);
    n.tick(10_000, out);
    assertThat(out.effects()).noneMatch(e -> e instanceof Effect.Send s && s.to().equals(attacker));
    // The neighbour's pull is answered.
    Outbox fromRelay = new Outbox();
    n.onGraft(2, relay, Graft.newBuilder().setId(key).build(), fromRelay);
    assertThat(firstGossip(fromRelay).getPayload().toStringUtf8()).isEqualTo("mine");
    IHave.Builder flood = IHave.newBuilder();
    for (int i = 0; i <= Plumtree.MAX_IHAVE_IDS; i++) {
      flood.addIds(ByteString.copyFrom(new byte[32]));
    }
    assertThatThrownBy(() -> n.onIHave(3, relay, flood.build(), new Outbox()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void throughTheNodeALyingRelayLosesScore() {
    OverlayNode n = new OverlayNode(config, new PeerAddress(node, "10.0.0.2", 7000),
        new SplittableRandom(2), TestCrypto.signer(node), TestCrypto.verifier(), 0);
    Gossip g = signed(honestOrigin, ByteString.copyFrom(new byte[32]), 1, 2, "t",
        ByteString.copyFromUtf8("x")).toBuilder().setTtl(9).build();
    n.onMessage(0, attacker, Envelope.newBuilder().setGossip(g).build());
    assertThat(n.malformed()).isEqualTo(1);
    assertThat(n.scores().score(0, attacker)).isNegative();
    assertThat(List.of(n.broadcaster().remembered())).containsExactly(0);
  }
}
