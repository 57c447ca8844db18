package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigLoader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory operations agents expect, through a whole node's HTTP API: agent and run scopes,
 * delete by filter with a count first, updates with history, expiry, near-duplicate puts and
 * the export.
 */
class MemoryOperationsIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path data;
  private Node node;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void start() {
    node = Node.start(new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", data.toString()).load(), new StandardBackends());
    await().atMost(Duration.ofSeconds(20)).until(() -> call("GET", "/ready", null).status == 200);
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private record Reply(int status, JsonNode json, String body) {}

  private Reply call(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.apiUrl() + path))
        .timeout(Duration.ofSeconds(20))
        .header("Authorization", "Bearer " + node.apiKey().value());
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = r.headers().firstValue("Content-Type").orElse("").startsWith(
        "application/json") ? JSON.readTree(r.body()) : null;
    return new Reply(r.statusCode(), json, r.body());
  }

  private String put(String body) throws Exception {
    Reply r = call("POST", "/v1/fragments", body);
    assertThat(r.status).as(r.body).isEqualTo(201);
    return r.json.get("id").asText();
  }

  private List<String> searchIds(String body) throws Exception {
    Reply r = call("POST", "/v1/search", body);
    assertThat(r.status).as(r.body).isEqualTo(200);
    List<String> ids = new ArrayList<>();
    r.json.get("hits").forEach(h -> ids.add(h.get("id").asText()));
    return ids;
  }

  @Test
  void agentAndRunAreFieldsThatSearchesFilterOn() throws Exception {
    String a1 = put("{\"text\":\"likes green tea\",\"agent\":\"alpha\",\"run\":\"r1\"}");
    String a2 = put("{\"text\":\"likes green tea a lot\",\"agent\":\"alpha\",\"run\":\"r2\"}");
    String b1 = put("{\"text\":\"likes green tea too\",\"agent\":\"beta\"}");
    Reply got = call("GET", "/v1/fragments/" + a1, null);
    assertThat(got.json.get("metadata").get("agent").asText()).isEqualTo("alpha");
    assertThat(got.json.get("metadata").get("run").asText()).isEqualTo("r1");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(searchIds("{\"text\":\"green tea\",\"k\":10}")).contains(a1, a2, b1));
    assertThat(searchIds("{\"text\":\"green tea\",\"k\":10,\"filter\":{\"agent\":\"alpha\"}}"))
        .containsExactlyInAnyOrder(a1, a2);
    assertThat(searchIds("{\"text\":\"green tea\",\"k\":10,\"filter\":{\"agent\":\"alpha\","
        + "\"run\":\"r2\"}}")).containsExactly(a2);
    Reply hit = call("POST", "/v1/search", "{\"text\":\"green tea\",\"k\":1,\"filter\":"
        + "{\"agent\":\"beta\"}}");
    assertThat(hit.json.get("hits").get(0).get("owner").asText())
        .isEqualTo(node.nodeId().toString());
    // A field and a metadata entry that disagree are refused, naming the field.
    Reply clash = call("POST", "/v1/fragments",
        "{\"text\":\"x\",\"agent\":\"a\",\"metadata\":{\"agent\":\"b\"}}");
    assertThat(clash.status).isEqualTo(400);
    assertThat(clash.json.get("field").asText()).isEqualTo("agent");
  }

  @Test
  void forgetByFilterCountsFirstAndDeletesOnlyWhatWasCounted() throws Exception {
    for (int i = 0; i < 3; i++) {
      put("{\"text\":\"run note " + i + "\",\"agent\":\"alpha\",\"run\":\"old\"}");
    }
    String keep = put("{\"text\":\"keep me\",\"agent\":\"alpha\",\"run\":\"new\"}");
    String filter = "\"filter\":{\"agent\":\"alpha\",\"run\":\"old\"}";
    Reply dry = call("POST", "/v1/fragments/forget", "{" + filter + "}");
    assertThat(dry.status).as(dry.body).isEqualTo(200);
    assertThat(dry.json.get("dry_run").asBoolean()).isTrue();
    assertThat(dry.json.get("matched").asLong()).isEqualTo(3);
    assertThat(dry.json.get("deleted").asLong()).isZero();
    assertThat(call("POST", "/v1/fragments/list", "{" + filter + "}").json.get("total")
        .asLong()).isEqualTo(3);

    Reply noExpect = call("POST", "/v1/fragments/forget", "{" + filter + ",\"dry_run\":false}");
    assertThat(noExpect.status).isEqualTo(400);
    assertThat(noExpect.json.get("field").asText()).isEqualTo("expect");
    Reply stale = call("POST", "/v1/fragments/forget",
        "{" + filter + ",\"dry_run\":false,\"expect\":2}");
    assertThat(stale.status).isEqualTo(409);
    assertThat(call("POST", "/v1/fragments/list", "{" + filter + "}").json.get("total")
        .asLong()).isEqualTo(3);

    Reply done = call("POST", "/v1/fragments/forget",
        "{" + filter + ",\"dry_run\":false,\"expect\":3}");
    assertThat(done.json.get("deleted").asLong()).isEqualTo(3);
    for (JsonNode id : done.json.get("ids")) {
      assertThat(call("GET", "/v1/fragments/" + id.asText(), null).json.get("state").asText())
          .isEqualTo("DELETED");
    }
    assertThat(call("GET", "/v1/fragments/" + keep, null).json.get("state").asText())
        .isEqualTo("PRESENT");
    assertThat(call("POST", "/v1/fragments/forget", "{}").status).isEqualTo(400);
  }

  @Test
  void anUpdateSupersedesTheOldVersionWhichLeavesSearchButKeepsItsHistory() throws Exception {
    String v1 = put("{\"text\":\"the meeting is on monday\",\"agent\":\"alpha\"}");
    Reply up = call("POST", "/v1/fragments", "{\"text\":\"the meeting is on tuesday\","
        + "\"agent\":\"alpha\",\"supersedes\":\"" + v1 + "\"}");
    assertThat(up.status).as(up.body).isEqualTo(201);
    String v2 = up.json.get("id").asText();
    assertThat(up.json.get("supersedes").asText()).isEqualTo(v1);
    String v3 = put("{\"text\":\"the meeting is on wednesday\",\"agent\":\"alpha\","
        + "\"supersedes\":\"" + v2 + "\"}");

    // The link is in the signed metadata; the old version knows what replaced it.
    assertThat(call("GET", "/v1/fragments/" + v2, null).json.get("metadata").get("supersedes")
        .asText()).isEqualTo(v1);
    assertThat(call("GET", "/v1/fragments/" + v1, null).json.get("superseded_by").asText())
        .isEqualTo(v2);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(searchIds("{\"text\":\"the meeting is on\",\"k\":10}")).containsExactly(v3));
    Reply list = call("POST", "/v1/fragments/list", "{\"filter\":{\"agent\":\"alpha\"}}");
    assertThat(list.json.get("total").asLong()).isEqualTo(1);
    Reply all = call("POST", "/v1/fragments/list",
        "{\"filter\":{\"agent\":\"alpha\"},\"include_superseded\":true}");
    assertThat(all.json.get("total").asLong()).isEqualTo(3);

    for (String from : List.of(v1, v2, v3)) {
      Reply h = call("GET", "/v1/fragments/" + from + "/history", null);
      assertThat(h.status).as(h.body).isEqualTo(200);
      assertThat(h.json.get("current").asText()).isEqualTo(v3);
      List<String> versions = new ArrayList<>();
      h.json.get("versions").forEach(v -> versions.add(v.get("id").asText()));
      assertThat(versions).containsExactly(v1, v2, v3);
      assertThat(h.json.get("versions").get(0).get("text").asText())
          .isEqualTo("the meeting is on monday");
      assertThat(h.json.get("versions").get(0).get("superseded_by").asText()).isEqualTo(v2);
    }

    // Only the newest version can be updated: no forks.
    Reply fork = call("POST", "/v1/fragments", "{\"text\":\"fork\",\"supersedes\":\"" + v1
        + "\"}");
    assertThat(fork.status).isEqualTo(409);
    assertThat(fork.json.get("message").asText()).contains(v2);

    // Deleting the newest version makes the one before it current again.
    call("DELETE", "/v1/fragments/" + v3, null);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(searchIds("{\"text\":\"the meeting is on\",\"k\":10}")).containsExactly(v2));
  }

  @Test
  void expiredFragmentsLeaveSearchAndTheSweepDeletesThemWithTombstones() throws Exception {
    long past = System.currentTimeMillis() - 1000;
    long future = System.currentTimeMillis() + 3_600_000;
    String gone = put("{\"text\":\"door code 1234\",\"expires_at\":" + past + "}");
    String kept = put("{\"text\":\"door code 5678\",\"expires_at\":" + future + "}");
    assertThat(call("GET", "/v1/fragments/" + kept, null).json.get("metadata")
        .get("expires_at").asText()).isEqualTo(Long.toString(future));
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(searchIds("{\"text\":\"door code\",\"k\":10}")).containsExactly(kept);
      assertThat(call("GET", "/v1/fragments/" + gone, null).json.get("state").asText())
          .isEqualTo("DELETED");
    });
    assertThat(call("POST", "/v1/fragments", "{\"text\":\"x\",\"expires_at\":\"soon\"}").status)
        .isEqualTo(400);
    assertThat(call("POST", "/v1/fragments", "{\"text\":\"x\",\"metadata\":{\"expires_at\":"
        + "\"soon\"}}").status).isEqualTo(400);
  }

  @Test
  void aNearDuplicatePutReturnsTheExistingFragmentWhenAsked() throws Exception {
    Reply first = call("POST", "/v1/fragments",
        "{\"text\":\"the user is vegetarian\",\"agent\":\"alpha\",\"dedup\":true}");
    assertThat(first.status).as(first.body).isEqualTo(201);
    assertThat(first.json.get("deduplicated").asBoolean()).isFalse();
    assertThat(first.json.get("embedded").asBoolean()).isTrue();
    String id = first.json.get("id").asText();

    Reply again = call("POST", "/v1/fragments",
        "{\"text\":\"the user is vegetarian\",\"agent\":\"alpha\",\"dedup\":0.9}");
    assertThat(again.status).isEqualTo(200);
    assertThat(again.json.get("deduplicated").asBoolean()).isTrue();
    assertThat(again.json.get("id").asText()).isEqualTo(id);
    assertThat(again.json.get("similarity").asDouble()).isGreaterThanOrEqualTo(0.9);

    // Another scope is not a duplicate; nor is anything when the check is off (the default).
    Reply other = call("POST", "/v1/fragments",
        "{\"text\":\"the user is vegetarian\",\"agent\":\"beta\",\"dedup\":true}");
    assertThat(other.status).isEqualTo(201);
    assertThat(other.json.get("id").asText()).isNotEqualTo(id);
    Reply off = call("POST", "/v1/fragments",
        "{\"text\":\"the user is vegetarian\",\"agent\":\"alpha\"}");
    assertThat(off.status).isEqualTo(201);
    assertThat(off.json.has("deduplicated")).isFalse();
    assertThat(call("POST", "/v1/fragments", "{\"text\":\"x\",\"dedup\":1.5}").status)
        .isEqualTo(400);
  }

  @Test
  void theExportIsJsonLinesThatTheBatchApiReadsBack() throws Exception {
    put("{\"text\":\"one\",\"agent\":\"alpha\",\"metadata\":{\"k\":\"v\"}}");
    put("{\"text\":\"two\",\"run\":\"r\",\"visibility\":\"shared\"}");
    Reply export = call("GET", "/v1/export", null);
    assertThat(export.status).isEqualTo(200);
    String[] lines = export.body.split("\n");
    assertThat(lines).hasSize(2);
    JsonNode first = JSON.readTree(lines[0]);
    assertThat(first.get("text").asText()).isEqualTo("one");
    assertThat(first.get("metadata").get("agent").asText()).isEqualTo("alpha");
    assertThat(first.get("visibility").asText()).isEqualTo("private");
    assertThat(call("GET", "/v1/export", null).body).isEqualTo(export.body);

    StringBuilder batch = new StringBuilder("{\"fragments\":[");
    for (int i = 0; i < lines.length; i++) {
      batch.append(i == 0 ? "" : ",").append(lines[i]);
    }
    Reply back = call("POST", "/v1/fragments/batch", batch.append("]}").toString());
    assertThat(back.json.get("stored").asInt()).as(back.body).isEqualTo(2);
  }
}
