package dev.mycelium.node.http;

import dev.mycelium.node.audit.AuditLog;
import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The door of the API, on the request head, before a byte of the body is read or buffered:
 * a connection over the cap gets 503, a {@code Host} that is not one of this node's names gets
 * 421 (a web page that rebinds a DNS name to 127.0.0.1 sends its own name, so it reads
 * nothing), a request without the key gets 401, and a declared body over the limit gets 413.
 * A refused request's body is dropped as it arrives and the connection is closed after the
 * answer, so a client without the key cannot make the node hold its body. The close lingers:
 * closing a socket with the client's body still unread makes the kernel reset the connection,
 * which can destroy the answer before the client reads it (RFC 9112, section 9.6), so the node
 * shuts its side, drops what still arrives and closes when the client does or after {@link
 * #LINGER_MILLIS}.
 */
final class ApiGate extends ChannelInboundHandlerAdapter {
  /** Host names every node answers to: the loopback names. */
  static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "::1");

  private final Set<String> hosts;
  private final ApiRoutes routes;
  private final long maxBody;
  private final boolean overCap;
  private final NodeMetrics metrics;
  private boolean refused;

  /** How long a refused connection may keep sending what is dropped before it is closed. */
  static final long LINGER_MILLIS = 2_000;

  /**
   * A gate for one connection.
   *
   * @param hosts accepted {@code Host} names, lower case, without port or brackets
   * @param overCap whether this connection is beyond {@code api.max-connections}
   */
  ApiGate(Set<String> hosts, ApiRoutes routes, long maxBody, boolean overCap,
      NodeMetrics metrics) {
    this.hosts = hosts;
    this.metrics = metrics;
    this.routes = routes;
    this.maxBody = maxBody;
    this.overCap = overCap;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (refused) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpRequest req) {
      long start = System.nanoTime();
      ApiResponse refusal = check(ctx, req);
      if (refusal != null) {
        refused = true;
        ReferenceCountUtil.release(msg);
        metrics.httpRequest(refusal.route(), refusal.status(), System.nanoTime() - start);
        refuse(ctx, refusal);
        return;
      }
    } else if (!(msg instanceof HttpContent)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    ctx.fireChannelRead(msg);
  }

  private ApiResponse check(ChannelHandlerContext ctx, HttpRequest req) {
    String route = ApiRoutes.routeOf(ApiRoutes.pathOf(req.uri()));
    if (!req.decoderResult().isSuccess()) {
      // The decoder's cause may quote internals; the client only needs to know what is wrong.
      return ApiRoutes.error(route, 400, "bad_request", "the request is not valid HTTP/1.1 "
          + "(request line over 4096 bytes, headers over 8192 bytes, or malformed)", null);
    }
    if (overCap) {
      return ApiRoutes.error(route, 503, "busy", "the node serves as many API connections as "
          + "it may (api.max-connections); retry after the time in Retry-After", null);
    }
    if (!hostAllowed(req.headers().get(HttpHeaderNames.HOST))) {
      AuditLog.apiHostRefused(String.valueOf(ctx.channel().remoteAddress()),
          req.headers().get(HttpHeaderNames.HOST), route);
      return ApiRoutes.error(route, 421, "misdirected", "this node does not answer to that "
          + "Host; use localhost or an address in api.allowed-hosts", null);
    }
    String path = ApiRoutes.pathOf(req.uri());
    if (!routes.open(path)
        && !routes.authorized(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
      AuditLog.apiKeyRefused(String.valueOf(ctx.channel().remoteAddress()),
          req.method().name(), route);
      ApiException e = ApiRoutes.unauthorized();
      return ApiRoutes.error(route, e.status(), e.code(), e.getMessage(), e.field());
    }
    long length;
    try {
      length = HttpUtil.getContentLength(req, -1L);
    } catch (NumberFormatException e) {
      return ApiRoutes.error(route, 400, "bad_request", "Content-Length is not a number", null);
    }
    if (length > maxBody) {
      return ApiRoutes.error(route, 413, "too_large", "the request body is over " + maxBody
          + " bytes (api.max-body-bytes); send less, e.g. split a batch", null);
    }
    return null;
  }

  /**
   * Whether a {@code Host} header names this node. A missing header is refused: every
   * HTTP/1.1 client sends one, and a browser always does.
   */
  boolean hostAllowed(String header) {
    if (header == null) {
      return false;
    }
    String h = header.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      if (end < 0) {
        return false;
      }
      String rest = h.substring(end + 1);
      if (!rest.isEmpty() && !rest.matches(":[0-9]{1,5}")) {
        return false;
      }
      h = h.substring(1, end);
    } else {
      int colon = h.indexOf(':');
      if (colon >= 0) {
        if (!h.substring(colon).matches(":[0-9]{1,5}")) {
          return false;
        }
        h = h.substring(0, colon);
      }
    }
    if (h.endsWith(".") && h.length() > 1) {
      h = h.substring(0, h.length() - 1);
    }
    return hosts.contains(h);
  }

  static void refuse(ChannelHandlerContext ctx, ApiResponse r) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
            Unpooled.wrappedBuffer(r.body()));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    if (r.status() == 503) {
      resp.headers().set(HttpHeaderNames.RETRY_AFTER, ApiHandler.RETRY_AFTER_SECONDS);
    }
    HttpUtil.setContentLength(resp, r.body().length);
    HttpUtil.setKeepAlive(resp, false);
    ctx.writeAndFlush(resp).addListener(f -> lingerThenClose(ctx.channel()));
  }

  private static void lingerThenClose(Channel ch) {
    if (!(ch instanceof DuplexChannel duplex) || !ch.isActive()) {
      ch.close();
      return;
    }
    duplex.shutdownOutput().addListener(f -> {
      if (!f.isSuccess()) {
        ch.close();
      }
    });
    ch.eventLoop().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
  }
}
