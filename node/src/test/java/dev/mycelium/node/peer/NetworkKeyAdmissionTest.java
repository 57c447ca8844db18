package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.node.TestBytes;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.Protocol;
import dev.mycelium.wire.proto.Hello;
import dev.mycelium.wire.proto.KeyChallenge;
import dev.mycelium.wire.proto.KeyProof;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A stranger without the network key, scripting its side of the wire: whatever it records of
 * what the node says, to it or to a listener the node dials, and replays, echoes or relays on
 * new connections, it is never admitted. Holders of the key are, including during a rotation.
 */
@Timeout(60)
class NetworkKeyAdmissionTest {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final EventLoopGroup clients =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final List<PeerTransport> transports = new ArrayList<>();

  private final byte[] networkKey = key();
  private OwnerKeys nodeKeys;
  private PeerTransport node;
  private PeerTransportTest.Recorder nodeEvents;
  private InetSocketAddress nodeAddress;

  private static byte[] key() {
    byte[] k = new byte[NetworkKeyring.KEY_BYTES];
    new SecureRandom().nextBytes(k);
    return k;
  }

  @BeforeEach
  void startNode() throws Exception {
    nodeKeys = OwnerKeys.generate(new SecureRandom());
    nodeEvents = new PeerTransportTest.Recorder();
    node = transport(nodeKeys, Optional.of(NetworkKeyring.of(networkKey)), nodeEvents);
    nodeAddress = node.bind(new InetSocketAddress("127.0.0.1", 0));
  }

