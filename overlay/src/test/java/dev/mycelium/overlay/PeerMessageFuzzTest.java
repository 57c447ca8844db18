package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Hello;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What a peer sends first (its Hello) and everything after (envelopes) must be answered, whatever
 * the bytes, with a parse error, an IllegalArgumentException (the documented answer of the
 * node's conversions) or a penalty: never another exception, and never views past their caps.
 */
class PeerMessageFuzzTest {
  private static final OverlayConfig CONFIG = OverlayConfig.test();

  /** The Hello and the address in it, as the transport converts them before any check. */
  @FuzzTest
  void hello(byte[] input) {
    Hello hello;
    try {
      hello = Hello.parseFrom(input);
    } catch (InvalidProtocolBufferException e) {
      return;
    }
    try {
      PeerAddress a = PeerAddress.fromProto(hello.getAddress());
      assertThat(a.port()).isBetween(0, 65535);
      assertThat(PeerAddress.fromProto(a.toProto())).isEqualTo(a);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).isNotBlank();
    }
  }

  /**
   * A sequence of envelopes from a few peers to one overlay node. Input: repeated records of a
   * flag byte (low bits: the sender; bit 7: sign a gossip as its origin would), a 2-byte length
   * and that many bytes of envelope; a tick of the node's timers runs between records.
   */
  @FuzzTest
  void overlayMessages(byte[] input) {
    NodeId self = TestCrypto.id(1);
    OverlayNode node = new OverlayNode(CONFIG, new PeerAddress(self, "10.0.0.1", 7001),
        new SplittableRandom(1), TestCrypto.signer(self), TestCrypto.verifier(), 0);
    node.start(0);
    node.subscribe("t");
    NodeId[] peers = {TestCrypto.id(2), TestCrypto.id(3), TestCrypto.id(4), self};
    long now = 0;
    for (FuzzFrames.Frame f : FuzzFrames.read(input)) {
      NodeId from = peers[f.sender(peers.length)];
      Envelope env = f.envelope();
      if (env == null) {
        node.onMalformed(now, from, "does not parse");
        continue;
      }
      if (f.marked() && env.hasGossip() && env.getGossip().getOrigin().size() == 32) {
        // Signed by its origin as an honest node would, to reach what lies behind the check.
        var g = env.getGossip();
        NodeId origin = NodeId.of(g.getOrigin().toByteArray());
        env = env.toBuilder().setGossip(g.toBuilder().setSignature(ByteString.copyFrom(
            TestCrypto.tag(origin, Plumtree.signedBytes(g.getId(), g.getPriority(),
                g.getMaxTtl(), g.getTopic(), g.getPayload()))))).build();
      }
      List<Effect> effects = OverlayNode.isApplication(env)
          ? node.admit(now, now, from, env.getSerializedSize()).effects()
          : node.onMessage(now, from, env);
      assertThat(effects).isNotNull();
      now += 150;
      assertThat(node.tick(now)).isNotNull();
      assertThat(node.views().active().size()).isLessThanOrEqualTo(CONFIG.activeViewSize());
      assertThat(node.views().passive().size()).isLessThanOrEqualTo(CONFIG.passiveViewSize());
      assertThat(node.views().active()).doesNotContainKey(self);
    }
  }
}
