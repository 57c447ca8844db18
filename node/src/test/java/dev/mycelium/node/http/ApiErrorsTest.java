package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Error bodies say what the client can act on, with a stable code and a reference; what went
 * wrong inside (exception, message, paths) goes to the log under that reference and nowhere
 * else.
 */
class ApiErrorsTest {
  private static final String KEY = "err-key";
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger routesLog = (Logger) LoggerFactory.getLogger(ApiRoutes.class);

  private final ApiRoutes routes = new ApiRoutes(new StubBackend() {
    @Override
    public Map<String, Object> status() {
      throw new IllegalStateException("chronicle map at /home/alice/.mycelium/fragments.cm3 "
          + "is corrupt at offset 4096");
    }
  }, ApiKey.of(KEY), 4);

  @BeforeEach
  void capture() {
    log.start();
    routesLog.addAppender(log);
  }

  @AfterEach
  void release() {
    routesLog.detachAppender(log);
  }

  private JsonNode call(String method, String path, String body, int status) throws Exception {
    ApiResponse r = routes.handle(method, path, "Bearer " + KEY,
        body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8));
    String text = new String(r.body(), StandardCharsets.UTF_8);
    assertThat(r.status()).as(text).isEqualTo(status);
    return RequestParser.JSON.readTree(text);
  }

  @Test
  void anInternalFailureIsAnsweredWithACodeAndAReferenceFoundInTheLog() throws Exception {
    JsonNode body = call("GET", "/v1/status", null, 500);
    assertThat(body.get("error").asText()).isEqualTo("internal");
    String ref = body.get("ref").asText();
    assertThat(ref).matches("[0-9a-f]{12}");
    assertThat(body.toString()).doesNotContain("IllegalState").doesNotContain("/home/alice")
        .doesNotContain("chronicle").doesNotContain("Exception").doesNotContain("at dev.");
    assertThat(body.get("message").asText()).contains(ref);
    ILoggingEvent logged = log.list.stream()
        .filter(e -> e.getFormattedMessage().contains(ref)).findFirst().orElseThrow();
    assertThat(logged.getLevel().toString()).isEqualTo("ERROR");
    assertThat(logged.getThrowableProxy().getMessage()).contains("/home/alice");
  }

  @Test
  void everyErrorHasItsOwnReference() throws Exception {
    String a = call("GET", "/v1/nothing", null, 404).get("ref").asText();
    String b = call("GET", "/v1/nothing", null, 404).get("ref").asText();
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void aBodyThatIsNotJsonIsDescribedWithoutTheParsersInsides() throws Exception {
    for (String path : new String[] {"/v1/fragments", "/v1/search", "/v1/keyring"}) {
      for (String bad : new String[] {"{\"text\": \"a\" \"k\": }", "{\"text\": \"a\"",
          "{\"text\": nope}"}) {
        JsonNode body = call("POST", path, bad, 400);
        assertThat(body.get("error").asText()).isEqualTo("bad_request");
        assertThat(body.get("message").asText()).as(path + " " + bad)
            .doesNotContain("com.fasterxml").doesNotContain("Source").doesNotContain("Feature")
            .doesNotContain("Exception").contains("line 1, column");
      }
    }
  }

  @Test
  void inputsThatCostCpuAreBoundedWithClearErrors() throws Exception {
    JsonNode text = call("POST", "/v1/search",
        "{\"text\":\"" + "w".repeat(RequestParser.MAX_QUERY_CHARS + 1) + "\"}", 400);
    assertThat(text.get("field").asText()).isEqualTo("text");
    assertThat(text.get("message").asText()).contains(String.valueOf(RequestParser.MAX_QUERY_CHARS));
    StringBuilder md = new StringBuilder("{");
    for (int i = 0; i <= RequestParser.MAX_FILTER_PAIRS; i++) {
      md.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
    }
    md.append('}');
    JsonNode filter = call("POST", "/v1/search",
        "{\"text\":\"q\",\"filter\":{\"metadata\":" + md + "}}", 400);
    assertThat(filter.get("field").asText()).isEqualTo("filter.metadata");
    JsonNode k = call("POST", "/v1/search", "{\"text\":\"q\",\"k\":100000}", 400);
    assertThat(k.get("field").asText()).isEqualTo("k");
  }
}
