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
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each aggregated request to {@link ApiRoutes} on a worker executor, so that store and
 * index work never blocks a Netty event loop, and writes the answer back; {@code /health}
 * alone is answered on the event loop ({@link ApiRoutes#answerAtOnce}). A connection reads its
 * next request only after the current answer is written, which keeps pipelined answers in
 * order without a per-connection queue.
 */
final class ApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);

  /** Seconds a client is told to wait after a 503. */
  static final String RETRY_AFTER_SECONDS = "1";

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
    ApiTimeouts timeouts = ApiTimeouts.of(ctx);
    if (timeouts != null) {
      timeouts.requestRead();
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    if (!req.decoderResult().isSuccess()) {
      req.release();
      // The decoder's cause is logged under the reference, not sent.
      String ref = ApiRoutes.newRef();
      LOG.debug("undecodable request from {} (ref {}): {}", ctx.channel().remoteAddress(), ref,
          String.valueOf(req.decoderResult().cause()));
      write(ctx, ApiRoutes.error(ref, "other", 400, "bad_request",
          "the request is not valid HTTP/1.1", null), false, start);
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
    Optional<ApiResponse> atOnce = routes.answerAtOnce(method, uri);
    if (atOnce.isPresent()) {
      write(ctx, atOnce.get(), keepAlive, start);
      return;
    }
    try {
      workers.execute(
          () -> routes.respond(method, uri, auth, body).whenComplete((r, e) -> {
            if (r == null) {
              // respond() never fails; should it, the client still gets an answer.
              LOG.error("API request {} {} failed", method, uri, e);
              r = ApiRoutes.error("other", 500, "internal", "internal error", null);
            }
            if (r.status() == 401) {
              AuditLog.apiKeyRefused(String.valueOf(ctx.channel().remoteAddress()), method,
                  r.route());
            }
            write(ctx, r, keepAlive, start);
          }));
    } catch (RejectedExecutionException e) {
      boolean stopping = workers instanceof ExecutorService es && es.isShutdown();
      String route = ApiRoutes.routeOf(ApiRoutes.pathOf(uri));
      write(ctx, stopping
          ? ApiRoutes.error(route, 503, "unavailable", "the node is stopping", null)
          : ApiRoutes.error(route, 503, "busy", "every API worker is busy and "
              + "api.max-queued-requests requests wait already; retry after the time in "
              + "Retry-After", null), false, start);
    }
  }

  private void write(ChannelHandlerContext ctx, ApiResponse r, boolean keepAlive, long start) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
            Unpooled.wrappedBuffer(r.body()));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    if (r.status() == 503) {
      resp.headers().set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
    }
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
                    ApiTimeouts timeouts = ApiTimeouts.of(ctx);
                    if (timeouts != null) {
                      timeouts.responded();
                    }
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
