package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Prune;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class PeerTransportTest {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @AfterEach
  void stop() {
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  static final class Recorder implements PeerTransport.Listener {
    final List<PeerLink> ready = new CopyOnWriteArrayList<>();
    final List<Envelope> received = new CopyOnWriteArrayList<>();
    final List<NodeId> malformed = new CopyOnWriteArrayList<>();
    final List<PeerLink> closed = new CopyOnWriteArrayList<>();
    final List<String> dialFailures = new CopyOnWriteArrayList<>();

    @Override
    public void onReady(PeerLink link) {
      ready.add(link);
    }

    @Override
    public void onEnvelope(PeerLink link, Envelope envelope) {
      received.add(envelope);
    }

    @Override
    public void onMalformed(NodeId peer, String why) {
      malformed.add(peer);
    }

    @Override
    public void onClosed(PeerLink link) {
      closed.add(link);
    }

    @Override
    public void onDialFailed(InetSocketAddress address, NodeId expected, String why) {
      dialFailures.add(why);
    }
  }

  private record Started(PeerTransport transport, Recorder recorder, InetSocketAddress bound,
      OwnerKeys keys) {}

  private Started start(Optional<NetworkKeyring> ring) throws Exception {
    return start(ring, PeerTransport.Limits.defaults());
  }

  private Started start(Optional<NetworkKeyring> ring, PeerTransport.Limits limits)
      throws Exception {
    OwnerKeys keys = OwnerKeys.generate(new SecureRandom());
    Recorder r = new Recorder();
    // Port 0 here: the advertised port is only information for third parties in this test.
    PeerTransport t = new PeerTransport(keys, new PeerAddress(keys.nodeId(), "127.0.0.1", 1),
        ring, limits, group, r);
    InetSocketAddress bound = t.bind(new InetSocketAddress("127.0.0.1", 0));
    return new Started(t, r, bound, keys);
  }

  @Test
  void twoNodesAuthenticateEachOtherAndExchangeEnvelopes() throws Exception {
    Started a = start(Optional.empty());
    Started b = start(Optional.empty());
    a.transport().dial(b.bound(), b.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(
        () -> a.recorder().ready.size() == 1 && b.recorder().ready.size() == 1);
    assertThat(a.recorder().ready.get(0).peer()).isEqualTo(b.keys().nodeId());
    assertThat(a.recorder().ready.get(0).outbound()).isTrue();
    assertThat(b.recorder().ready.get(0).peer()).isEqualTo(a.keys().nodeId());
    assertThat(b.recorder().ready.get(0).outbound()).isFalse();

    Envelope prune = Envelope.newBuilder().setPrune(Prune.getDefaultInstance()).build();
    group.next().execute(() -> a.recorder().ready.get(0).send(prune));
    await().atMost(Duration.ofSeconds(10)).until(() -> b.recorder().received.size() == 1);
    assertThat(b.recorder().received.get(0).hasPrune()).isTrue();

    group.next().execute(() -> a.recorder().ready.get(0).close());
    await().atMost(Duration.ofSeconds(10)).until(() -> b.recorder().closed.size() == 1);
    assertThat(a.transport().stats().linksOpened()).isEqualTo(1);
  }

  @Test
  void dialingTheWrongNodeIdIsRefused() throws Exception {
    Started a = start(Optional.empty());
    Started b = start(Optional.empty());
    NodeId someoneElse = OwnerKeys.generate(new SecureRandom()).nodeId();
    a.transport().dial(b.bound(), someoneElse);
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().dialFailures.size() == 1);
    assertThat(a.recorder().dialFailures.get(0)).contains("but found");
    assertThat(a.recorder().ready).isEmpty();
  }

  @Test
  void nodesOnDifferentNetworksAreRefused() throws Exception {
    byte[] k1 = new byte[32];
    byte[] k2 = new byte[32];
    k2[0] = 1;
    NetworkKeyring ringA = NetworkKeyring.of(k1);
    Started a = start(Optional.of(ringA));
    Started b = start(Optional.of(NetworkKeyring.of(k2)));
    Started open = start(Optional.empty());
    a.transport().dial(b.bound(), null);
    a.transport().dial(open.bound(), null);
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().dialFailures.size() == 2);
    assertThat(a.recorder().ready).isEmpty();
    assertThat(b.recorder().ready).isEmpty();
    assertThat(open.recorder().ready).isEmpty();
    assertThat(b.transport().stats().networkMismatches()).isEqualTo(1);

    // During a rotation (new key installed everywhere, in use on some) both keys work.
    ringA.install(k2);
    NetworkKeyring rotating = NetworkKeyring.of(k2);
    rotating.install(k1);
    Started c = start(Optional.of(rotating));
    a.transport().dial(c.bound(), c.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(
        () -> c.recorder().ready.size() == 1 && a.recorder().ready.size() == 1);
  }

  @Test
  void dialToAClosedPortFails() throws Exception {
    Started a = start(Optional.empty());
    Started b = start(Optional.empty());
    InetSocketAddress gone = b.bound();
    b.transport().close();
    a.transport().dial(gone, null);
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().dialFailures.size() == 1);
  }

  @Test
  void linksOverTheCapAreRefused() throws Exception {
    Started a = start(Optional.empty(), new PeerTransport.Limits(1, 30_000, 64, 1 << 20, 5_000));
    Started b = start(Optional.empty());
    Started c = start(Optional.empty());
    b.transport().dial(a.bound(), a.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().ready.size() == 1);
    c.transport().dial(a.bound(), a.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> c.recorder().dialFailures.size() == 1);
    assertThat(a.transport().stats().refusedOverCap()).isEqualTo(1);
    assertThat(a.recorder().ready).hasSize(1);
  }

  @Test
  void inboundLinksFromOneAddressOverItsCapAreRefusedAndTheSlotComesBack() throws Exception {
    // Loopback is exempt by default (test networks live there); here it counts.
    Started a = start(Optional.empty(), PeerTransport.Limits.defaults().withAddresses(
        AddressGuard.Settings.defaults().withMaxConnectionsPerIp(2).withExemptLoopback(false)));
    Started b = start(Optional.empty());
    Started c = start(Optional.empty());
    Started d = start(Optional.empty());
    b.transport().dial(a.bound(), a.keys().nodeId());
    c.transport().dial(a.bound(), a.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().ready.size() == 2);
    // All three dial from 127.0.0.1: the third is over the cap of 2.
    d.transport().dial(a.bound(), a.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> d.recorder().dialFailures.size() == 1);
    assertThat(a.transport().stats().refusedOverIpCap()).isEqualTo(1);
    assertThat(a.transport().stats().refusedOverCap()).isZero();
    assertThat(a.recorder().ready).hasSize(2);

    // Links this node dials itself do not count against the peer's address.
    a.transport().dial(d.bound(), d.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> d.recorder().ready.size() == 1);

    // A closed link frees its slot.
    b.transport().close();
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().closed.size() == 1);
    d.transport().dial(a.bound(), a.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().ready.size() == 4);
    assertThat(a.transport().stats().refusedOverIpCap()).isEqualTo(1);
  }

  @Test
  void silentLinksAreClosedWhenIdle() throws Exception {
    PeerTransport.Limits quick = new PeerTransport.Limits(16, 2_000, 64, 1 << 20, 5_000);
    Started a = start(Optional.empty(), quick);
    Started b = start(Optional.empty(), quick);
    a.transport().dial(b.bound(), b.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(
        () -> a.recorder().closed.size() == 1 && b.recorder().closed.size() == 1);
    assertThat(a.transport().stats().idleClosed() + b.transport().stats().idleClosed())
        .isPositive();
  }

  @Test
  void peerThatStopsReadingIsDroppedNotBufferedFor() throws Exception {
    Started a = start(Optional.empty(), new PeerTransport.Limits(16, 30_000, 8, 64L << 20, 5_000));
    OwnerKeys slow = OwnerKeys.generate(new SecureRandom());
    var ch = RawTlsClient.handshake(group, slow, a.bound(), Optional.empty(),
        List.of(RawTlsClient.hello(slow.nodeId())), true).channel();
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().ready.size() == 1);
    PeerLink link = a.recorder().ready.get(0);
    Envelope big = Envelope.newBuilder().setGossip(dev.mycelium.wire.proto.Gossip.newBuilder()
        .setPayload(com.google.protobuf.ByteString.copyFrom(new byte[1 << 20]))).build();
    java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
    group.next().submit(() -> {
      for (int i = 0; i < 200 && link.isOpen(); i++) {
        if (!link.send(big)) {
          refused.incrementAndGet();
        }
      }
    }).sync();
    await().atMost(Duration.ofSeconds(10)).until(() -> !link.isOpen());
    assertThat(refused.get()).isPositive();
    assertThat(a.transport().stats().slowPeersDropped()).isEqualTo(1);
    ch.close();
  }

  @Test
  void anOversizedOutgoingFrameIsNotSentAndTheLinkStays() throws Exception {
    Started a = start(Optional.empty());
    Started b = start(Optional.empty());
    a.transport().dial(b.bound(), b.keys().nodeId());
    await().atMost(Duration.ofSeconds(10)).until(
        () -> a.recorder().ready.size() == 1 && b.recorder().ready.size() == 1);
    PeerLink link = a.recorder().ready.get(0);
    Envelope big = Envelope.newBuilder().setGossip(dev.mycelium.wire.proto.Gossip.newBuilder()
        .setPayload(com.google.protobuf.ByteString.copyFrom(
            new byte[dev.mycelium.wire.Protocol.MAX_FRAME_BYTES]))).build();
    boolean sent = group.next().submit(() -> link.send(big)).get();
    assertThat(sent).isFalse();
    assertThat(a.transport().oversizedNotSent()).isEqualTo(1);
    assertThat(link.isOpen()).isTrue();
    assertThat(b.recorder().malformed).isEmpty();
  }

  private static byte[] garbage() {
    byte[] g = new byte[64];
    java.util.Arrays.fill(g, (byte) 0xff);
    return g;
  }

  @Test
  void unknownProtocolVersionEndsTheLinkAndCountsAgainstThePeer() throws Exception {
    Started a = start(Optional.empty());
    OwnerKeys peer = OwnerKeys.generate(new SecureRandom());
    byte[] hello = dev.mycelium.wire.proto.Hello.parseFrom(RawTlsClient.hello(peer.nodeId()))
        .toBuilder().setProtocolVersion(99).build().toByteArray();
    var ch = RawTlsClient.connect(group, peer, a.bound(), List.of(hello), false);
    await().atMost(Duration.ofSeconds(10)).until(() -> !ch.isActive());
    assertThat(a.transport().stats().versionMismatches()).isEqualTo(1);
    assertThat(a.recorder().malformed).containsExactly(peer.nodeId());
    assertThat(a.recorder().ready).isEmpty();
  }

  @Test
  void malformedEnvelopeAfterHelloEndsTheLink() throws Exception {
    Started a = start(Optional.empty());
    OwnerKeys peer = OwnerKeys.generate(new SecureRandom());
    var ch = RawTlsClient.handshake(group, peer, a.bound(), Optional.empty(),
        List.of(RawTlsClient.hello(peer.nodeId()), garbage()), false).channel();
    await().atMost(Duration.ofSeconds(10)).until(() -> !ch.isActive());
    assertThat(a.recorder().ready).hasSize(1);
    assertThat(a.recorder().malformed).containsExactly(peer.nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> a.recorder().closed.size() == 1);
  }

  @Test
  void oversizedFrameEndsTheLink() throws Exception {
    Started a = start(Optional.empty());
    OwnerKeys peer = OwnerKeys.generate(new SecureRandom());
    var ch = RawTlsClient.handshake(group, peer, a.bound(), Optional.empty(),
        List.of(RawTlsClient.hello(peer.nodeId()),
            new byte[dev.mycelium.wire.Protocol.MAX_FRAME_BYTES + 1]), false).channel();
    await().atMost(Duration.ofSeconds(10)).until(() -> !ch.isActive());
    assertThat(a.recorder().malformed).containsExactly(peer.nodeId());
    assertThat(a.transport().stats().malformedFrames()).isEqualTo(1);
  }

  @Test
  void aLargeFrameBeforeTheHelloIsCutAtItsLengthNotAfterItsBody() throws Exception {
    Started a = start(Optional.empty());
    OwnerKeys peer = OwnerKeys.generate(new SecureRandom());
    // The length of a 4 MiB frame and a few bytes of it, the rest never sent: a slow sender.
    io.netty.buffer.ByteBuf header = io.netty.buffer.Unpooled.buffer(16);
    header.writeInt(dev.mycelium.wire.Protocol.MAX_FRAME_BYTES).writeLong(0);
    var client = RawTlsClient.open(group, peer, a.bound(), List.of(), false);
    await().atMost(Duration.ofSeconds(10)).until(() -> client.received().size() == 1);
    // Written below the client's length prepender (but through TLS): these bytes are the prefix.
    client.channel().pipeline().context(io.netty.handler.codec.LengthFieldBasedFrameDecoder.class)
        .writeAndFlush(header);
    await().atMost(Duration.ofSeconds(10)).until(() -> !client.channel().isActive());
    assertThat(a.transport().stats().malformedFrames()).isEqualTo(1);
    assertThat(a.transport().stats().bytesIn()).isZero();
    assertThat(a.recorder().malformed).containsExactly(peer.nodeId());
    // All the node said was its challenge.
    assertThat(client.received()).hasSize(1);
  }

  @Test
  void aHandshakeThatStallsIsClosedAtTheDeadline() throws Exception {
    Started a = start(Optional.empty(), PeerTransport.Limits.defaults().withHandshakeMillis(300));
    OwnerKeys peer = OwnerKeys.generate(new SecureRandom());
    // TLS completes, then nothing: a client that holds a slot without proving anything.
    var client = RawTlsClient.open(group, peer, a.bound(), List.of(), false);
    await().atMost(Duration.ofSeconds(10)).until(() -> !client.channel().isActive());
    assertThat(a.transport().stats().handshakeTimeouts()).isEqualTo(1);
    assertThat(a.transport().stats().idleClosed()).isZero();
    assertThat(a.recorder().ready).isEmpty();
  }

  @Test
  void anAddressThatKeepsFailingTheKeyProofIsBannedWhateverIdentityItBringsNext()
      throws Exception {
    Started a = start(Optional.of(NetworkKeyring.of(new byte[32])),
        PeerTransport.Limits.defaults().withAddresses(
            AddressGuard.Settings.defaults().withExemptLoopback(false)));
    int tries = 0;
    while (!a.transport().isAddressBanned(a.bound().getAddress()) && tries < 10) {
      OwnerKeys fresh = OwnerKeys.generate(new SecureRandom());
      var c = RawTlsClient.handshake(group, fresh, a.bound(), Optional.empty(),
          List.of(RawTlsClient.hello(fresh.nodeId())), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> !c.channel().isActive());
      tries++;
    }
    // Four bad proofs at 20 points pass the -60 threshold (on a slow machine scores recover a
    // little between tries, which may take one more).
    assertThat(tries).isBetween(4, 5);
    // Banned: a new identity from that address is closed before TLS.
    OwnerKeys next = OwnerKeys.generate(new SecureRandom());
    long refused = a.transport().stats().refusedByAddress();
    var c = RawTlsClient.open(group, next, a.bound(), List.of(), false);
    await().atMost(Duration.ofSeconds(10)).until(() -> !c.channel().isActive());
    assertThat(c.received()).isEmpty();
    assertThat(a.transport().stats().refusedByAddress()).isEqualTo(refused + 1);
    assertThat(a.transport().stats().addressBans()).isEqualTo(1);
  }
}
