package dev.mycelium.node.peer;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.node.audit.AuditLog;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.Protocol;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Hello;
import dev.mycelium.wire.proto.KeyChallenge;
import dev.mycelium.wire.proto.KeyProof;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticated, framed peer links over Netty: TCP with TLS 1.3 only, both sides presenting
 * the self-signed certificate of their node identity ({@link PeerCertificates}).
 *
 * <p>Why the checks sit where they do: the TLS layer accepts any well-formed self-signed
 * Ed25519 certificate, because there is no authority to check it against. After TLS, each
 * side proves the network key of the optional {@link NetworkKeyring}, bound to this link:
 * both send a {@code KeyChallenge} (protocol version and a fresh nonce); the dialer answers
 * with a {@code KeyProof} (HMAC under the key over its role, both certificate keys and both
 * nonces, see {@link NetworkKeyring#prove}); the listener checks it and only then sends its
 * own proof; the dialer checks that. Only a side whose peer's proof checked sends its {@code
 * Hello} (node ID and advertised address), so a stranger without the key learns a nonce and
 * nothing it could replay (docs/adr/0008-network-key-proof.md). Then the node ID in the
 * peer's Hello must equal the SHA-256 of the key TLS just proved the peer holds; a peer whose
 * Hello claims another ID is dropped ("certificate does not match claimed node id").
 *
 * <p>Wire format: each frame is a 4-byte big-endian length and that many bytes. Until the
 * peer's Hello is accepted a frame may hold at most {@link Protocol#MAX_HANDSHAKE_FRAME_BYTES},
 * afterwards {@link Protocol#MAX_FRAME_BYTES}, and the whole handshake (TLS included) must end
 * within {@link Limits#handshakeMillis()}. A frame that is too long or does not parse ends the
 * link and is reported to the {@link Listener} under the node ID of the peer's certificate, so
 * it counts against the peer even before its Hello. A link silent for {@link
 * Limits#idleMillis()} is closed; inbound and outbound links have separate caps ({@link
 * Limits#maxInbound()}, {@link Limits#maxOutbound()}), so a flood of inbound connections
 * cannot stop this node from dialing.
 *
 * <p>All channels live on the event loop group given to the constructor; with a one-thread
 * group, every {@link Listener} call happens on that thread, which is what lets the overlay
 * core stay single-threaded.
 */
public final class PeerTransport implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PeerTransport.class);

  private static final AttributeKey<PeerLink> LINK = AttributeKey.valueOf("mycelium.link");

  /**
   * Resource limits of the transport.
   *
   * @param maxInbound inbound links (handshaking or up) beyond which new ones are refused
   * @param idleMillis a link with nothing to read for this long is closed
   * @param maxPendingFrames unsent frames per link before the link is dropped
   * @param maxPendingBytes unsent bytes per link before the link is dropped
   * @param connectTimeoutMillis TCP connect timeout for dials
   * @param addresses what one remote address and its subnet may hold and start (inbound
   *     links, handshakes per second) and when it is banned; checked before the TLS handshake
   * @param maxOutbound links this node dials (handshaking or up) beyond which its dials fail
   * @param handshakeMillis time from TCP connect to an accepted Hello, TLS included; a link
   *     still handshaking then is closed
   */
  public record Limits(int maxInbound, long idleMillis, int maxPendingFrames,
      long maxPendingBytes, int connectTimeoutMillis, AddressGuard.Settings addresses,
      int maxOutbound, long handshakeMillis) {
    public Limits {
      Objects.requireNonNull(addresses, "address limits");
      if (maxInbound < 1 || idleMillis < 1 || maxPendingFrames < 1 || maxPendingBytes < 1
          || connectTimeoutMillis < 1 || maxOutbound < 1 || handshakeMillis < 1) {
        throw new IllegalArgumentException("transport limits must all be >= 1, got "
            + maxInbound + ", " + idleMillis + ", " + maxPendingFrames + ", "
            + maxPendingBytes + ", " + connectTimeoutMillis + ", " + maxOutbound + ", "
            + handshakeMillis);
      }
    }

    /**
     * As the canonical constructor, with the default address limits, 64 outbound links and a
     * 5 s handshake.
     */
    public Limits(int maxInbound, long idleMillis, int maxPendingFrames,
        long maxPendingBytes, int connectTimeoutMillis) {
      this(maxInbound, idleMillis, maxPendingFrames, maxPendingBytes, connectTimeoutMillis,
          AddressGuard.Settings.defaults(), 64, 5_000);
    }

    /**
     * 256 inbound and 64 outbound links, 30 s idle, 1,024 frames or 16 MiB queued per link,
     * 5 s connect timeout, {@link AddressGuard.Settings#defaults()}, 5 s handshake.
     */
    public static Limits defaults() {
      return new Limits(256, 30_000, 1_024, 16L << 20, 5_000, AddressGuard.Settings.defaults(),
          64, 5_000);
    }

    /** Inbound links one remote address may hold open. */
    public int maxConnectionsPerIp() {
      return addresses.maxConnectionsPerIp();
    }

    /** A copy with another per-IP cap. */
    public Limits withMaxConnectionsPerIp(int perIp) {
      return withAddresses(addresses.withMaxConnectionsPerIp(perIp));
    }

    /** A copy with other address limits. */
    public Limits withAddresses(AddressGuard.Settings settings) {
      return new Limits(maxInbound, idleMillis, maxPendingFrames, maxPendingBytes,
          connectTimeoutMillis, settings, maxOutbound, handshakeMillis);
    }

    /** A copy with another handshake deadline. */
    public Limits withHandshakeMillis(long millis) {
      return new Limits(maxInbound, idleMillis, maxPendingFrames, maxPendingBytes,
          connectTimeoutMillis, addresses, maxOutbound, millis);
    }

    /** A copy with other inbound and outbound caps. */
    public Limits withSlots(int inbound, int outbound) {
      return new Limits(inbound, idleMillis, maxPendingFrames, maxPendingBytes,
          connectTimeoutMillis, addresses, outbound, handshakeMillis);
    }
  }

  /** Receives what happens on links; called on the channel's event loop. */
  public interface Listener {
    /** A link passed every check; envelopes may now flow both ways. */
    void onReady(PeerLink link);

    void onEnvelope(PeerLink link, Envelope envelope);

    /** A frame from this peer (named by its certificate) was bad; the link is being closed. */
    void onMalformed(NodeId peer, String why);

    /** A link that had been ready closed, for whatever reason. */
    void onClosed(PeerLink link);

    /** A dial ended before its link was ready. */
    void onDialFailed(InetSocketAddress address, NodeId expected, String why);
  }

  /** Counters, read by status pages and tests. */
  public record Stats(long linksOpened, long refusedOverCap, long handshakeFailures,
      long certificateMismatches, long networkMismatches, long versionMismatches,
      long malformedFrames, long slowPeersDropped, long idleClosed, long framesIn,
      long framesOut, int openChannels, long refusedOverIpCap, long bytesIn, long bytesOut,
      long handshakeTimeouts, long refusedByAddress, long addressBans) {}

  private final OwnerKeys keys;
  private volatile PeerAddress advertised;
  private final Optional<NetworkKeyring> keyring;
  private final Limits limits;
  private final EventLoopGroup group;
  private final Listener listener;
  private final SslContext serverContext;
  private final SslContext clientContext;
  private final byte[] ownCertKey;
  private final SecureRandom random = new SecureRandom();
  private final Set<Channel> channels = ConcurrentHashMap.newKeySet();
  private final Set<Channel> inbound = ConcurrentHashMap.newKeySet();
  private final Set<Channel> outbound = ConcurrentHashMap.newKeySet();
  private final AddressGuard guard;
  private Channel serverChannel;

  private final AtomicLong linksOpened = new AtomicLong();
  private final AtomicLong refusedOverCap = new AtomicLong();
  private final AtomicLong refusedOverIpCap = new AtomicLong();
  private final AtomicLong refusedByAddress = new AtomicLong();
  private final AtomicLong handshakeFailures = new AtomicLong();
  private final AtomicLong certificateMismatches = new AtomicLong();
  private final AtomicLong networkMismatches = new AtomicLong();
  private final AtomicLong versionMismatches = new AtomicLong();
  private final AtomicLong malformedFrames = new AtomicLong();
  private final AtomicLong slowPeersDropped = new AtomicLong();
  private final AtomicLong oversizedNotSent = new AtomicLong();
  private final AtomicLong idleClosed = new AtomicLong();
  private final AtomicLong handshakeTimeouts = new AtomicLong();
  private final AtomicLong framesIn = new AtomicLong();
  private final AtomicLong framesOut = new AtomicLong();
  // Frame bodies without the 4-byte length prefix and TLS framing: what the protocol sends.
  private final AtomicLong bytesIn = new AtomicLong();
  private final AtomicLong bytesOut = new AtomicLong();

  public PeerTransport(OwnerKeys keys, PeerAddress advertised, Optional<NetworkKeyring> keyring,
      Limits limits, EventLoopGroup group, Listener listener) {
    this.keys = Objects.requireNonNull(keys, "keys");
    this.advertised = Objects.requireNonNull(advertised, "advertised address");
    if (!advertised.id().equals(keys.nodeId())) {
      throw new IllegalArgumentException("advertised address names node " + advertised.id()
          + " but the keys are those of " + keys.nodeId());
    }
    this.keyring = Objects.requireNonNull(keyring, "keyring (Optional.empty() for none)");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.guard = new AddressGuard(limits.addresses());
    this.group = Objects.requireNonNull(group, "event loop group");
    this.listener = Objects.requireNonNull(listener, "listener");
    PeerCertificates certs = PeerCertificates.forKeys(keys);
    try {
      this.ownCertKey = PeerCertificates.rawPublicKey(certs.certificate());
    } catch (CertificateException e) {
      throw new IllegalStateException("own certificate unusable: " + e.getMessage(), e);
    }
    this.serverContext = serverContext(certs);
    this.clientContext = clientContext(certs);
  }

  /** TLS 1.3 server side with required client certificates, for the node's certificate. */
  static SslContext serverContext(PeerCertificates certs) {
    try {
      return SslContextBuilder.forServer(certs.privateKey(), certs.certificate())
          .sslProvider(SslProvider.JDK).protocols("TLSv1.3")
          .clientAuth(ClientAuth.REQUIRE).trustManager(new SelfSignedTrustManager()).build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  /** TLS 1.3 client side presenting the node's certificate. */
  static SslContext clientContext(PeerCertificates certs) {
    try {
      return SslContextBuilder.forClient().keyManager(certs.privateKey(), certs.certificate())
          .sslProvider(SslProvider.JDK).protocols("TLSv1.3")
          .trustManager(new SelfSignedTrustManager()).build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  /**
   * Changes the address sent in Hellos (once the real listening port is known).
   *
   * @throws IllegalArgumentException when it names another node
   */
  public void advertise(PeerAddress address) {
    if (!address.id().equals(keys.nodeId())) {
      throw new IllegalArgumentException("advertised address names node " + address.id()
          + " but the keys are those of " + keys.nodeId());
    }
    if (address.host().length() > Protocol.MAX_HOST_CHARS) {
      throw new IllegalArgumentException("advertised host is " + address.host().length()
          + " characters, over the limit of " + Protocol.MAX_HOST_CHARS);
    }
    this.advertised = address;
  }

  /**
   * Starts listening.
   *
   * @return the bound address (the real port when 0 was asked for)
   */
  public InetSocketAddress bind(InetSocketAddress listen) throws InterruptedException {
    ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (!admitFromIp(ch) || !admit(ch, false)) {
              return;
            }
            setUp(ch, false, null, null);
          }
        });
    serverChannel = b.bind(listen).sync().channel();
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /**
   * Opens a link to an address; the result arrives through the listener ({@link
   * Listener#onReady} or {@link Listener#onDialFailed}).
   *
   * @param expected the node ID we expect there, or null for a seed known only by address
   */
  public void dial(InetSocketAddress address, NodeId expected) {
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, limits.connectTimeoutMillis())
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (!admit(ch, true)) {
              return; // the closed channel fails the connect, which reports the dial failure
            }
            setUp(ch, true, address, expected);
          }
        });
    b.connect(address).addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        listener.onDialFailed(address, expected, String.valueOf(f.cause().getMessage()));
      }
    });
  }

  /**
   * Asks the {@link AddressGuard} about an inbound connection before anything is spent on it
   * (no TLS yet), and gives its slot back when it closes. Links this node dialed are its own
   * choice and are not counted.
   */
  private boolean admitFromIp(SocketChannel ch) {
    InetSocketAddress remote = ch.remoteAddress();
    if (remote == null || remote.getAddress() == null) {
      return true;
    }
    InetAddress ip = remote.getAddress();
    AddressGuard.Verdict v = guard.admitInbound(ip, System.currentTimeMillis());
    if (v != AddressGuard.Verdict.ADMIT) {
      if (v == AddressGuard.Verdict.OVER_IP_CAP) {
        refusedOverIpCap.incrementAndGet();
      }
      refusedByAddress.incrementAndGet();
      // Debug, not warn: a flood must not turn into a flood of log lines.
      LOG.debug("refusing link from {}: {}", remote, v.why());
      ch.close();
      return false;
    }
    ch.closeFuture().addListener(f -> guard.release(ip));
    return true;
  }

  /** Counts a misdeed against the remote address of a channel (not against loopback). */
  private void penalize(Channel ch, double points, String why) {
    if (ch.remoteAddress() instanceof InetSocketAddress remote && remote.getAddress() != null) {
      if (guard.penalize(remote.getAddress(), points, System.currentTimeMillis())) {
        AuditLog.handshakeRefused(String.valueOf(remote), "address",
            "address banned for " + limits.addresses().banMillis() + " ms after: " + why);
      }
    }
  }

  /**
   * Bans the address a peer connects from, because its node was banned for what it did after
   * its Hello: otherwise it comes back at once under a fresh identity.
   */
  public void banAddress(java.net.SocketAddress address) {
    if (address instanceof InetSocketAddress remote && remote.getAddress() != null) {
      guard.ban(remote.getAddress(), System.currentTimeMillis());
    }
  }

  /** Whether an address is banned now (for status and tests). */
  public boolean isAddressBanned(InetAddress ip) {
    return guard.isBanned(ip, System.currentTimeMillis());
  }

  /** Takes an inbound or an outbound slot for a new channel, or closes it when none is free. */
  private boolean admit(Channel ch, boolean out) {
    Set<Channel> budget = out ? outbound : inbound;
    int cap = out ? limits.maxOutbound() : limits.maxInbound();
    if (budget.size() >= cap) {
      refusedOverCap.incrementAndGet();
      LOG.warn("refusing {} link with {}: {} {} links open, the cap", out ? "outbound" : "inbound",
          ch.remoteAddress(), budget.size(), out ? "outbound" : "inbound");
      ch.close();
      return false;
    }
    budget.add(ch);
    channels.add(ch);
    ch.closeFuture().addListener(f -> {
      channels.remove(ch);
      budget.remove(ch);
    });
    return true;
  }

  private void setUp(SocketChannel ch, boolean outbound, InetSocketAddress dialed,
      NodeId expected) {
    SSLEngine engine = outbound
        ? clientContext.newEngine(ch.alloc(), dialed.getHostString(), dialed.getPort())
        : serverContext.newEngine(ch.alloc());
    SslHandler ssl = new SslHandler(engine);
    // The handshake deadline below covers TLS too; this is only Netty's own backstop.
    ssl.setHandshakeTimeoutMillis(limits.connectTimeoutMillis());
    // A peer that stopped reading must not hold its socket for long after we drop it.
    ssl.setCloseNotifyFlushTimeoutMillis(1_000);
    PeerFrameDecoder decoder = new PeerFrameDecoder(Protocol.MAX_HANDSHAKE_FRAME_BYTES);
    ch.pipeline()
        .addLast("tls", ssl)
        .addLast("idle", new IdleStateHandler(limits.idleMillis(), 0, 0, TimeUnit.MILLISECONDS))
        .addLast("frameDecoder", decoder)
        .addLast("framePrepender", new LengthFieldPrepender(4))
        .addLast("peer", new PeerHandler(ssl, decoder, outbound, dialed, expected));
  }

  /** Where a link is in its handshake. */
  private enum Stage { TLS, CHALLENGE, PROOF, HELLO, UP }

  /**
   * The per-channel state machine: TLS, then the key challenge and proofs, then Hello, then
   * envelopes.
   */
  private final class PeerHandler extends SimpleChannelInboundHandler<ByteBuf> {
    private final SslHandler ssl;
    private final PeerFrameDecoder decoder;
    private final boolean outbound;
    private final InetSocketAddress dialed;
    private final NodeId expected;
    private final byte[] ownNonce = new byte[Protocol.NONCE_BYTES];
    private Stage stage = Stage.TLS;
    private NodeId certId;
    private byte[] peerCertKey;
    private byte[] peerNonce;
    private PeerLink link;
    private boolean failed;
    private io.netty.util.concurrent.ScheduledFuture<?> deadline;

    PeerHandler(SslHandler ssl, PeerFrameDecoder decoder, boolean outbound,
        InetSocketAddress dialed, NodeId expected) {
      this.ssl = ssl;
      this.decoder = decoder;
      this.outbound = outbound;
      this.dialed = dialed;
      this.expected = expected;
    }

    private String remote(ChannelHandlerContext ctx) {
      return String.valueOf(ctx.channel().remoteAddress());
    }

    private String who() {
      return certId == null ? "unknown" : certId.toString();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      deadline = ctx.executor().schedule(() -> {
        if (link == null && !failed) {
          handshakeTimeouts.incrementAndGet();
          if (!outbound) {
            penalize(ctx.channel(), AddressGuard.FAILED_HANDSHAKE, "handshake deadline");
            AuditLog.handshakeRefused(remote(ctx), who(), "handshake not done within "
                + limits.handshakeMillis() + " ms (stage " + stage + ")");
          }
          fail(ctx, "handshake not done within " + limits.handshakeMillis() + " ms (stage "
              + stage + ")");
        }
      }, limits.handshakeMillis(), TimeUnit.MILLISECONDS);
      ssl.handshakeFuture().addListener(f -> {
        if (failed) {
          return;
        }
        if (!f.isSuccess()) {
          handshakeFailures.incrementAndGet();
          String why = "TLS handshake failed: " + LogSafe.of(f.cause().getMessage());
          if (!outbound) {
            // Our own failed dials are dial failures; a stranger's failed TLS is audited.
            AuditLog.handshakeRefused(remote(ctx), "unknown", why);
            penalize(ctx.channel(), AddressGuard.FAILED_HANDSHAKE, "TLS handshake failed");
          }
          fail(ctx, why);
          return;
        }
        try {
          Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
          X509Certificate cert = (X509Certificate) chain[0];
          peerCertKey = PeerCertificates.rawPublicKey(cert);
          certId = PeerCertificates.nodeIdOf(cert);
        } catch (Exception e) {
          handshakeFailures.incrementAndGet();
          fail(ctx, "peer certificate unusable: " + LogSafe.of(e.getMessage()));
          return;
        }
        random.nextBytes(ownNonce);
        stage = Stage.CHALLENGE;
        write(ctx, KeyChallenge.newBuilder().setProtocolVersion(Protocol.VERSION)
            .setNonce(ByteString.copyFrom(ownNonce)).build().toByteArray());
      });
      super.channelActive(ctx);
    }

    private void write(ChannelHandlerContext ctx, byte[] bytes) {
      ctx.writeAndFlush(Unpooled.wrappedBuffer(bytes));
      countOut(bytes.length);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
      if (failed) {
        return;
      }
      framesIn.incrementAndGet();
      bytesIn.addAndGet(frame.readableBytes());
      byte[] bytes = ByteBufUtil.getBytes(frame);
      switch (stage) {
        case TLS -> fail(ctx, "frame before the TLS handshake finished");
        case CHALLENGE -> onChallenge(ctx, bytes);
        case PROOF -> onProof(ctx, bytes);
        case HELLO -> onHello(ctx, bytes);
        case UP -> {
          Envelope env;
          try {
            env = Envelope.parseFrom(bytes);
          } catch (InvalidProtocolBufferException e) {
            malformed(ctx, "envelope does not parse: " + LogSafe.of(e.getMessage()));
            return;
          }
          listener.onEnvelope(link, env);
        }
      }
    }

    private void onChallenge(ChannelHandlerContext ctx, byte[] bytes) {
      KeyChallenge challenge;
      try {
        challenge = KeyChallenge.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        malformed(ctx, "KeyChallenge does not parse: " + LogSafe.of(e.getMessage()));
        return;
      }
      if (challenge.getProtocolVersion() != Protocol.VERSION) {
        versionMismatches.incrementAndGet();
        AuditLog.handshakeRefused(remote(ctx), who(),
            "protocol version " + challenge.getProtocolVersion());
        malformed(ctx, "protocol version " + challenge.getProtocolVersion()
            + ", this node speaks " + Protocol.VERSION);
        return;
      }
      if (challenge.getNonce().size() != Protocol.NONCE_BYTES) {
        malformed(ctx, "KeyChallenge nonce of " + challenge.getNonce().size() + " bytes, not "
            + Protocol.NONCE_BYTES);
        return;
      }
      peerNonce = challenge.getNonce().toByteArray();
      if (java.util.Arrays.equals(peerNonce, ownNonce)) {
        // Our own challenge sent back: whatever is going on, it is not a peer.
        malformed(ctx, "KeyChallenge echoes this node's nonce");
        return;
      }
      stage = Stage.PROOF;
      if (outbound) {
        // The dialer proves first; the listener answers only a peer that proved the key.
        sendProof(ctx);
      }
    }

    private void sendProof(ChannelHandlerContext ctx) {
      NetworkKeyring.Role role = outbound ? NetworkKeyring.Role.DIALER
          : NetworkKeyring.Role.LISTENER;
      write(ctx, KeyProof.newBuilder().setMac(ByteString.copyFrom(NetworkKeyring.prove(
          keyring, role, ownCertKey, peerCertKey, ownNonce, peerNonce))).build().toByteArray());
    }

    private void onProof(ChannelHandlerContext ctx, byte[] bytes) {
      KeyProof proof;
      try {
        proof = KeyProof.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        malformed(ctx, "KeyProof does not parse: " + LogSafe.of(e.getMessage()));
        return;
      }
      NetworkKeyring.Role peerRole = outbound ? NetworkKeyring.Role.LISTENER
          : NetworkKeyring.Role.DIALER;
      if (!NetworkKeyring.verify(keyring, peerRole, peerCertKey, ownCertKey, peerNonce,
          ownNonce, proof.getMac().toByteArray())) {
        networkMismatches.incrementAndGet();
        String why = keyring.isEmpty() ? "peer is on a private network, this node on an open one"
            : proof.getMac().isEmpty() ? "peer has no network key"
            : "peer's key proof does not check under any installed network key";
        AuditLog.handshakeRefused(remote(ctx), who(), "not on this network: " + why);
        if (!outbound) {
          penalize(ctx.channel(), AddressGuard.BAD_PROOF, why);
        }
        fail(ctx, "peer " + certId.shortString() + " is not on this network (" + why + ")");
        return;
      }
      if (!outbound) {
        sendProof(ctx);
      }
      stage = Stage.HELLO;
      write(ctx, Hello.newBuilder().setProtocolVersion(Protocol.VERSION)
          .setNodeId(ByteString.copyFrom(keys.nodeId().toBytes()))
          .setAddress(advertised.toProto()).build().toByteArray());
    }

    private void onHello(ChannelHandlerContext ctx, byte[] bytes) {
      Hello hello;
      PeerAddress address;
      try {
        hello = Hello.parseFrom(bytes);
        address = PeerAddress.fromProto(hello.getAddress());
      } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
        malformed(ctx, "Hello does not parse: " + LogSafe.of(e.getMessage()));
        return;
      }
      if (hello.getProtocolVersion() != Protocol.VERSION) {
        versionMismatches.incrementAndGet();
        AuditLog.handshakeRefused(remote(ctx), who(),
            "protocol version " + hello.getProtocolVersion());
        malformed(ctx, "protocol version " + hello.getProtocolVersion() + ", this node speaks "
            + Protocol.VERSION);
        return;
      }
      byte[] claimed = hello.getNodeId().toByteArray();
      if (claimed.length != NodeId.LENGTH || !NodeId.of(claimed).equals(certId)
          || !address.id().equals(certId)) {
        certificateMismatches.incrementAndGet();
        AuditLog.handshakeRefused(remote(ctx), who(), "certificate does not match claimed node id");
        LOG.warn("dropping link with {}: certificate does not match claimed node id "
            + "(certificate {})", ctx.channel().remoteAddress(), certId.shortString());
        malformed(ctx, "certificate does not match claimed node id");
        return;
      }
      if (address.host().length() > Protocol.MAX_HOST_CHARS) {
        malformed(ctx, "advertised host of " + address.host().length() + " characters");
        return;
      }
      if (certId.equals(keys.nodeId())) {
        fail(ctx, "link to self");
        return;
      }
      if (expected != null && !expected.equals(certId)) {
        fail(ctx, "dialed " + expected.shortString() + " at " + dialed + " but found "
            + certId.shortString());
        return;
      }
      stage = Stage.UP;
      if (deadline != null) {
        deadline.cancel(false);
      }
      decoder.setMaxFrameBytes(Protocol.MAX_FRAME_BYTES);
      link = new PeerLink(ctx.channel(), certId, address, outbound, dialed, PeerTransport.this);
      ctx.channel().attr(LINK).set(link);
      linksOpened.incrementAndGet();
      LOG.debug("link up {}", link);
      listener.onReady(link);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (deadline != null) {
        deadline.cancel(false);
      }
      if (link != null) {
        listener.onClosed(link);
      } else if (outbound && !failed) {
        listener.onDialFailed(dialed, expected, "closed before Hello");
      }
      super.channelInactive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof IdleStateEvent) {
        idleClosed.incrementAndGet();
        LOG.debug("closing idle link {}", link == null ? ctx.channel().remoteAddress() : link);
        ctx.close();
        return;
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof TooLongFrameException || cause.getCause() instanceof TooLongFrameException) {
        malformed(ctx, "frame over " + decoder.maxFrameBytes() + " bytes"
            + (link == null ? " before the Hello" : ""));
        return;
      }
      LOG.debug("link {} failed: {}", link == null ? ctx.channel().remoteAddress() : link,
          LogSafe.of(cause));
      ctx.close();
    }

    private void malformed(ChannelHandlerContext ctx, String why) {
      malformedFrames.incrementAndGet();
      penalize(ctx.channel(), AddressGuard.MALFORMED, why);
      NodeId who = certId;
      fail(ctx, why);
      if (who != null) {
        listener.onMalformed(who, why);
      }
    }

    private void fail(ChannelHandlerContext ctx, String why) {
      if (failed) {
        return;
      }
      failed = true;
      LOG.info("dropping link with {}: {}", ctx.channel().remoteAddress(), why);
      if (outbound && link == null) {
        listener.onDialFailed(dialed, expected, why);
      }
      ctx.close();
    }
  }

  Limits limits() {
    return limits;
  }

  void countOverflow(PeerLink link) {
    slowPeersDropped.incrementAndGet();
    LOG.warn("dropping link {}: peer is not reading ({} frames queued)", link,
        link.pendingFrames());
  }

  void countOversized(PeerLink link, String type, int bytes) {
    oversizedNotSent.incrementAndGet();
    LOG.warn("not sending a {} of {} bytes to {}: over the {}-byte frame limit", type, bytes,
        link, Protocol.MAX_FRAME_BYTES);
  }

  /** Messages this node refused to send because they were over the frame limit. */
  public long oversizedNotSent() {
    return oversizedNotSent.get();
  }

  void countOut(int bytes) {
    framesOut.incrementAndGet();
    bytesOut.addAndGet(bytes);
  }

  public Stats stats() {
    return new Stats(linksOpened.get(), refusedOverCap.get(), handshakeFailures.get(),
        certificateMismatches.get(), networkMismatches.get(), versionMismatches.get(),
        malformedFrames.get(), slowPeersDropped.get(), idleClosed.get(), framesIn.get(),
        framesOut.get(), channels.size(), refusedOverIpCap.get(), bytesIn.get(), bytesOut.get(),
        handshakeTimeouts.get(), refusedByAddress.get(), guard.bans());
  }

  /** Closes the listener and every link at once (no goodbye: callers leave first). */
  @Override
  public void close() {
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    for (Channel ch : Set.copyOf(channels)) {
      ch.close();
    }
  }

  /**
   * Accepts any single, valid, self-signed Ed25519 certificate. Identity is checked one layer
   * up, against the node ID in the Hello, and membership by the key proof; this only makes sure the peer's certificate is
   * well-formed and signed by the key it carries.
   */
  static final class SelfSignedTrustManager extends X509ExtendedTrustManager {
    private static void check(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length != 1) {
        throw new CertificateException("a peer presents exactly one self-signed certificate");
      }
      X509Certificate c = chain[0];
      c.checkValidity();
      PeerCertificates.rawPublicKey(c);
      try {
        c.verify(c.getPublicKey());
      } catch (java.security.GeneralSecurityException e) {
        throw new CertificateException("peer certificate is not self-signed: " + e.getMessage());
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket s)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket s)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine e)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine e)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
