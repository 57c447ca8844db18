package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.node.audit.AuditLog;
import dev.mycelium.overlay.PeerAddress;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Refused peer handshakes reach the audit logger with who tried and why: a node of another
 * network, and a stranger that does not even speak TLS.
 */
@Timeout(30)
class HandshakeAuditTest {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final ListAppender<ILoggingEvent> audit = new ListAppender<>();
  private final Logger auditLogger = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);

  @BeforeEach
  void listen() {
    audit.start();
    auditLogger.addAppender(audit);
  }

  @AfterEach
  void stop() {
    auditLogger.detachAppender(audit);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private PeerTransport transport(Optional<NetworkKeyring> ring, OwnerKeys keys) {
    return new PeerTransport(keys, new PeerAddress(keys.nodeId(), "127.0.0.1", 1), ring,
        PeerTransport.Limits.defaults(), group, new PeerTransportTest.Recorder());
  }

  private boolean audited(String event, String reasonPart) {
    return audit.list.stream().anyMatch(e -> {
      String line = e.getFormattedMessage();
      return line.contains("event=" + event) && line.contains(reasonPart);
    });
  }

  @Test
  void aNodeOfAnotherNetworkIsAudited() throws Exception {
    byte[] k1 = new byte[32];
    byte[] k2 = new byte[32];
    k2[0] = 1;
    OwnerKeys dialer = OwnerKeys.generate(new SecureRandom());
    PeerTransport a = transport(Optional.of(NetworkKeyring.of(k1)), dialer);
    PeerTransport b = transport(Optional.of(NetworkKeyring.of(k2)),
        OwnerKeys.generate(new SecureRandom()));
    InetSocketAddress bound = b.bind(new InetSocketAddress("127.0.0.1", 0));
    a.dial(bound, null);
    await().atMost(Duration.ofSeconds(10))
        .until(() -> audited("handshake_refused", "not on this network"));
    assertThat(audit.list).anyMatch(e -> e.getFormattedMessage()
        .contains("peer=" + dialer.nodeId()));
  }

  @Test
  void aStrangerWithoutTlsIsAudited() throws Exception {
    PeerTransport b = transport(Optional.empty(), OwnerKeys.generate(new SecureRandom()));
    InetSocketAddress bound = b.bind(new InetSocketAddress("127.0.0.1", 0));
    try (Socket s = new Socket(bound.getAddress(), bound.getPort())) {
      OutputStream out = s.getOutputStream();
      out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      await().atMost(Duration.ofSeconds(10))
          .until(() -> audited("handshake_refused", "TLS handshake failed"));
    }
    assertThat(audit.list).allMatch(e -> e.getLoggerName().equals(AuditLog.LOGGER));
  }
}
