package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.storage.replica.HeldReplica;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent's memories survive the loss of the node's disk with everything the memory
 * operations added: after a wipe and a restore from the neighbours, the update link, the
 * history, the scopes and the tombstone of a forgotten memory are back, and the export is the
 * same bytes as before the loss.
 */
class MemoryRestoreIT {
  private static final Duration SETTLE = Duration.ofSeconds(90);

  @TempDir Path tmp;
  @RegisterExtension final TestNodes fixture = new TestNodes(() -> tmp);

  private HttpResponse<String> send(Node node, String method, String path, String body)
      throws Exception {
    HttpResponse<String> r = fixture.send(node, method, path, body);
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 299);
    return r;
  }

  private String put(Node node, String body) throws Exception {
    return fixture.call(node, "POST", "/v1/fragments", body).get("id").asText();
  }

  @Test
  void theRestoredNodeHasTheSameMemoriesHistoryAndExportBytes() throws Exception {
    Node owner = fixture.startWithFixedPort("n0", null);
    Node h1 = fixture.startWithFixedPort("n1", fixture.seedOf("n0"));
    Node h2 = fixture.startWithFixedPort("n2", fixture.seedOf("n0"));
    await().atMost(SETTLE).until(() -> owner.notReadyReasons().isEmpty()
        && fixture.call(owner, "GET", "/v1/peers", null).path("peers").size() >= 2);

    String v1 = put(owner, "{\"text\":\"tea without sugar\",\"agent\":\"a\"}");
    String v2 = put(owner, "{\"text\":\"tea with honey\",\"agent\":\"a\",\"supersedes\":\"" + v1
        + "\"}");
    String door = put(owner, "{\"text\":\"door code 4711\",\"agent\":\"a\",\"visibility\":"
        + "\"shared\",\"expires_at\":" + (System.currentTimeMillis() + 3_600_000) + "}");
    String note = put(owner, "{\"text\":\"call the plumber\",\"agent\":\"a\",\"run\":\"r1\"}");
    JsonNode forgot = fixture.call(owner, "POST", "/v1/fragments/forget",
        "{\"filter\":{\"run\":\"r1\"},\"dry_run\":false,\"expect\":1}");
    assertThat(forgot.get("deleted").asLong()).isEqualTo(1);

    List<FragmentId> own = new ArrayList<>();
    for (String id : List.of(v1, v2, door)) {
      own.add(FragmentId.parse(id));
    }
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() -> {
      for (Node h : List.of(h1, h2)) {
        for (FragmentId id : own) {
          if (h.replicaStore().get(id).map(HeldReplica::state).orElse(null)
              != FragmentState.PRESENT) {
            return false;
          }
        }
        if (h.replicaStore().get(FragmentId.parse(note)).map(HeldReplica::state).orElse(null)
            != FragmentState.DELETED) {
          return false;
        }
      }
      return true;
    });
    String before = send(owner, "GET", "/v1/export", null).body();
    assertThat(before.lines()).hasSize(3);

    fixture.stopAndLoseData("n0");
    Node back = fixture.startWithFixedPort("n0", fixture.seedOf("n1"));
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      for (String id : List.of(v1, v2, door)) {
        assertThat(fixture.call(back, "GET", "/v1/fragments/" + id, null).path("state").asText())
            .as(id).isEqualTo("PRESENT");
      }
      assertThat(fixture.call(back, "GET", "/v1/fragments/" + note, null).path("state").asText())
          .isEqualTo("DELETED");
    });

    assertThat(send(back, "GET", "/v1/export", null).body()).isEqualTo(before);
    JsonNode history = fixture.call(back, "GET", "/v1/fragments/" + v1 + "/history", null);
    assertThat(history.get("current").asText()).isEqualTo(v2);
    assertThat(fixture.call(back, "GET", "/v1/fragments/" + v1, null).get("superseded_by").asText())
        .isEqualTo(v2);
    JsonNode listed = fixture.call(back, "POST", "/v1/fragments/list",
        "{\"filter\":{\"agent\":\"a\"}}");
    List<String> ids = new ArrayList<>();
    listed.get("fragments").forEach(f -> ids.add(f.get("id").asText()));
    assertThat(ids).containsExactlyInAnyOrder(v2, door);
  }
}
