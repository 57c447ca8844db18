package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Deadlines of an API connection on the embedded channel's clock (no sleeping): a request must
 * arrive whole within the request timeout counted from its first byte, an idle kept-alive
 * connection is closed, and time the node spends serving is not held against the client.
 */
class ApiTimeoutsTest {
  private static final String KEY = "t-key";
  private final NodeMetrics metrics = new NodeMetrics(() -> null);
  private final Queue<Runnable> pending = new ArrayDeque<>();

  private EmbeddedChannel channel(Executor workers) {
    ApiRoutes routes = new ApiRoutes(new StubBackend() {}, ApiKey.of(KEY), 4);
    return new EmbeddedChannel(
        new ApiTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(60)),
        new HttpServerCodec(),
        new ApiGate(ApiGate.LOOPBACK_NAMES, routes, 1 << 20, false, metrics),
        new HttpServerKeepAliveHandler(),
        new JsonObjectAggregator(1 << 20),
        new ApiHandler(routes, workers, metrics));
  }

  private static void send(EmbeddedChannel ch, String text) {
    ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
  }

  private static String out(EmbeddedChannel ch) {
    StringBuilder sb = new StringBuilder();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      sb.append(b.toString(StandardCharsets.UTF_8));
      b.release();
    }
    return sb.toString();
  }

  private static void advance(EmbeddedChannel ch, long seconds) {
    ch.advanceTimeBy(seconds, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    ch.runPendingTasks();
  }

  @Test
  void aClientTricklingItsRequestGets408CountedFromTheFirstByte() {
    EmbeddedChannel ch = channel(Runnable::run);
    send(ch, "POST /v1/fragments HTTP/1.1\r\nHost: local");
    advance(ch, 20);
    // One more byte just before the deadline does not move it.
    send(ch, "h");
    advance(ch, 9);
    assertThat(out(ch)).isEmpty();
    assertThat(ch.isOpen()).isTrue();
    advance(ch, 2);
    String reply = out(ch);
    assertThat(reply).startsWith("HTTP/1.1 408").contains("\"error\":\"timeout\"")
        .contains("api.request-timeout");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void aSlowBodyIsCutOffToo() {
    EmbeddedChannel ch = channel(Runnable::run);
    send(ch, "POST /v1/fragments HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
        + "\r\nContent-Length: 1000\r\n\r\n{\"text\":\"");
    for (int i = 0; i < 4; i++) {
      advance(ch, 6);
      send(ch, "a");
    }
    assertThat(ch.isOpen()).isTrue();
    advance(ch, 7);
    assertThat(out(ch)).startsWith("HTTP/1.1 408");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void anIdleConnectionIsClosedQuietly() {
    EmbeddedChannel ch = channel(Runnable::run);
    advance(ch, 59);
    assertThat(ch.isOpen()).isTrue();
    advance(ch, 2);
    assertThat(ch.isOpen()).isFalse();
    assertThat(out(ch)).isEmpty();
  }

  @Test
  void afterAnAnswerTheIdleClockRunsAgain() {
    EmbeddedChannel ch = channel(Runnable::run);
    send(ch, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assertThat(out(ch)).startsWith("HTTP/1.1 200");
    advance(ch, 45);
    assertThat(ch.isOpen()).isTrue();
    send(ch, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assertThat(out(ch)).startsWith("HTTP/1.1 200");
    advance(ch, 45);
    assertThat(ch.isOpen()).isTrue();
    advance(ch, 20);
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void timeSpentServingIsNotHeldAgainstTheClient() {
    EmbeddedChannel ch = channel(pending::add);
    // /ready goes to a worker (/health alone is answered on the event loop).
    send(ch, "GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n");
    advance(ch, 120);
    assertThat(ch.isOpen()).isTrue();
    assertThat(out(ch)).isEmpty();
    pending.remove().run();
    ch.runPendingTasks();
    assertThat(out(ch)).startsWith("HTTP/1.1 200");
    assertThat(ch.isOpen()).isTrue();
  }
}
