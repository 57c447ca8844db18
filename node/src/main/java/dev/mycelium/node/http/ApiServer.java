package dev.mycelium.node.http;

import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API listener on Netty: codec, keep-alive, an aggregator bounded by
 * {@code api.max-body-bytes}, then {@link ApiHandler}. Stopping is in two steps so that a node
 * can stop taking new connections, let the running requests finish, then close.
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);

  private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1,
      NioIoHandler.newFactory());
  private final EventLoopGroup io = new MultiThreadIoEventLoopGroup(2,
      NioIoHandler.newFactory());
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private Channel listener;

  /**
   * Binds the listener.
   *
   * @param port 0 for any free port
   * @return the address actually bound
   * @throws ApiBindException when the address is taken or not local
   */
  public InetSocketAddress start(String host, int port, int maxBodyBytes, ApiRoutes routes,
      ExecutorService workers, NodeMetrics metrics) {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, io)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 256)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    connections.add(ch);
                    ch.pipeline()
                        .addLast("codec", new HttpServerCodec())
                        .addLast("keepalive", new HttpServerKeepAliveHandler())
                        .addLast("aggregate", new JsonObjectAggregator(maxBodyBytes))
                        .addLast("api", new ApiHandler(routes, workers, metrics));
                  }
                });
    ChannelFuture bound = b.bind(host, port).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      close();
      Throwable cause = bound.cause();
      throw new ApiBindException(
          "cannot listen on " + host + ":" + port + " (" + cause.getMessage()
              + "); set api.port (or --api) to a free port, or 0 for any", cause);
    }
    listener = bound.channel();
    InetSocketAddress addr = (InetSocketAddress) listener.localAddress();
    LOG.info("HTTP API listening on {}:{}", addr.getHostString(), addr.getPort());
    return addr;
  }

  /** Stops accepting connections; open ones carry on. */
  public void stopAccepting() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
  }

  /** Closes every connection and releases the threads. */
  @Override
  public void close() {
    stopAccepting();
    connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    io.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    boss.terminationFuture().awaitUninterruptibly(3, TimeUnit.SECONDS);
    io.terminationFuture().awaitUninterruptibly(3, TimeUnit.SECONDS);
  }
}
