package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The API's limits over real loopback sockets: the connection cap and the worker queue answer
 * 503 with Retry-After, a client that trickles its request is cut off with 408, a non-loopback
 * API without TLS is refused at start, and with TLS it serves HTTPS.
 */
class ApiLimitsIT {
  private static final String KEY = "limits-key";
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final CountDownLatch release = new CountDownLatch(1);
  private final CountDownLatch entered = new CountDownLatch(1);
  private final List<AutoCloseable> toClose = new ArrayList<>();

  private final StubBackend backend = new StubBackend() {
    @Override
    public Map<String, Object> status() {
      // Holds a worker until the test lets go, as a slow store would.
      entered.countDown();
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return Map.of("held", true);
    }
  };

  @AfterEach
  void closeAll() throws Exception {
    release.countDown();
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  static NodeConfig.Api api(String host, int maxConnections, int queued, Duration requestTimeout,
      Optional<java.nio.file.Path> cert, Optional<java.nio.file.Path> key, boolean insecure) {
    return new NodeConfig.Api(host, 0, 1 << 20, 1, List.of(), true, maxConnections, queued,
        requestTimeout, Duration.ofSeconds(60), cert, key, insecure);
  }

  private int port;

  private ApiServer startPlain(int maxConnections, int queued, Duration requestTimeout) {
    ExecutorService workers = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(Math.max(1, queued)));
    ApiServer server = new ApiServer();
    toClose.add(server);
    toClose.add(workers::shutdownNow);
    port = server.start(api("127.0.0.1", maxConnections, queued, requestTimeout,
        Optional.empty(), Optional.empty(), false), new ApiRoutes(backend, ApiKey.of(KEY), 4),
        workers, new NodeMetrics(() -> null)).getPort();
    return server;
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    toClose.add(s);
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout((int) WAIT.toMillis());
    return s;
  }

  private static void send(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(text.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** Reads until the server closes the connection or a whole answer with body arrived. */
  private static String readAnswer(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] b = new byte[4096];
    while (true) {
      String text = buf.toString(StandardCharsets.UTF_8);
      int head = text.indexOf("\r\n\r\n");
      if (head > 0) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: (\\d+)")
            .matcher(text.substring(0, head));
        if (m.find() && text.length() - head - 4 >= Integer.parseInt(m.group(1))) {
          return text;
        }
      }
      int n = in.read(b);
      if (n < 0) {
        return buf.toString(StandardCharsets.UTF_8);
      }
      buf.write(b, 0, n);
    }
  }

  private static String status(String key) {
    return "GET /v1/status HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + key
        + "\r\n\r\n";
  }

  /**
   * A client that sends its whole oversized body before it reads (as most do) still gets the
   * 413: the node drops the body instead of resetting the connection under the answer.
   */
  @Test
  void aClientStillSendingAnOversizedBodyReadsThe413() throws Exception {
    startPlain(16, 4, Duration.ofSeconds(30));
    byte[] body = new byte[4 << 20];
    java.util.Arrays.fill(body, (byte) 'x');
    for (int i = 0; i < 5; i++) {
      try (Socket s = connect()) {
        send(s, "POST /v1/fragments HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
            + KEY + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length
            + "\r\n\r\n");
        s.getOutputStream().write(body);
        s.getOutputStream().flush();
        assertThat(readAnswer(s)).as("attempt %d", i).startsWith("HTTP/1.1 413")
            .contains("too_large");
      }
    }
  }