  @AfterEach
  void stop() {
    transports.forEach(PeerTransport::close);
    clients.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private PeerTransport transport(OwnerKeys keys, Optional<NetworkKeyring> ring,
      PeerTransport.Listener listener) {
    PeerTransport t = new PeerTransport(keys, new PeerAddress(keys.nodeId(), "127.0.0.1", 7946),
        ring, PeerTransport.Limits.defaults().withHandshakeMillis(2_000), group, listener);
    transports.add(t);
    return t;
  }

  private static void awaitClosed(Channel ch) {
    await().atMost(Duration.ofSeconds(10)).until(() -> !ch.isActive());
  }

  /** Nothing in these frames names the node or the key, and none of them is a Hello. */
  private void assertRevealsNothing(List<byte[]> frames) {
    byte[] id = nodeKeys.nodeId().toBytes();
    byte[] fingerprint = NetworkKeyring.networkId(networkKey).getBytes(StandardCharsets.US_ASCII);
    for (byte[] f : frames) {
      assertThat(TestBytes.indexOf(f, id)).as("node ID in a frame to a stranger").isNegative();
      assertThat(TestBytes.indexOf(f, networkKey)).isNegative();
      assertThat(TestBytes.indexOf(f, fingerprint)).isNegative();
      assertThat(TestBytes.indexOf(f, "127.0.0.1".getBytes(StandardCharsets.US_ASCII)))
          .isNegative();
    }
  }

  /**
   * What a refused stranger got: at most the node's challenge (it may see nothing at all when
   * the node closes before the stranger read it), and no Hello, which would parse as a
   * challenge with an unknown field 3.
   */
  private static void assertAtMostAChallenge(List<byte[]> received) throws Exception {
    assertThat(received).hasSizeLessThanOrEqualTo(1);
    for (byte[] f : received) {
      KeyChallenge c = KeyChallenge.parseFrom(f);
      assertThat(c.getUnknownFields().asMap()).isEmpty();
      assertThat(c.getNonce().size()).isEqualTo(Protocol.NONCE_BYTES);
    }
  }

  @Test
  void aStrangerReplayingEverythingItRecordedIsNeverAdmitted() throws Exception {
    OwnerKeys stranger = OwnerKeys.generate(new SecureRandom());
    List<byte[]> recorded = new ArrayList<>();

    // 1. Dial in without the key: with an empty proof, and with a proof under a wrong key.
    for (Optional<NetworkKeyring> ring : List.of(Optional.<NetworkKeyring>empty(),
        Optional.of(NetworkKeyring.of(key())))) {
      RawTlsClient.Client c = RawTlsClient.handshake(clients, stranger, nodeAddress, ring,
          List.of(RawTlsClient.hello(stranger.nodeId())), false);
      awaitClosed(c.channel());
      assertThat(c.received()).as("all the node says is its challenge").hasSize(1);
      KeyChallenge challenge = KeyChallenge.parseFrom(c.received().get(0));
      assertThat(challenge.getProtocolVersion()).isEqualTo(Protocol.VERSION);
      assertThat(challenge.getNonce().size()).isEqualTo(Protocol.NONCE_BYTES);
      recorded.addAll(c.received());
    }

    // 2. Be dialed by the node: it proves first, to a listener that never proves back.
    FakeListener listener = new FakeListener(stranger);
    node.dial(listener.address, null);
    await().atMost(Duration.ofSeconds(10)).until(() -> listener.received.size() == 2);
    await().atMost(Duration.ofSeconds(10)).until(() -> nodeEvents.dialFailures.size() == 1);
    KeyChallenge.parseFrom(listener.received.get(0));
    assertThat(KeyProof.parseFrom(listener.received.get(1)).getMac().size()).isEqualTo(32);
    recorded.addAll(listener.received);
    assertRevealsNothing(recorded);

    // 3. Replay: every recorded frame as the challenge, then every one as the proof.
    int attempts = 0;
    for (byte[] asChallenge : recorded) {
      for (byte[] asProof : recorded) {
        RawTlsClient.Client c = RawTlsClient.open(clients, stranger, nodeAddress,
            List.of(asChallenge, asProof, RawTlsClient.hello(stranger.nodeId())), false);
        awaitClosed(c.channel());
        assertAtMostAChallenge(c.received());
        attempts++;
      }
      // The node's own recorded proof after a fresh challenge of ours.
      for (byte[] asProof : recorded) {
        RawTlsClient.Client c = RawTlsClient.open(clients, stranger, nodeAddress,
            List.of(RawTlsClient.challenge(RawTlsClient.nonce()), asProof,
                RawTlsClient.hello(stranger.nodeId())), false);
        awaitClosed(c.channel());
        assertAtMostAChallenge(c.received());
        attempts++;
      }
    }
    assertThat(attempts).isGreaterThan(20);
    assertThat(nodeEvents.ready).isEmpty();
    assertThat(node.stats().linksOpened()).isZero();
  }

  @Test
  void relayingTheNodesOwnProofBetweenTwoLinksDoesNotAdmitAStranger() throws Exception {
    OwnerKeys stranger = OwnerKeys.generate(new SecureRandom());
    // Link X: the stranger dials in and learns the node's nonce there.
    RawTlsClient.Client x = RawTlsClient.open(clients, stranger, nodeAddress, List.of(), false);
    await().atMost(Duration.ofSeconds(10)).until(() -> x.received().size() == 1);
    byte[] nonceX = KeyChallenge.parseFrom(x.received().get(0)).getNonce().toByteArray();

    // Link Y: the node dials the stranger, which challenges it with X's nonce, so that the
    // node's proof on Y covers the same two nonces the stranger needs on X.
    FakeListener y = new FakeListener(stranger);
    y.challengeNonce = nonceX;
    node.dial(y.address, null);
    await().atMost(Duration.ofSeconds(10)).until(() -> y.received.size() == 2);
    byte[] nonceY = KeyChallenge.parseFrom(y.received.get(0)).getNonce().toByteArray();
    byte[] proofY = y.received.get(1);

    // On X, present Y's nonce and the node's own proof from Y.
    x.channel().writeAndFlush(Unpooled.wrappedBuffer(RawTlsClient.challenge(nonceY)));
    x.channel().writeAndFlush(Unpooled.wrappedBuffer(proofY));
    x.channel().writeAndFlush(Unpooled.wrappedBuffer(RawTlsClient.hello(stranger.nodeId())));
    awaitClosed(x.channel());
    assertThat(x.received()).hasSize(1);

    // Echoing the node's own challenge is refused as such.
    RawTlsClient.Client echo = RawTlsClient.open(clients, stranger, nodeAddress, List.of(),
        false);
    await().atMost(Duration.ofSeconds(10)).until(() -> echo.received().size() == 1);
    echo.channel().writeAndFlush(Unpooled.wrappedBuffer(echo.received().get(0)));
    awaitClosed(echo.channel());
    assertThat(echo.received()).hasSize(1);

    assertThat(nodeEvents.ready).isEmpty();
    assertThat(node.stats().networkMismatches()).isPositive();
  }

  @Test
  void aMembersProofFromOneConnectionIsWorthlessOnTheNext() throws Exception {
    OwnerKeys member = OwnerKeys.generate(new SecureRandom());
    Optional<NetworkKeyring> ring = Optional.of(NetworkKeyring.of(networkKey));
    RawTlsClient.Client first = RawTlsClient.handshake(clients, member, nodeAddress, ring,
        List.of(RawTlsClient.hello(member.nodeId())), false);
    await().atMost(Duration.ofSeconds(10)).until(() -> nodeEvents.ready.size() == 1);
    assertThat(nodeEvents.ready.get(0).peer()).isEqualTo(member.nodeId());
    await().atMost(Duration.ofSeconds(10)).until(() -> first.received().size() == 3);
    Hello hello = Hello.parseFrom(first.received().get(2));
    assertThat(NodeId.of(hello.getNodeId().toByteArray())).isEqualTo(nodeKeys.nodeId());
    first.channel().close();

    // Someone who has the member's certificate key but not the network key (say, removed in
    // a rotation) replays a proof that was good on the first connection: made for the node's
    // nonce there, with a member nonce it repeats now.
    byte[] memberNonce = RawTlsClient.nonce();
    byte[] nodeNonce = KeyChallenge.parseFrom(first.received().get(0)).getNonce().toByteArray();
    byte[] memberCert = PeerCertificates.rawPublicKey(
        PeerCertificates.forKeys(member).certificate());
    byte[] nodeCert = PeerCertificates.rawPublicKey(
        PeerCertificates.forKeys(nodeKeys).certificate());
    byte[] oldProof = NetworkKeyring.prove(ring, NetworkKeyring.Role.DIALER, memberCert,
        nodeCert, memberNonce, nodeNonce);
    RawTlsClient.Client replay = RawTlsClient.open(clients, member, nodeAddress,
        List.of(RawTlsClient.challenge(memberNonce), RawTlsClient.proof(oldProof),
            RawTlsClient.hello(member.nodeId())), false);
    awaitClosed(replay.channel());
    assertAtMostAChallenge(replay.received());
    assertThat(nodeEvents.ready).hasSize(1);
  }

  @Test
  void duringARotationOldAndNewKeysAreAcceptedAndARemovedKeyIsNot() throws Exception {
    byte[] newKey = key();
    NetworkKeyring nodeRing = NetworkKeyring.of(networkKey);
    PeerTransportTest.Recorder aEvents = new PeerTransportTest.Recorder();
    OwnerKeys aKeys = OwnerKeys.generate(new SecureRandom());
    PeerTransport a = transport(aKeys, Optional.of(nodeRing), aEvents);
    InetSocketAddress aAddress = a.bind(new InetSocketAddress("127.0.0.1", 0));
    nodeRing.install(newKey);

    // A node already presenting the new key, still accepting the old one.
    NetworkKeyring bRing = NetworkKeyring.of(newKey);
    bRing.install(networkKey);
    PeerTransportTest.Recorder bEvents = new PeerTransportTest.Recorder();
    OwnerKeys bKeys = OwnerKeys.generate(new SecureRandom());
    PeerTransport b = transport(bKeys, Optional.of(bRing), bEvents);
    b.bind(new InetSocketAddress("127.0.0.1", 0));
    b.dial(aAddress, aKeys.nodeId());
    await().atMost(Duration.ofSeconds(10))
        .until(() -> aEvents.ready.size() == 1 && bEvents.ready.size() == 1);

    // Scripted members with only the old or only the new key both get in.
    for (byte[] k : List.of(networkKey, newKey)) {
      OwnerKeys m = OwnerKeys.generate(new SecureRandom());
      int before = aEvents.ready.size();
      RawTlsClient.handshake(clients, m, aAddress, Optional.of(NetworkKeyring.of(k)),
          List.of(RawTlsClient.hello(m.nodeId())), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> aEvents.ready.size() == before + 1);
    }

    // Rotation done: the old key is gone, and with it whoever holds only that.
    nodeRing.use(newKey);
    nodeRing.remove(networkKey);
    OwnerKeys late = OwnerKeys.generate(new SecureRandom());
    RawTlsClient.Client c = RawTlsClient.handshake(clients, late, aAddress,
        Optional.of(NetworkKeyring.of(networkKey)), List.of(RawTlsClient.hello(late.nodeId())),
        false);
    awaitClosed(c.channel());
    assertThat(c.received()).hasSize(1);
    assertThat(aEvents.ready).hasSize(3);
    assertThat(aEvents.ready).noneMatch(l -> l.peer().equals(late.nodeId()));
  }

  @Test
  void openNodesStillLinkUp() throws Exception {
    PeerTransportTest.Recorder aEvents = new PeerTransportTest.Recorder();
    PeerTransportTest.Recorder bEvents = new PeerTransportTest.Recorder();
    PeerTransport a = transport(OwnerKeys.generate(new SecureRandom()), Optional.empty(),
        aEvents);
    OwnerKeys bKeys = OwnerKeys.generate(new SecureRandom());
    PeerTransport b = transport(bKeys, Optional.empty(), bEvents);
    InetSocketAddress bAddress = b.bind(new InetSocketAddress("127.0.0.1", 0));
    a.dial(bAddress, bKeys.nodeId());
    await().atMost(Duration.ofSeconds(10))
        .until(() -> aEvents.ready.size() == 1 && bEvents.ready.size() == 1);
    // And an open node is no way into a private one.
    a.dial(nodeAddress, null);
    await().atMost(Duration.ofSeconds(10)).until(() -> aEvents.dialFailures.size() == 1);
    assertThat(nodeEvents.ready).isEmpty();
  }

  /**
   * A TLS listener with the stranger's certificate: sends a KeyChallenge (with a nonce of its
   * choosing) to whoever dials it and records what it hears; never proves anything.
   */
  private final class FakeListener {
    final List<byte[]> received = new CopyOnWriteArrayList<>();
    final InetSocketAddress address;
    volatile byte[] challengeNonce = RawTlsClient.nonce();

    FakeListener(OwnerKeys certKeys) throws InterruptedException {
      var ctx = PeerTransport.serverContext(PeerCertificates.forKeys(certKeys));
      Channel server = new ServerBootstrap().group(clients).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              SslHandler ssl = ctx.newHandler(ch.alloc());
              ch.pipeline().addLast(ssl)
                  .addLast(new LengthFieldBasedFrameDecoder(Protocol.MAX_FRAME_BYTES, 0, 4, 0, 4))
                  .addLast(new LengthFieldPrepender(4))
                  .addLast(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext c) {
                      ssl.handshakeFuture().addListener(f -> {
                        if (f.isSuccess()) {
                          c.writeAndFlush(Unpooled.wrappedBuffer(
                              RawTlsClient.challenge(challengeNonce)));
                        }
                      });
                      c.fireChannelActive();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext c, Object msg) {
                      received.add(ByteBufUtil.getBytes((ByteBuf) msg));
                      ReferenceCountUtil.release(msg);
                    }
                  });
            }
          }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
      address = (InetSocketAddress) server.localAddress();
    }
  }
}
