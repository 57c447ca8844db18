package dev.mycelium.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.cli.CliException;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What each tool sends to the node and how it answers bad input, against a recording stub. */
class MemoryToolsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ID = "ab".repeat(32);

  /** Records requests and answers each with a canned body. */
  private static final class Recorder implements NodeApi {
    final List<String> calls = new ArrayList<>();
    final List<JsonNode> bodies = new ArrayList<>();
    JsonNode answer = JSON.createObjectNode();

    @Override
    public JsonNode get(String path) {
      calls.add("GET " + path);
      return answer;
    }

    @Override
    public JsonNode post(String path, Object body) {
      calls.add("POST " + path);
      bodies.add(JSON.valueToTree(body));
      return answer;
    }

    @Override
    public JsonNode delete(String path) {
      calls.add("DELETE " + path);
      return answer;
    }
  }

  private final Recorder api = new Recorder();
  private final MemoryTools tools =
      new MemoryTools(api, new MemoryTools.Defaults("agent-a", "run-1", 0.9));

  private CallToolResult call(String tool, Map<String, Object> args) {
    SyncToolSpecification spec = tools.specifications(
        new JacksonMcpJsonMapper(new ObjectMapper())).stream()
        .filter(s -> s.tool().name().equals(tool)).findFirst().orElseThrow();
    return spec.callHandler().apply(null, new McpSchema.CallToolRequest(tool, args));
  }

  private static String text(CallToolResult r) {
    return ((McpSchema.TextContent) r.content().get(0)).text();
  }

  @Test
  void rememberSendsTheAgentTheExpiryAndTheDedupSimilarity() throws Exception {
    api.answer = JSON.readTree("{\"id\":\"" + ID + "\",\"state\":\"PRESENT\","
        + "\"deduplicated\":false}");
    CallToolResult r = call("remember", Map.of("text", "likes tea",
        "metadata", Map.of("topic", "food"), "expires_at", "2030-01-01T00:00:00Z"));
    assertThat(r.isError()).as(text(r)).isFalse();
    assertThat(api.calls).containsExactly("POST /v1/fragments");
    JsonNode body = api.bodies.get(0);
    assertThat(body.get("agent").asText()).isEqualTo("agent-a");
    assertThat(body.has("run")).as("scope agent is not tied to the run").isFalse();
    assertThat(body.get("expires_at").asLong()).isEqualTo(1893456000000L);
    assertThat(body.get("dedup").asDouble()).isEqualTo(0.9);
    assertThat(body.get("metadata").get("topic").asText()).isEqualTo("food");
    assertThat(r.structuredContent()).isInstanceOf(Map.class);
    assertThat(((Map<?, ?>) r.structuredContent()).get("id")).isEqualTo(ID);
  }

  @Test
  void rememberInRunScopeTagsTheRunAndDedupCanBeTurnedOff() {
    api.answer = JSON.createObjectNode().put("id", ID).put("state", "PRESENT");
    call("remember", Map.of("text", "x", "scope", "run", "dedup", false));
    JsonNode body = api.bodies.get(0);
    assertThat(body.get("run").asText()).isEqualTo("run-1");
    assertThat(body.has("dedup")).isFalse();
  }

  @Test
  void badArgumentsAreToolErrorsThatSayWhatToDo() {
    assertThat(text(call("remember", Map.of("text", "x", "metadata", Map.of("agent", "b")))))
        .contains("metadata.agent is set by its own argument");
    assertThat(text(call("remember", Map.of("text", "x", "ttl_seconds", 5,
        "expires_at", "2030-01-01T00:00:00Z")))).contains("not both");
    assertThat(text(call("recall", Map.of("query", "x", "scope", "galaxy"))))
        .contains("scope must be one of agent, run, all");
    CallToolResult forgetAll = call("forget", Map.of("scope", "all"));
    assertThat(forgetAll.isError()).isTrue();
    assertThat(text(forgetAll)).contains("give an id, or a filter");
    assertThat(text(call("forget", Map.of("dry_run", false)))).contains("expect");
    assertThat(api.calls).isEmpty();
  }

  @Test
  void recallFiltersOnTheScopeAndLabelsSubstitutes() throws Exception {
    api.answer = JSON.readTree("{\"hits\":[{\"id\":\"" + ID + "\",\"score\":0.5,"
        + "\"state\":\"PRESENT\",\"owner\":\"N\",\"text\":\"t\",\"metadata\":{\"agent\":\"a\"},"
        + "\"substitute_for\":\"" + "cd".repeat(32) + "\",\"created_at\":0}]}");
    CallToolResult r = call("recall", Map.of("query", "tea", "scope", "run", "k", 3));
    JsonNode body = api.bodies.get(0);
    assertThat(body.get("filter").get("agent").asText()).isEqualTo("agent-a");
    assertThat(body.get("filter").get("run").asText()).isEqualTo("run-1");
    assertThat(body.get("k").asInt()).isEqualTo(3);
    JsonNode hit = JSON.readTree(text(r)).get("hits").get(0);
    assertThat(hit.get("substitute_for").asText()).isEqualTo("cd".repeat(32));
    assertThat(hit.get("note").asText()).contains("not it");
    assertThat(hit.get("owner").asText()).isEqualTo("N");

    call("recall", Map.of("query", "tea", "scope", "all"));
    assertThat(api.bodies.get(1).has("filter")).isFalse();
  }

  @Test
  void aNodeThatCannotBeReachedIsAToolErrorWithTheCliMessage() {
    NodeApi down = new NodeApi() {
      @Override
      public JsonNode get(String path) {
        throw new CliException(3, "no node is running with data dir /x; start one");
      }

      @Override
      public JsonNode post(String path, Object body) {
        return get(path);
      }

      @Override
      public JsonNode delete(String path) {
        return get(path);
      }
    };
    CallToolResult r = MemoryTools.call("get",
        new MemoryTools(down, new MemoryTools.Defaults(null, null, 0))::get, Map.of("id", ID));
    assertThat(r.isError()).isTrue();
    assertThat(text(r)).isEqualTo("error: no node is running with data dir /x; start one");
  }

  @Test
  void updateCarriesTheScopeAndLabelsAndLinksTheOldVersion() throws Exception {
    api.answer = JSON.readTree("{\"id\":\"" + ID + "\",\"state\":\"PRESENT\","
        + "\"visibility\":\"shared\",\"metadata\":{\"agent\":\"a\",\"run\":\"r\","
        + "\"topic\":\"food\",\"supersedes\":\"" + "ef".repeat(32) + "\"}}");
    CallToolResult r = call("update", Map.of("id", ID, "text", "new"));
    assertThat(r.isError()).as(text(r)).isFalse();
    assertThat(api.calls).containsExactly("GET /v1/fragments/" + ID, "POST /v1/fragments");
    JsonNode body = api.bodies.get(0);
    assertThat(body.get("supersedes").asText()).isEqualTo(ID);
    assertThat(body.get("agent").asText()).isEqualTo("a");
    assertThat(body.get("run").asText()).isEqualTo("r");
    assertThat(body.get("visibility").asText()).isEqualTo("shared");
    assertThat(body.get("metadata").get("topic").asText()).isEqualTo("food");
    assertThat(body.get("metadata").has("supersedes")).isFalse();
  }
}
