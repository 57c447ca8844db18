package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ForwardJoin;
import dev.mycelium.wire.proto.Join;
import dev.mycelium.wire.proto.Neighbor;
import dev.mycelium.wire.proto.NeighborReply;
import dev.mycelium.wire.proto.Shuffle;
import dev.mycelium.wire.proto.ShuffleReply;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Peers that try to take over a node's views through HyParView: walks with absurd TTLs,
 * walks and shuffles from strangers, Joins and high-priority Neighbors from fresh identities,
 * third parties rewriting known addresses, oversized and unsolicited shuffles.
 */
class HostileMembershipTest {
  private final OverlayConfig config = OverlayConfig.test(); // active 4, passive 12, ARWL 4
  private final NodeId seed = TestCrypto.id(2);
  private final List<NodeId> honest = List.of(seed, TestCrypto.id(3), TestCrypto.id(4),
      TestCrypto.id(5));

  private static PeerAddress addr(NodeId id) {
    return new PeerAddress(id, "10.0.0." + (id.toBytes()[0] & 0xff), 7000);
  }

  private static PeerAddress evil(NodeId id) {
    return new PeerAddress(id, "203.0.113.66", 6666);
  }

  private OverlayNode fresh() {
    NodeId id = TestCrypto.id(1);
    return new OverlayNode(config, addr(id), new SplittableRandom(1), TestCrypto.signer(id),
        TestCrypto.verifier(), 0);
  }

  private static Envelope reply(boolean accepted) {
    return Envelope.newBuilder().setNeighborReply(NeighborReply.newBuilder()
        .setAccepted(accepted)).build();
  }

  /** A node that joined through its seed and filled its view with peers it chose itself. */
  private OverlayNode settled() {
    OverlayNode n = fresh();
    n.join(0, List.of(addr(seed)));
    n.onMessage(1, seed, reply(true));
    // The seed shuffles the other honest peers to it; it promotes them on its next tick.
    Shuffle.Builder s = Shuffle.newBuilder().setOrigin(addr(seed).toProto()).setTtl(0);
    for (NodeId h : honest.subList(1, honest.size())) {
      s.addPeers(addr(h).toProto());
    }
    n.onMessage(2, seed, Envelope.newBuilder().setShuffle(s).build());
    n.tick(3);
    for (NodeId h : honest.subList(1, honest.size())) {
      n.onMessage(4, h, reply(true));
    }
    assertThat(n.activeView()).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(n.views().protectedLinks()).containsExactlyInAnyOrderElementsOf(honest);
    return n;
  }

  private static Envelope join(NodeId id) {
    return Envelope.newBuilder().setJoin(Join.newBuilder().setJoiner(evil(id).toProto())).build();
  }

  private static Envelope forwardJoin(PeerAddress joiner, int ttl) {
    return Envelope.newBuilder().setForwardJoin(ForwardJoin.newBuilder()
        .setJoiner(joiner.toProto()).setTtl(ttl)).build();
  }

  @Test
  void freshIdentitiesCannotEvictLinksTheNodeChose() {
    OverlayNode n = settled();
    for (int i = 0; i < 50; i++) {
      NodeId sybil = TestCrypto.id(100 + i);
      List<Effect> out = new ArrayList<>(n.onMessage(10 + i, sybil, join(sybil)));
      out.addAll(n.onMessage(10 + i, sybil, Envelope.newBuilder().setNeighbor(
          Neighbor.newBuilder().setSender(evil(sybil).toProto()).setHighPriority(true)).build()));
      assertThat(out).noneMatch(e -> e instanceof Effect.Send s && s.envelope().hasNeighborReply()
          && s.envelope().getNeighborReply().getAccepted());
    }
    assertThat(n.activeView()).containsExactlyInAnyOrderElementsOf(honest);
  }

