package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ID = "ab".repeat(32);

  @TempDir Path tmp;
  FakeApi api;
  Path data;

  @BeforeEach
  void start() throws IOException {
    api = new FakeApi();
    data = tmp.resolve("data");
    api.writeDataDir(data, "sekret");
  }

  @AfterEach
  void stop() {
    api.close();
  }

  @Test
  void putSendsTextMetadataAndKeyFoundInDataDir() throws IOException {
    api.on("POST /v1/fragments", 201,
        "{\"id\":\"" + ID + "\",\"state\":\"PRESENT\",\"created_at\":5,\"embedded\":false}");
    CliRun r = CliRun.of("put", "--data", data.toString(), "--meta", "topic=cats",
        "--visibility", "shared", "cats purr");
    assertThat(r.exit()).isZero();
    assertThat(r.out().strip()).isEqualTo(ID);
    FakeApi.Request req = api.requests.get(0);
    assertThat(req.auth()).isEqualTo("Bearer sekret");
    JsonNode body = JSON.readTree(req.body());
    assertThat(body.get("text").asText()).isEqualTo("cats purr");
    assertThat(body.get("metadata").get("topic").asText()).isEqualTo("cats");
    assertThat(body.get("visibility").asText()).isEqualTo("shared");
  }

  @Test
  void putWithVectorFileSendsTheVector() throws IOException {
    api.on("POST /v1/fragments", 201, "{\"id\":\"" + ID + "\",\"state\":\"PRESENT\"}");
    Path v = tmp.resolve("v.txt");
    Files.writeString(v, "[0.5, -1, 2e-1]");
    CliRun r = CliRun.of("put", "--data", data.toString(), "--vector-file", v.toString(), "x");
    assertThat(r.exit()).isZero();
    JsonNode vec = JSON.readTree(api.requests.get(0).body()).get("vector");
    assertThat(vec).hasSize(3);
    assertThat(vec.get(1).floatValue()).isEqualTo(-1f);
  }

  @Test
  void getPrintsJsonAsIsAndTextAsKeyValues() throws IOException {
    String f = "{\"id\":\"" + ID + "\",\"state\":\"PRESENT\",\"owner\":\"NODE1\",\"created_at\":0,"
        + "\"text\":\"hello there\",\"metadata\":{\"a\":\"b\"},\"visibility\":\"private\","
        + "\"has_vector\":true}";
    api.on("GET /v1/fragments/" + ID, 200, f);
    CliRun j = CliRun.of("get", "--data", data.toString(), "--format", "json", ID);
    assertThat(j.exit()).isZero();
    assertThat(JSON.readTree(j.out())).isEqualTo(JSON.readTree(f));
    CliRun t = CliRun.of("get", "--data", data.toString(), ID);
    assertThat(t.out()).contains("State       PRESENT").contains("Meta a      b")
        .contains("hello there").contains("1970-01-01T00:00:00Z");
  }

  @Test
  void notFoundIsExitOneWithTheApiMessage() {
    CliRun r = CliRun.of("get", "--data", data.toString(), ID);
    assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).contains("error: no such thing");
  }

  @Test
  void malformedIdIsAUsageErrorWithoutARoundTrip() {
    CliRun r = CliRun.of("delete", "--data", data.toString(), "xyz");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("not a fragment ID");
    assertThat(api.requests).isEmpty();
  }

  @Test
  void invalidFieldIsExitTwoNamingTheField() {
    api.on("POST /v1/fragments", 400,
        "{\"error\":\"invalid_field\",\"message\":\"text is too long\",\"field\":\"text\"}");
    CliRun r = CliRun.of("put", "--data", data.toString(), "x");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("error: text is too long (field: text)");
  }

  @Test
  void unauthorizedIsExitFour() {
    api.on("GET /v1/status", 401,
        "{\"error\":\"unauthorized\",\"message\":\"wrong API key\",\"field\":null}");
    CliRun r = CliRun.of("status", "--api", api.url(), "--api-key", "nope",
        "--data", tmp.resolve("none").toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.UNAUTHORIZED);
    assertThat(r.err()).contains("unauthorized: wrong API key");
    assertThat(api.requests.get(0).auth()).isEqualTo("Bearer nope");
  }

  @Test
  void noApiJsonSaysHowToStartANode() {
    Path empty = tmp.resolve("empty");
    CliRun r = CliRun.of("status", "--data", empty.toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(r.err()).contains("no node is running with data dir").contains("no api.json")
        .contains("mycelium run");
  }

  @Test
  void connectionRefusedIsExitThree() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CliRun r = CliRun.of("status", "--api", "127.0.0.1:" + port, "--data", data.toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(r.err()).contains("connection refused");
  }

  @Test
  void aStaleApiJsonNamesTheDeadPid() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path stale = tmp.resolve("stale");
    Files.createDirectories(stale);
    Files.writeString(stale.resolve("api.json"),
        "{\"url\":\"http://127.0.0.1:" + port + "\",\"pid\":" + gone.pid() + "}");
    CliRun r = CliRun.of("status", "--data", stale.toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(r.err()).contains("names pid " + gone.pid()).contains("not running")
        .contains("mycelium run");
  }

  @Test
  void putReadsTheTextFromStdinWhenNoneIsGiven() throws IOException {
    api.on("POST /v1/fragments", 201, "{\"id\":\"" + ID + "\",\"state\":\"PRESENT\"}");
    java.io.InputStream saved = System.in;
    try {
      System.setIn(new java.io.ByteArrayInputStream(
          "piped note\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      CliRun r = CliRun.of("put", "--data", data.toString());
      assertThat(r.exit()).as(r.err()).isZero();
    } finally {
      System.setIn(saved);
    }
    assertThat(JSON.readTree(api.requests.get(0).body()).get("text").asText())
        .isEqualTo("piped note");
  }

  @Test
  void searchBuildsTheFilterAndPrintsATable() throws IOException {
    api.on("POST /v1/search", 200, "{\"hits\":[{\"id\":\"" + ID + "\",\"score\":0.91234,"
        + "\"state\":\"PRESENT\",\"text\":\"cats\\npurr loudly\",\"metadata\":{},"
        + "\"created_at\":1}],\"took_ms\":3}");
    CliRun r = CliRun.of("search", "--data", data.toString(), "-k", "3", "--owner", "N1",
        "--meta", "a=b", "--from", "2026-01-01T00:00:00Z", "--to", "99", "cats");
    assertThat(r.exit()).isZero();
    JsonNode body = JSON.readTree(api.requests.get(0).body());
    assertThat(body.get("k").asInt()).isEqualTo(3);
    assertThat(body.at("/filter/owner").asText()).isEqualTo("N1");
    assertThat(body.at("/filter/metadata/a").asText()).isEqualTo("b");
    assertThat(body.at("/filter/from").asLong()).isEqualTo(1767225600000L);
    assertThat(body.at("/filter/to").asLong()).isEqualTo(99L);
    assertThat(r.out()).contains("RANK").contains("0.9123").contains(ID.substring(0, 12))
        .contains("cats purr loudly").contains("1 hit in 3 ms");
  }

  @Test
  void networkSearchSendsScopeAndHopsAndShowsNodesSubstitutesAndWhoDidNotAnswer()
      throws IOException {
    String other = "B".repeat(64);
    api.on("POST /v1/search", 200, "{\"scope\":\"network\",\"hops\":2,\"asked\":2,"
        + "\"unanswered\":[\"SLOWNODE1234\"],\"partial\":true,\"hits\":["
        + "{\"id\":\"" + ID + "\",\"score\":0.9,\"state\":\"LOST\",\"node\":\"HEREHERE99\","
        + "\"text\":null,\"metadata\":null,\"created_at\":null},"
        + "{\"id\":\"" + other + "\",\"score\":0.5,\"state\":\"PRESENT\",\"node\":\"HEREHERE99\","
        + "\"substitute_for\":\"" + ID + "\",\"text\":\"stand-in\",\"metadata\":{},\"created_at\":1},"
        + "{\"id\":\"" + other.replace('B', 'C') + "\",\"score\":0.4,\"state\":\"PRESENT\","
        + "\"node\":\"THERE777\",\"text\":\"from afar\",\"metadata\":{},\"created_at\":1}],"
        + "\"took_ms\":12}");
    CliRun r = CliRun.of("search", "--data", data.toString(), "--scope", "network", "--hops",
        "2", "cats");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode body = JSON.readTree(api.requests.get(0).body());
    assertThat(body.get("scope").asText()).isEqualTo("network");
    assertThat(body.get("hops").asInt()).isEqualTo(2);
    assertThat(r.out()).contains("NODE").contains("THERE777").contains("SUBST")
        .contains("(for " + ID.substring(0, 12) + ") stand-in").contains("LOST")
        .contains("2 hits in 12 ms, 2 neighbour(s) asked; no answer from SLOWNODE");
  }

  @Test
  void hopsWithoutNetworkScopeIsAUsageError() {
    CliRun r = CliRun.of("search", "--data", data.toString(), "--hops", "2", "x");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("--scope network");
    CliRun bad = CliRun.of("search", "--data", data.toString(), "--scope", "world", "x");
    assertThat(bad.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(bad.err()).contains("local or network");
  }

  @Test
  void badTimeIsAUsageError() {
    CliRun r = CliRun.of("search", "--data", data.toString(), "--from", "yesterday", "x");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("ISO instant");
  }

  @Test
  void statusShowsCountsAndReadinessReasons() {
    api.on("GET /v1/status", 200, "{\"node_id\":\"NODEX\",\"version\":\"0.1.0\","
        + "\"uptime_seconds\":3725,\"fragments\":{\"PRESENT\":7,\"BLANK\":1,\"LOST\":0,"
        + "\"DELETED\":2},\"index\":{\"size\":6,\"pending\":1},\"store\":{\"entries\":10,"
        + "\"capacity\":100,\"fill_ratio\":0.1},\"scrubber\":{\"checked\":9,\"failures\":1,"
        + "\"passes\":3},\"api\":\"http://127.0.0.1:1\",\"peer\":\"127.0.0.1:7946\","
        + "\"peers\":{\"active\":2,\"passive\":5}}");
    api.on("GET /ready", 503, "{\"ready\":false,\"reasons\":[\"store nearly full\"]}");
    CliRun r = CliRun.of("status", "--data", data.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("NODEX").contains("1h 2m 5s")
        .contains("no: store nearly full").contains("10 / 100 entries (10.0% full)")
        .contains("9 checked, 1 failures")
        .contains("127.0.0.1:7946 (2 active, 5 passive)");
    assertThat(r.out()).containsPattern("PRESENT\\s+BLANK\\s+LOST\\s+DELETED\\n\\s+7\\s+1\\s+0\\s+2");
  }

  @Test
  void peersPrintsOneRowPerPeerOrTheJson() {
    api.on("GET /v1/peers", 200, "{\"peers\":[{\"node_id\":\"ABCDEFGHIJKLMNOP\","
        + "\"address\":\"127.0.0.1:7946\",\"state\":\"ALIVE\",\"view\":\"ACTIVE\","
        + "\"score\":-1.5,\"connected\":true,\"rtt_ms\":0.42},{\"node_id\":\"QRSTUVWXYZ234567\","
        + "\"address\":\"10.0.0.2:7946\",\"state\":null,\"view\":\"PASSIVE\","
        + "\"score\":0.0,\"connected\":false,\"rtt_ms\":null}]}");
    CliRun r = CliRun.of("peers", "--data", data.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).containsPattern(
        "NODE ID\\s+ADDRESS\\s+STATE\\s+VIEW\\s+RTT\\s+SCORE\\s+CONNECTED");
    assertThat(r.out()).containsPattern(
        "ABCDEFGH\\s+127.0.0.1:7946\\s+ALIVE\\s+ACTIVE\\s+0.4 ms\\s+-1.50\\s+yes");
    assertThat(r.out()).containsPattern(
        "QRSTUVWX\\s+10.0.0.2:7946\\s+-\\s+PASSIVE\\s+-\\s+0.00\\s+no");
    assertThat(r.out()).doesNotContain("ABCDEFGHI");
    CliRun j = CliRun.of("peers", "--format", "json", "--data", data.toString());
    assertThat(j.exit()).isZero();
    assertThat(j.out()).contains("\"node_id\" : \"QRSTUVWXYZ234567\"");
  }

  @Test
  void importSendsBatchesAndSkipsMalformedLinesByNumber() throws IOException {
    AtomicInteger batches = new AtomicInteger();
    api.on("POST /v1/fragments/batch", req -> {
      batches.incrementAndGet();
      try {
        JsonNode frags = JSON.readTree(req.body()).get("fragments");
        StringBuilder sb = new StringBuilder("{\"results\":[");
        int stored = 0;
        for (int i = 0; i < frags.size(); i++) {
          if (i > 0) {
            sb.append(',');
          }
          if (frags.get(i).get("text").asText().equals("refuse me")) {
            sb.append("{\"error\":\"invalid_field\",\"message\":\"no\",\"field\":\"text\"}");
          } else {
            stored++;
            sb.append("{\"id\":\"").append(ID).append("\",\"state\":\"PRESENT\"}");
          }
        }
        sb.append("],\"stored\":").append(stored).append(",\"failed\":0}");
        return new FakeApi.Reply(200, sb.toString());
      } catch (IOException e) {
        return new FakeApi.Reply(500, "{}");
      }
    });
    StringBuilder lines = new StringBuilder();
    for (int i = 1; i <= 7; i++) {
      lines.append("{\"text\":\"line ").append(i).append("\",\"metadata\":{\"n\":\"").append(i)
          .append("\"}}\n");
    }
    lines.append("{not json\n");            // line 8
    lines.append("\n");                     // line 9, blank: ignored
    lines.append("{\"text\":\"refuse me\"}\n"); // line 10
    lines.append("[1,2]\n");                // line 11
    Path f = tmp.resolve("in.jsonl");
    Files.writeString(f, lines);
    CliRun r = CliRun.of("put", "--data", data.toString(), "--file", f.toString(),
        "--batch-size", "3", "--meta", "src=import", "--format", "json", "--progress");
    assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
    JsonNode out = JSON.readTree(r.out());
    assertThat(out.get("stored").asLong()).isEqualTo(7);
    assertThat(out.get("failed").asLong()).isEqualTo(3);
    assertThat(out.get("errors").findValues("line")).extracting(JsonNode::asLong)
        .containsExactly(8L, 10L, 11L);
    assertThat(r.err()).contains("line 8: not valid JSON").contains("line 10: no (field: text)")
        .contains("\r[").contains("10/10");
    assertThat(batches.get()).isEqualTo(3);
    JsonNode first = JSON.readTree(api.requests.get(0).body()).get("fragments").get(0);
    assertThat(first.at("/metadata/src").asText()).isEqualTo("import");
    assertThat(first.at("/metadata/n").asText()).isEqualTo("1");
  }

  @Test
  void anImportCutShortSaysWhereToResume() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    api.on("POST /v1/fragments/batch", req -> calls.incrementAndGet() == 1
        ? new FakeApi.Reply(200, "{\"results\":[{\"id\":\"" + ID + "\"},{\"id\":\"" + ID
            + "\"}]}")
        : new FakeApi.Reply(401, "{\"error\":\"unauthorized\",\"message\":\"key revoked\"}"));
    Path f = tmp.resolve("cut.jsonl");
    Files.writeString(f, "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\"}\n");
    CliRun r = CliRun.of("put", "--data", data.toString(), "--file", f.toString(),
        "--batch-size", "2");
    assertThat(r.exit()).isEqualTo(ExitCodes.UNAUTHORIZED);
    assertThat(r.err()).contains("key revoked")
        .contains("stopped at the batch starting at line 3 (2 lines stored before it)");
  }

  @Test
  void everyCommandsHelpListsTheExitCodes() {
    String[][] commands = {{"put"}, {"get"}, {"delete"}, {"search"}, {"status"}, {"peers"},
        {"identity", "show"}, {"identity", "export"}, {"identity", "import"},
        {"config", "validate"}, {"config", "show"}};
    for (String[] cmd : commands) {
      String[] args = java.util.Arrays.copyOf(cmd, cmd.length + 1);
      args[cmd.length] = "--help";
      CliRun r = CliRun.of(args);
      assertThat(r.exit()).isZero();
      assertThat(r.out()).as(String.join(" ", cmd)).contains("Exit codes:")
          .contains("3   cannot reach the node").contains("--format");
    }
  }

}
