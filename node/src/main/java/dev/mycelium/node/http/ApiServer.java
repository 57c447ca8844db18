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
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.NodeConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API listener on Netty. Per connection: TLS when configured, the deadlines of
 * {@link ApiTimeouts}, the codec, {@link ApiGate} (cap, {@code Host}, key and declared size,
 * checked on the head before any body is read), keep-alive, an aggregator bounded by
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
  private final AtomicInteger open = new AtomicInteger();
  private Channel listener;

  /**
   * Refuses an API that would serve its key in clear beyond this machine: a host that is not
   * loopback needs {@code api.tls} or {@code api.allow-insecure-remote}; the latter is warned
   * about at every start.
   *
   * @throws ConfigException naming {@code mycelium.api.host}
   */
  public static void checkExposure(NodeConfig.Api api) {
    if (loopback(api.host()) || api.tls()) {
      return;
    }
    if (api.allowInsecureRemote()) {
      LOG.warn("the HTTP API listens on {} without TLS (mycelium.api.allow-insecure-remote = "
          + "true): the API key and every memory cross the network in clear", api.host());
      return;
    }
    throw new ConfigException("mycelium.api.host", "\"" + api.host() + "\" is not a loopback "
        + "address, and the API would send its key and your memories over the network in "
        + "clear; keep 127.0.0.1 (use an SSH tunnel or a TLS proxy), set mycelium.api.tls."
        + "cert-file and key-file, or set mycelium.api.allow-insecure-remote = true");
  }

  /** Whether every address of a host is a loopback address. */
  static boolean loopback(String host) {
    try {
      InetAddress[] all = InetAddress.getAllByName(host);
      for (InetAddress a : all) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return all.length > 0;
    } catch (UnknownHostException e) {
      // Binding will fail with its own message.
      return true;
    }
  }

  /**
   * Binds the listener.
   *
   * @param api the API section of the configuration (host, port 0 for any free one, limits)
   * @return the address actually bound
   * @throws ApiBindException when the address is taken or not local
   * @throws ConfigException when the API's TLS files cannot be read
   */
  public InetSocketAddress start(NodeConfig.Api api, ApiRoutes routes, ExecutorService workers,
      NodeMetrics metrics) {
    SslContext tls = api.tls() ? tlsContext(api) : null;
    Set<String> hosts = new HashSet<>(ApiGate.LOOPBACK_NAMES);
    hosts.addAll(api.allowedHosts());
    hosts.add(api.host().toLowerCase(Locale.ROOT));
    int cap = api.maxConnections();
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, io)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 256)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    int n = open.incrementAndGet();
                    ch.closeFuture().addListener(f -> open.decrementAndGet());
                    if (n > 2 * cap) {
                      // Far beyond the cap even a 503 costs too much: drop the connection.
                      ch.close();
                      return;
                    }
                    connections.add(ch);
                    if (tls != null) {
                      ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
                    }
                    ch.pipeline()
                        .addLast(ApiTimeouts.NAME,
                            new ApiTimeouts(api.requestTimeout(), api.idleTimeout()))
                        .addLast("codec", new HttpServerCodec())
                        .addLast("gate", new ApiGate(Set.copyOf(hosts), routes,
                            api.maxBodyBytes(), n > cap, metrics))
                        .addLast("keepalive", new HttpServerKeepAliveHandler())
                        .addLast("aggregate", new JsonObjectAggregator(api.maxBodyBytes()))
                        .addLast("api", new ApiHandler(routes, workers, metrics));
                  }
                });
    ChannelFuture bound = b.bind(api.host(), api.port()).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      close();
      Throwable cause = bound.cause();
      throw new ApiBindException(
          "cannot listen on " + api.host() + ":" + api.port() + " (" + cause.getMessage()
              + "); set api.port (or --api) to a free port, or 0 for any", cause);
    }
    listener = bound.channel();
    InetSocketAddress addr = (InetSocketAddress) listener.localAddress();
    LOG.info("HTTP API listening on {}://{}:{}", tls == null ? "http" : "https",
        addr.getHostString(), addr.getPort());
    return addr;
  }

  private static SslContext tlsContext(NodeConfig.Api api) {
    try {
      return SslContextBuilder.forServer(api.tlsCertFile().get().toFile(),
              api.tlsKeyFile().get().toFile())
          .protocols("TLSv1.3", "TLSv1.2")
          .build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new ConfigException("mycelium.api.tls.cert-file", "cannot use "
          + api.tlsCertFile().get() + " and " + api.tlsKeyFile().get() + " as the API's TLS "
          + "certificate and key (PEM chain and PKCS#8 PEM key): " + e.getMessage(), e);
    }
  }

  /** Connections open now, for tests. */
  int openConnections() {
    return open.get();
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