  @Test
  void aStrangerCanTakeOnlyInboundSlots() {
    OverlayNode n = fresh();
    n.join(0, List.of(addr(seed)));
    n.onMessage(1, seed, reply(true));
    // Three strangers fill the rest of the view; a hundred more churn only those slots.
    for (int i = 0; i < 100; i++) {
      NodeId sybil = TestCrypto.id(100 + i);
      n.onMessage(10 + i, sybil, join(sybil));
      assertThat(n.activeView()).contains(seed).hasSizeLessThanOrEqualTo(config.activeViewSize());
    }
  }

  @Test
  void aNodeThatNeverChoseALinkKeepsItsOldestHalf() {
    // The network's first node: it joined nobody, every link it has is a peer's Join.
    OverlayNode n = fresh();
    n.start(0);
    for (int i = 0; i < honest.size(); i++) {
      NodeId h = honest.get(i);
      n.onMessage(1 + i, h, Envelope.newBuilder().setJoin(Join.newBuilder()
          .setJoiner(addr(h).toProto())).build());
    }
    assertThat(n.activeView()).containsExactlyElementsOf(honest);
    for (int i = 0; i < 100; i++) {
      NodeId sybil = TestCrypto.id(100 + i);
      n.onMessage(10 + i, sybil, join(sybil));
    }
    // Before: Sybils joining again and again replaced all four honest links.
    int floor = config.activeViewTarget() / 2;
    assertThat(n.activeView()).hasSize(config.activeViewSize())
        .containsAll(honest.subList(0, floor));
    assertThat(n.views().protectedLinks()).containsExactlyElementsOf(honest.subList(0, floor));
  }

  @Test
  void joinsOverTheBudgetSendNoWalks() {
    OverlayNode n = settled();
    int walks = 0;
    // A hundred Sybil Joins within one probe period: only the burst sends walks.
    for (int i = 0; i < 100; i++) {
      NodeId sybil = TestCrypto.id(100 + i);
      walks += (int) n.onMessage(10, sybil, join(sybil)).stream()
          .filter(e -> e instanceof Effect.Send s && s.envelope().hasForwardJoin()).count();
    }
    // Before: 100 Joins sent 300 walks (activeViewTarget - 1 each).
    assertThat(walks).isEqualTo(HyParView.JOIN_WALK_BURST * (config.activeViewTarget() - 1));
    NodeId later = TestCrypto.id(250);
    assertThat(n.onMessage(10 + config.probeIntervalMillis(), later, join(later)))
        .filteredOn(e -> e instanceof Effect.Send s && s.envelope().hasForwardJoin())
        .hasSize(config.activeViewTarget() - 1);
  }

  @Test
  void aWalkFromAStrangerIsIgnored() {
    OverlayNode n = settled();
    NodeId stranger = TestCrypto.id(66);
    List<Effect> out = n.onMessage(10, stranger, forwardJoin(evil(TestCrypto.id(67)), 0));
    assertThat(out).noneMatch(e -> e instanceof Effect.Connect || e instanceof Effect.Send);
    assertThat(n.activeView()).containsExactlyInAnyOrderElementsOf(honest);
  }

  @Test
  void walkTtlsAreClampedToTheConfiguredLength() {
    OverlayNode n = settled();
    List<Effect> out = n.onMessage(10, seed, forwardJoin(evil(TestCrypto.id(67)), -1));
    assertThat(out).filteredOn(e -> e instanceof Effect.Send s && s.envelope().hasForwardJoin())
        .singleElement().satisfies(e -> assertThat(
            ((Effect.Send) e).envelope().getForwardJoin().getTtl())
            .isEqualTo(config.activeRandomWalkLength() - 1));
    Shuffle.Builder s = Shuffle.newBuilder().setOrigin(evil(TestCrypto.id(68)).toProto())
        .setTtl(Integer.MAX_VALUE);
    List<Effect> shuffled = n.onMessage(11, seed, Envelope.newBuilder().setShuffle(s).build());
    assertThat(shuffled).filteredOn(e -> e instanceof Effect.Send x && x.envelope().hasShuffle())
        .singleElement().satisfies(e -> assertThat(((Effect.Send) e).envelope().getShuffle()
            .getTtl()).isEqualTo(config.activeRandomWalkLength() - 1));
  }

