package dev.mycelium.node.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Deadlines of one API connection, first in the pipeline so that it sees raw bytes: from the
 * first byte of a request to its last, a client has {@code api.request-timeout} (a client that
 * trickles headers or a body a byte at a time gets 408 and is cut off); between requests a
 * kept-alive connection may sit {@code api.idle-timeout}, then it is closed. While the node
 * works on a request no deadline runs: that time is the node's, not the client's.
 *
 * <p>A deadline counts from the request's start rather than from the last byte read, so a slow
 * client cannot stretch a request forever by sending one byte just before each timeout.
 */
final class ApiTimeouts extends ChannelDuplexHandler {
  /** Pipeline name, for {@link #of}. */
  static final String NAME = "timeouts";

  private enum Phase { IDLE, READING, SERVING }

  private final long requestNanos;
  private final long idleNanos;
  private Phase phase = Phase.IDLE;
  private boolean readAhead;
  private ScheduledFuture<?> timer;
  private ChannelHandlerContext ctx;

  ApiTimeouts(Duration requestTimeout, Duration idleTimeout) {
    this.requestNanos = requestTimeout.toNanos();
    this.idleNanos = idleTimeout.toNanos();
  }

  /** The timeouts of a connection, or null in a pipeline without them (tests). */
  static ApiTimeouts of(ChannelHandlerContext ctx) {
    return ctx.pipeline().get(ApiTimeouts.class);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive()) {
      idle();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    idle();
    super.channelActive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (phase == Phase.IDLE) {
      reading();
    } else if (phase == Phase.SERVING) {
      readAhead = true;
    }
    super.channelRead(ctx, msg);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancel();
    super.channelInactive(ctx);
  }

  /** The whole request has arrived: the client's clock stops, the node's starts. */
  void requestRead() {
    onLoop(() -> {
      phase = Phase.SERVING;
      readAhead = false;
      cancel();
    });
  }

  /** The answer is written: the connection waits for its next request. */
  void responded() {
    onLoop(() -> {
      if (readAhead) {
        // Bytes of the next request came while this one was served: its clock runs now.
        readAhead = false;
        reading();
      } else {
        idle();
      }
    });
  }

  private void onLoop(Runnable r) {
    if (ctx.executor().inEventLoop()) {
      r.run();
    } else {
      ctx.executor().execute(r);
    }
  }

  private void reading() {
    phase = Phase.READING;
    schedule(requestNanos, this::tooSlow);
  }

  private void idle() {
    phase = Phase.IDLE;
    schedule(idleNanos, () -> ctx.close());
  }

  private void tooSlow() {
    byte[] body = ApiRoutes.error("other", 408, "timeout", "the request did not arrive "
        + "within api.request-timeout; send it faster or raise the setting", null).body();
    String head = "HTTP/1.1 408 Request Timeout\r\n"
        + "content-type: application/json; charset=utf-8\r\n"
        + "content-length: " + body.length + "\r\nconnection: close\r\n\r\n";
    // Written below the HTTP codec: the codec may be halfway through the request's head.
    ctx.writeAndFlush(Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body))
        .addListener(ChannelFutureListener.CLOSE);
  }

  private void schedule(long nanos, Runnable action) {
    cancel();
    timer = ctx.executor().schedule(action, nanos, TimeUnit.NANOSECONDS);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }
}
