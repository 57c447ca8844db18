package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The door of the API on the whole pipeline, without sockets: what a request without the key,
 * with a foreign {@code Host}, over the connection cap or with a declared body over the limit
 * gets, and that none of them gets a byte of its body past the gate.
 */
class ApiGateTest {
  private static final String KEY = "gate-key";
  private static final int MAX_BODY = 16 * 1024 * 1024;

  private final NodeMetrics metrics = new NodeMetrics(() -> null);
  /** Body bytes that got past the gate towards the aggregator. */
  private final AtomicLong bodyBytesPassed = new AtomicLong();

  private final StubBackend backend = new StubBackend() {};

  private EmbeddedChannel channel(boolean metricsNeedKey, boolean overCap,
      String... extraHosts) {
    Set<String> hosts = new HashSet<>(ApiGate.LOOPBACK_NAMES);
    hosts.addAll(Set.of(extraHosts));
    ApiRoutes routes = new ApiRoutes(backend, ApiKey.of(KEY), 4, metricsNeedKey);
    return new EmbeddedChannel(
        new ApiTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(60)),
        new HttpServerCodec(),
        new ApiGate(Set.copyOf(hosts), routes, MAX_BODY, overCap, metrics),
        new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpContent c) {
              bodyBytesPassed.addAndGet(c.content().readableBytes());
            }
            ctx.fireChannelRead(msg);
          }
        },
        new HttpServerKeepAliveHandler(),
        new JsonObjectAggregator(MAX_BODY),
        new ApiHandler(routes, Runnable::run, metrics));
  }

  private static void send(EmbeddedChannel ch, String text) {
    ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1));
  }

  private static String get(String path, String host, String auth) {
    return "GET " + path + " HTTP/1.1\r\n" + (host == null ? "" : "Host: " + host + "\r\n")
        + (auth == null ? "" : "Authorization: " + auth + "\r\n") + "\r\n";
  }

  @Test
  void aRequestWithoutTheKeyIsAnsweredBeforeItsBodyIsRead() throws Exception {
    EmbeddedChannel ch = channel(true, false);
    // Declares 15 MiB (under the limit) and sends only the first KiB: the answer must not wait
    // for the rest, and nothing of the body may reach the aggregator.
    send(ch, "POST /v1/fragments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
        + "\r\nContent-Length: " + (15 * 1024 * 1024) + "\r\n\r\n" + "x".repeat(1024));
    RawReply r = RawReply.read(ch);
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.json().get("error").asText()).isEqualTo("unauthorized");
    assertThat(r.headers().toLowerCase()).contains("connection: close");
    assertThat(ch.isOpen()).isFalse();
    assertThat(bodyBytesPassed.get()).isZero();
  }

  @Test
  void aWrongKeyIsRefusedLikeNoKey() throws Exception {
    EmbeddedChannel ch = channel(true, false);
    send(ch, get("/v1/status", "localhost", "Bearer not-" + KEY));
    assertThat(RawReply.read(ch).status()).isEqualTo(401);
    EmbeddedChannel ok = channel(true, false);
    send(ok, get("/v1/status", "localhost", "Bearer " + KEY));
    assertThat(RawReply.read(ok).status()).isEqualTo(200);
    assertThat(ok.isOpen()).isTrue();
  }

  @Test
  void aDeclaredBodyOverTheLimitGets413BeforeAByteOfIt() throws Exception {
    EmbeddedChannel ch = channel(true, false);
    send(ch, "POST /v1/fragments HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
        + "\r\nContent-Length: " + (MAX_BODY + 1L) + "\r\n\r\n" + "x".repeat(100));
    RawReply r = RawReply.read(ch);
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.json().get("error").asText()).isEqualTo("too_large");
    assertThat(bodyBytesPassed.get()).isZero();
  }

  @Test
  void onlyTheNodesOwnHostNamesAreServed() throws Exception {
    for (String host : new String[] {"localhost", "localhost:7947", "127.0.0.1:7947",
        "[::1]:7947", "LOCALHOST", "mycelium.lan", "mycelium.lan:80"}) {
      EmbeddedChannel ch = channel(true, false, "mycelium.lan");
      send(ch, get("/health", host, null));
      assertThat(RawReply.read(ch).status()).as(host).isEqualTo(200);
    }
    // What a page that rebinds its DNS name to 127.0.0.1 sends, and other near misses.
    for (String host : new String[] {"evil.example", "evil.example:7947", "localhost.evil.example",
        "127.0.0.1.nip.io", "localhost:x", "[::1", "", "127.0.0.2"}) {
      EmbeddedChannel ch = channel(true, false);
      send(ch, get("/ready", host, null));
      RawReply r = RawReply.read(ch);
      assertThat(r.status()).as(host).isEqualTo(421);
      assertThat(r.json().get("error").asText()).isEqualTo("misdirected");
      assertThat(ch.isOpen()).isFalse();
    }
    EmbeddedChannel noHost = channel(true, false);
    send(noHost, get("/health", null, null));
    assertThat(RawReply.read(noHost).status()).isEqualTo(421);
  }

  @Test
  void aForeignHostIsAuditedCappedAndMadePrintable() throws Exception {
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> audit =
        new ch.qos.logback.core.read.ListAppender<>();
    ch.qos.logback.classic.Logger auditLog = (ch.qos.logback.classic.Logger)
        org.slf4j.LoggerFactory.getLogger(dev.mycelium.node.audit.AuditLog.LOGGER);
    audit.start();
    auditLog.addAppender(audit);
    try {
      EmbeddedChannel ch = channel(true, false);
      send(ch, get("/v1/status", "rebind-" + "a".repeat(300) + "\u00e9.example", null));
      assertThat(RawReply.read(ch).status()).isEqualTo(421);
      String line = audit.list.get(0).getFormattedMessage();
      assertThat(line).contains("api_host_refused").contains("route=/v1/status")
          .contains("host=rebind-" + "a".repeat(93) + "...").doesNotContain("a".repeat(94))
          .doesNotContain("\u00e9");
    } finally {
      auditLog.detachAppender(audit);
    }
  }

  @Test
  void aForeignHostIsRefusedEvenWithTheKey() throws Exception {
    EmbeddedChannel ch = channel(true, false);
    send(ch, get("/v1/status", "evil.example", "Bearer " + KEY));
    assertThat(RawReply.read(ch).status()).isEqualTo(421);
  }

  @Test
  void metricsWantTheKeyUnlessConfiguredOtherwise() throws Exception {
    EmbeddedChannel ch = channel(true, false);
    send(ch, get("/metrics", "localhost", null));
    assertThat(RawReply.read(ch).status()).isEqualTo(401);
    EmbeddedChannel keyed = channel(true, false);
    send(keyed, get("/metrics", "localhost", "Bearer " + KEY));
    assertThat(RawReply.read(keyed).status()).isEqualTo(200);
    EmbeddedChannel open = channel(false, false);
    send(open, get("/metrics", "localhost", null));
    assertThat(RawReply.read(open).status()).isEqualTo(200);
    // Health, readiness and the dashboard's files never want it.
    for (String path : new String[] {"/health", "/ready", "/ui", "/ui/app.js"}) {
      EmbeddedChannel c = channel(true, false);
      send(c, get(path, "localhost", null));
      assertThat(RawReply.read(c).status()).as(path).isEqualTo(200);
    }
  }

  @Test
  void aConnectionOverTheCapGets503WithRetryAfter() throws Exception {
    EmbeddedChannel ch = channel(true, true);
    send(ch, get("/health", "localhost", null));
    RawReply r = RawReply.read(ch);
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.json().get("error").asText()).isEqualTo("busy");
    assertThat(r.headers().toLowerCase()).contains("retry-after: 1");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void malformedHttpGets400WithoutTheDecodersWords() throws Exception {
    EmbeddedChannel ch = channel(true, false);
    send(ch, "GET /health HTTP/1.1\r\nHost: localhost\r\n" + "X: " + "y".repeat(9000)
        + "\r\n\r\n");
    RawReply r = RawReply.read(ch);
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().get("message").asText()).doesNotContain("Exception")
        .doesNotContain("io.netty");
    assertThat(r.json().get("ref").asText()).isNotBlank();
    ReferenceCountUtil.release(ch.readInbound());
  }
}