  @Test
  void aWalkEndingHereCannotEvictAChosenLink() {
    OverlayNode n = settled();
    NodeId joiner = TestCrypto.id(67);
    List<Effect> out = n.onMessage(10, seed, forwardJoin(evil(joiner), 0));
    assertThat(n.activeView()).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(out).noneMatch(e -> e instanceof Effect.Send s && s.to().equals(joiner)
        && s.envelope().hasNeighbor());
  }

  @Test
  void aThirdPartyCannotRewriteAKnownAddress() {
    OverlayNode n = fresh();
    n.join(0, List.of(addr(seed)));
    n.onMessage(1, seed, reply(true));
    NodeId known = TestCrypto.id(9);
    NodeId liar = seed;
    // known introduces itself (a refused-low-priority Neighbor would do as well: its own word).
    n.onMessage(2, liar, Envelope.newBuilder().setShuffle(Shuffle.newBuilder()
        .setOrigin(addr(liar).toProto()).setTtl(0).addPeers(addr(known).toProto())).build());
    assertThat(n.passiveView()).contains(known);
    // The neighbour now lies about known's address, by shuffle and by walk.
    n.onMessage(3, liar, Envelope.newBuilder().setShuffle(Shuffle.newBuilder()
        .setOrigin(addr(liar).toProto()).setTtl(0).addPeers(evil(known).toProto())).build());
    List<Effect> walk = n.onMessage(4, liar, forwardJoin(evil(known), 0));
    assertThat(n.knownPeers()).filteredOn(p -> p.id().equals(known))
        .singleElement().isEqualTo(addr(known));
    assertThat(walk).noneMatch(e -> e instanceof Effect.Connect c && c.address().equals(evil(known)));
  }

  @Test
  void shufflesAreBoundedAndRepliesMustBeAskedFor() {
    OverlayNode n = fresh();
    n.join(0, List.of(addr(seed)));
    n.onMessage(1, seed, reply(true));
    Shuffle.Builder big = Shuffle.newBuilder().setOrigin(addr(seed).toProto()).setTtl(0);
    for (int i = 0; i < HyParView.MAX_SHUFFLE_PEERS + 1; i++) {
      big.addPeers(evil(TestCrypto.id(100 + i)).toProto());
    }
    n.onMessage(2, seed, Envelope.newBuilder().setShuffle(big).build());
    assertThat(n.malformed()).isEqualTo(1);
    assertThat(n.passiveView()).isEmpty();
    Shuffle.Builder many = Shuffle.newBuilder().setOrigin(addr(seed).toProto()).setTtl(0);
    for (int i = 0; i < 20; i++) {
      many.addPeers(evil(TestCrypto.id(100 + i)).toProto());
    }
    n.onMessage(3, seed, Envelope.newBuilder().setShuffle(many).build());
    assertThat(n.passiveView())
        .hasSize(1 + config.shuffleActive() + config.shufflePassive());
    ShuffleReply.Builder unasked = ShuffleReply.newBuilder();
    for (int i = 0; i < 10; i++) {
      unasked.addPeers(evil(TestCrypto.id(150 + i)).toProto());
    }
    n.onMessage(4, TestCrypto.id(66), Envelope.newBuilder().setShuffleReply(unasked).build());
    assertThat(n.passiveView()).noneMatch(id -> (id.toBytes()[0] & 0xff) >= 150);
  }

  @Test
  void theViewsStayWithinTheirCaps() {
    OverlayNode n = settled();
    for (int i = 0; i < 20; i++) {
      Shuffle.Builder s = Shuffle.newBuilder().setOrigin(addr(seed).toProto()).setTtl(0);
      for (int j = 0; j < 7; j++) {
        s.addPeers(evil(TestCrypto.id(100 + 7 * i + j)).toProto());
      }
      n.onMessage(10 + i, seed, Envelope.newBuilder().setShuffle(s).build());
    }
    assertThat(n.passiveView()).hasSizeLessThanOrEqualTo(config.passiveViewSize());
    assertThat(n.activeView()).containsExactlyInAnyOrderElementsOf(honest);
  }
}
