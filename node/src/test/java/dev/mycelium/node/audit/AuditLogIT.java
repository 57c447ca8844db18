package dev.mycelium.node.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.LogSetup;
import dev.mycelium.node.Node;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.peer.NetworkKeyring;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Security events reach the audit file, in the log format of the node, and stay out of the
 * main log: an operator finds a refused API key in {@code audit.log} with who sent it.
 */
class AuditLogIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private Node node;
  private ListAppender<ILoggingEvent> mainLog;

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
    LogSetup.apply("text", "INFO");
  }

  private Path startNode(String format) {
    return startNode(format, null);
  }

  private Path startNode(String format, String networkKey) {
    Path audit = tmp.resolve("logs").resolve("audit.log");
    LogSetup.apply(format, "INFO", audit);
    // Whatever reaches the main log's root, to show that audit events do not.
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    mainLog = new ListAppender<>();
    mainLog.setContext(ctx);
    mainLog.start();
    ctx.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(mainLog);
    ConfigLoader loader = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve("data").toString());
    if (networkKey == null) {
      loader.flag("mycelium.peer.enabled", "false");
    } else {
      loader.flag("mycelium.peer.network-key", networkKey);
    }
    node = Node.start(loader.load(), new StandardBackends());
    return audit;
  }

  private int getStatusWithKey(String key) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(node.apiUrl() + "/v1/status"))
        .header("Authorization", "Bearer " + key).GET().build();
    return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  @Test
  void aRefusedApiKeyIsAJsonLineInTheAuditFileAndNotInTheMainLog() throws Exception {
    Path audit = startNode("json");
    assertThat(getStatusWithKey("not-the-key")).isEqualTo(401);
    assertThat(getStatusWithKey(node.apiKey().value())).isEqualTo(200);

    await().atMost(Duration.ofSeconds(10)).until(() -> Files.isRegularFile(audit)
        && Files.readString(audit).contains("api_key_refused"));
    List<JsonNode> events = new ArrayList<>();
    for (String line : Files.readAllLines(audit)) {
      events.add(JSON.readTree(line));
    }
    assertThat(events).hasSize(1);
    JsonNode e = events.get(0);
    assertThat(e.get("event").asText()).isEqualTo("api_key_refused");
    assertThat(e.get("route").asText()).isEqualTo("/v1/status");
    assertThat(e.get("method").asText()).isEqualTo("GET");
    assertThat(e.get("remote").asText()).contains("127.0.0.1");
    assertThat(e.get("logger_name").asText()).isEqualTo(AuditLog.LOGGER);
    assertThat(e.toString()).doesNotContain(node.apiKey().value());
    assertThat(mainLog.list).noneMatch(ev -> ev.getLoggerName().equals(AuditLog.LOGGER));
  }

  @Test
  void keyringChangesAreAuditedByNetworkIdInTextFormat() throws Exception {
    byte[] first = new byte[NetworkKeyring.KEY_BYTES];
    byte[] second = new byte[NetworkKeyring.KEY_BYTES];
    second[0] = 7;
    Path audit = startNode("text", Base64.getEncoder().encodeToString(first));
    HttpRequest req = HttpRequest.newBuilder(URI.create(node.apiUrl() + "/v1/keyring"))
        .header("Authorization", "Bearer " + node.apiKey().value())
        .POST(HttpRequest.BodyPublishers.ofString("{\"action\":\"install\",\"key\":\""
            + Base64.getEncoder().encodeToString(second) + "\"}")).build();
    HttpResponse<String> r =
        HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.isRegularFile(audit)
        && Files.readString(audit).contains("event=network_key_install"));
    String text = Files.readString(audit);
    assertThat(text).contains("network_id=" + NetworkKeyring.networkId(second))
        .doesNotContain(Base64.getEncoder().encodeToString(second));
    assertThat(mainLog.list).noneMatch(ev -> ev.getLoggerName().equals(AuditLog.LOGGER));
  }
}
