package dev.mycelium.node.peer;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.storage.OwnerKeys;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.Protocol;
import dev.mycelium.wire.proto.Hello;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * A misbehaving peer for tests: completes TLS with the certificate of the keys it is given,
 * then writes exactly the frames it is told to, and optionally stops reading.
 */
final class RawTlsClient {
  private RawTlsClient() {}

  /** A Hello claiming the given node ID (honest when it is the certificate's own). */
  static byte[] hello(NodeId claimed) {
    return Hello.newBuilder().setProtocolVersion(Protocol.VERSION)
        .setNodeId(ByteString.copyFrom(claimed.toBytes()))
        .setAddress(new PeerAddress(claimed, "127.0.0.1", 9).toProto()).build().toByteArray();
  }

  static Channel connect(EventLoopGroup group, OwnerKeys certKeys, InetSocketAddress to,
      List<byte[]> frames, boolean stopReading) {
    SslContext ctx = PeerTransport.clientContext(PeerCertificates.forKeys(certKeys));
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            SslHandler ssl = ctx.newHandler(ch.alloc(), to.getHostString(), to.getPort());
            ch.pipeline().addLast(ssl).addLast(new LengthFieldPrepender(4))
                .addLast(new ChannelInboundHandlerAdapter() {
                  @Override
                  public void channelActive(ChannelHandlerContext c) {
                    ssl.handshakeFuture().addListener(f -> {
                      if (f.isSuccess()) {
                        for (byte[] frame : frames) {
                          c.writeAndFlush(Unpooled.wrappedBuffer(frame));
                        }
                        if (stopReading) {
                          c.channel().config().setAutoRead(false);
                        }
                      }
                    });
                    c.fireChannelActive();
                  }

                  @Override
                  public void channelRead(ChannelHandlerContext c, Object msg) {
                    io.netty.util.ReferenceCountUtil.release(msg);
                  }
                });
          }
        });
    return b.connect(to).syncUninterruptibly().channel();
  }
}