  @Test
  void connectionsBeyondTheCapGet503WithRetryAfter() throws Exception {
    ApiServer server = startPlain(2, 4, Duration.ofSeconds(30));
    connect();
    connect();
    await().atMost(WAIT).until(() -> server.openConnections() == 2);
    Socket third = connect();
    send(third, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    String answer = readAnswer(third);
    assertThat(answer).startsWith("HTTP/1.1 503").containsIgnoringCase("retry-after: 1")
        .contains("\"error\":\"busy\"").contains("api.max-connections");
    // Closed connections free their slots.
    for (AutoCloseable c : toClose) {
      if (c instanceof Socket s) {
        s.close();
      }
    }
    await().atMost(WAIT).until(() -> server.openConnections() == 0);
    Socket again = connect();
    send(again, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assertThat(readAnswer(again)).startsWith("HTTP/1.1 200");
  }

  @Test
  void farBeyondTheCapConnectionsAreDroppedUnanswered() throws Exception {
    ApiServer server = startPlain(1, 4, Duration.ofSeconds(30));
    connect();
    connect();
    await().atMost(WAIT).until(() -> server.openConnections() == 2);
    Socket third = connect();
    String answer;
    try {
      send(third, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
      answer = readAnswer(third);
    } catch (java.net.SocketException reset) {
      answer = "";
    }
    assertThat(answer).isEmpty();
    await().atMost(WAIT).until(() -> server.openConnections() == 2);
  }

  @Test
  void requestsBeyondTheWorkerQueueGet503WithRetryAfter() throws Exception {
    startPlain(8, 1, Duration.ofSeconds(30));
    Socket first = connect();
    send(first, status(KEY));
    assertThat(entered.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    Socket queued = connect();
    send(queued, status(KEY));
    // The one worker is held and the queue of one is taken once the second request is in it;
    // the third is told to come back.
    Socket third = connect();
    await().atMost(WAIT).untilAsserted(() -> {
      send(third, status(KEY));
      String answer = readAnswer(third);
      assertThat(answer).startsWith("HTTP/1.1 503").containsIgnoringCase("retry-after: 1")
          .contains("\"error\":\"busy\"");
    });
    release.countDown();
    assertThat(readAnswer(first)).startsWith("HTTP/1.1 200");
    assertThat(readAnswer(queued)).startsWith("HTTP/1.1 200");
  }

  @Test
  void aClientThatTricklesItsRequestIsCutOffWith408() throws Exception {
    startPlain(8, 4, Duration.ofMillis(500));
    Socket slow = connect();
    send(slow, "POST /v1/fragments HTTP/1.1\r\nHost: localhost\r\nContent-Len");
    String answer = readAnswer(slow);
    assertThat(answer).startsWith("HTTP/1.1 408").contains("\"error\":\"timeout\"");
    assertThat(slow.getInputStream().read()).isEqualTo(-1);
  }

  @Test
  void aNonLoopbackApiWithoutTlsIsRefusedNamingTheWayOut() {
    for (String host : List.of("0.0.0.0", "::")) {
      assertThatThrownBy(() -> ApiServer.checkExposure(api(host, 64, 64, Duration.ofSeconds(30),
          Optional.empty(), Optional.empty(), false)))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("mycelium.api.host")
          .hasMessageContaining("mycelium.api.tls")
          .hasMessageContaining("allow-insecure-remote");
    }
    for (String host : List.of("127.0.0.1", "localhost", "::1")) {
      ApiServer.checkExposure(api(host, 64, 64, Duration.ofSeconds(30), Optional.empty(),
          Optional.empty(), false));
    }
    // Either way out is taken at start.
    ApiServer.checkExposure(api("0.0.0.0", 64, 64, Duration.ofSeconds(30), Optional.empty(),
        Optional.empty(), true));
    ApiServer.checkExposure(api("0.0.0.0", 64, 64, Duration.ofSeconds(30),
        Optional.of(java.nio.file.Path.of("c.pem")), Optional.of(java.nio.file.Path.of("k.pem")),
        false));
  }

  @Test
  void withTlsConfiguredTheApiServesHttps() throws Exception {
    SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
    try {
      ExecutorService workers = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
          new ArrayBlockingQueue<>(4));
      ApiServer server = new ApiServer();
      toClose.add(server);
      toClose.add(workers::shutdownNow);
      int tlsPort = server.start(api("127.0.0.1", 8, 4, Duration.ofSeconds(30),
              Optional.of(cert.certificate().toPath()), Optional.of(cert.privateKey().toPath()),
              false), new ApiRoutes(backend, ApiKey.of(KEY), 4), workers,
          new NodeMetrics(() -> null)).getPort();
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, null);
      try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", tlsPort)) {
        s.setSoTimeout((int) WAIT.toMillis());
        send(s, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assertThat(readAnswer(s)).startsWith("HTTP/1.1 200").contains("\"up\"");
        assertThat(s.getSession().getProtocol()).isIn("TLSv1.3", "TLSv1.2");
      }
      // Plain HTTP on the TLS port gets nothing served.
      Socket plain = new Socket("127.0.0.1", tlsPort);
      toClose.add(plain);
      plain.setSoTimeout((int) WAIT.toMillis());
      send(plain, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
      assertThat(readAnswer(plain)).doesNotContain("\"up\"");
    } finally {
      cert.delete();
    }
  }
}
