package dev.mycelium.node.peer;

import com.google.protobuf.ByteString;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.Protocol;
import dev.mycelium.wire.proto.Hello;
import dev.mycelium.wire.proto.KeyChallenge;
import dev.mycelium.wire.proto.KeyProof;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A scripted peer for tests: completes TLS with the certificate of the keys it is given, then
 * either writes exactly the frames it is told to ({@link #connect}) or runs the key handshake
 * honestly with the keyring it is given and then writes its frames ({@link #handshake}).
 * Every frame the node sends back is recorded, and it can stop reading.
 */
final class RawTlsClient {
  private RawTlsClient() {}

  /** A connected scripted client: its channel and every frame the node sent it, in order. */
  record Client(Channel channel, List<byte[]> received) {}

  /** A Hello claiming the given node ID (honest when it is the certificate's own). */
  static byte[] hello(NodeId claimed) {
    return Hello.newBuilder().setProtocolVersion(Protocol.VERSION)
        .setNodeId(ByteString.copyFrom(claimed.toBytes()))
        .setAddress(new PeerAddress(claimed, "127.0.0.1", 9).toProto()).build().toByteArray();
  }

  /** A KeyChallenge of this protocol version with the given nonce. */
  static byte[] challenge(byte[] nonce) {
    return KeyChallenge.newBuilder().setProtocolVersion(Protocol.VERSION)
        .setNonce(ByteString.copyFrom(nonce)).build().toByteArray();
  }

  /** A fresh random nonce. */
  static byte[] nonce() {
    byte[] n = new byte[Protocol.NONCE_BYTES];
    new SecureRandom().nextBytes(n);
    return n;
  }

  /** A KeyProof carrying this MAC. */
  static byte[] proof(byte[] mac) {
    return KeyProof.newBuilder().setMac(ByteString.copyFrom(mac)).build().toByteArray();
  }

  /** Writes exactly these frames after TLS, nothing else. */
  static Channel connect(EventLoopGroup group, OwnerKeys certKeys, InetSocketAddress to,
      List<byte[]> frames, boolean stopReading) {
    return open(group, certKeys, to, frames, stopReading).channel();
  }

  /** As {@link #connect}, returning the recording too. */
  static Client open(EventLoopGroup group, OwnerKeys certKeys, InetSocketAddress to,
      List<byte[]> frames, boolean stopReading) {
    return start(group, certKeys, to, null, frames, stopReading);
  }

  /**
   * Runs the dialer's side of the key handshake with this keyring (empty: an open node), then
   * writes these frames (typically a Hello, then envelopes or garbage).
   */
  static Client handshake(EventLoopGroup group, OwnerKeys certKeys, InetSocketAddress to,
      Optional<NetworkKeyring> ring, List<byte[]> after, boolean stopReading) {
    return start(group, certKeys, to, ring, after, stopReading);
  }

  private static Client start(EventLoopGroup group, OwnerKeys certKeys, InetSocketAddress to,
      Optional<NetworkKeyring> ring, List<byte[]> frames, boolean stopReading) {
    PeerCertificates certs = PeerCertificates.forKeys(certKeys);
    SslContext ctx = PeerTransport.clientContext(certs);
    List<byte[]> received = new CopyOnWriteArrayList<>();
    byte[] ownNonce = nonce();
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            SslHandler ssl = ctx.newHandler(ch.alloc(), to.getHostString(), to.getPort());
            ch.pipeline().addLast(ssl)
                .addLast(new LengthFieldBasedFrameDecoder(Protocol.MAX_FRAME_BYTES, 0, 4, 0, 4))
                .addLast(new LengthFieldPrepender(4))
                .addLast(new ChannelInboundHandlerAdapter() {
                  @Override
                  public void channelActive(ChannelHandlerContext c) {
                    ssl.handshakeFuture().addListener(f -> {
                      if (!f.isSuccess()) {
                        return;
                      }
                      if (ring == null) {
                        writeAll(c, frames, stopReading);
                      } else {
                        c.writeAndFlush(Unpooled.wrappedBuffer(challenge(ownNonce)));
                      }
                    });
                    c.fireChannelActive();
                  }

                  @Override
                  public void channelRead(ChannelHandlerContext c, Object msg) {
                    try {
                      byte[] frame = ByteBufUtil.getBytes((ByteBuf) msg);
                      received.add(frame);
                      if (ring != null && received.size() == 1) {
                        byte[] peerNonce = KeyChallenge.parseFrom(frame).getNonce().toByteArray();
                        byte[] peerCert = PeerCertificates.rawPublicKey((X509Certificate)
                            ssl.engine().getSession().getPeerCertificates()[0]);
                        byte[] ownCert = PeerCertificates.rawPublicKey(certs.certificate());
                        byte[] mac = NetworkKeyring.prove(ring, NetworkKeyring.Role.DIALER,
                            ownCert, peerCert, ownNonce, peerNonce);
                        c.writeAndFlush(Unpooled.wrappedBuffer(proof(mac)));
                        writeAll(c, frames, stopReading);
                      }
                    } catch (Exception e) {
                      c.close();
                    } finally {
                      ReferenceCountUtil.release(msg);
                    }
                  }
                });
          }
        });
    return new Client(b.connect(to).syncUninterruptibly().channel(), received);
  }

  private static void writeAll(ChannelHandlerContext c, List<byte[]> frames,
      boolean stopReading) {
    for (byte[] frame : frames) {
      c.writeAndFlush(Unpooled.wrappedBuffer(frame));
    }
    if (stopReading) {
      c.channel().config().setAutoRead(false);
    }
  }
}
