package dev.mycelium.node.http;

import dev.mycelium.node.audit.AuditLog;
import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each aggregated request to {@link ApiRoutes} on a worker executor, so that store and
 * index work never blocks a Netty event loop, and writes the answer back. A connection reads its
 * next request only after the current answer is written, which keeps pipelined answers in
 * order without a per-connection queue.
 */
final class ApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);

  private final ApiRoutes routes;
  private final Executor workers;
  private final NodeMetrics metrics;

  ApiHandler(ApiRoutes routes, Executor workers, NodeMetrics metrics) {
    super(false);
    this.routes = routes;
    this.workers = workers;
    this.metrics = metrics;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    long start = System.nanoTime();
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    if (!req.decoderResult().isSuccess()) {
      req.release();
      write(ctx, ApiRoutes.error("other", 400, "bad_request",
          "the request is not valid HTTP: " + req.decoderResult().cause(), null), false, start);
      return;
    }
    ctx.channel().config().setAutoRead(false);
    String method = req.method().name();
    String uri = req.uri();
    String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    byte[] body;
    try {
      body = ByteBufUtil.getBytes(req.content());
    } finally {
      req.release();
    }
    try {
      workers.execute(
          () -> {
            ApiResponse r = routes.handle(method, uri, auth, body);
            if (r.status() == 401) {
              AuditLog.apiKeyRefused(String.valueOf(ctx.channel().remoteAddress()), method,
                  r.route());
            }
            write(ctx, r, keepAlive, start);
          });
    } catch (RejectedExecutionException e) {
      write(ctx, ApiRoutes.error("other", 503, "unavailable", "the node is stopping", null),
          false, start);
    }
  }

  private void write(ChannelHandlerContext ctx, ApiResponse r, boolean keepAlive, long start) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
            Unpooled.wrappedBuffer(r.body()));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    HttpUtil.setContentLength(resp, r.body().length);
    HttpUtil.setKeepAlive(resp, keepAlive);
    metrics.httpRequest(r.route(), r.status(), System.nanoTime() - start);
    ctx.writeAndFlush(resp)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!keepAlive || !f.isSuccess()) {
                    f.channel().close();
                  } else {
                    f.channel().config().setAutoRead(true);
                    f.channel().read();
                  }
                });
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("API connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
