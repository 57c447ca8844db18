package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator's worst day does to a node: a SIGKILL in the middle of writes, bytes rotting
 * on disk, and the plain SIGTERM that must not cost a recovery on the next start. Each test
 * runs real node processes on one data directory.
 */
class CrashAndCorruptionIT {
  /** What the Chronicle store logs when it opens a file that was not closed cleanly. */
  static final String UNCLEAN = "was not closed cleanly";

  @TempDir Path tmp;

  private static ObjectNode fragment(String text) {
    ObjectNode o = ApiClient.mapper().createObjectNode();
    o.put("text", text);
    return o;
  }

  private static JsonNode get(ApiClient c, String id) {
    return c.get("/v1/fragments/" + id);
  }

  @Test
  void everyAcknowledgedWriteSurvivesSigkill() throws Exception {
    Path data = tmp.resolve("data");
    Map<String, String> acked = new ConcurrentHashMap<>();
    AtomicReference<Throwable> writerError = new AtomicReference<>();
    try (NodeProcess node = NodeProcess.start(data)) {
      ApiClient c = node.client();
      Thread writer =
          new Thread(
              () -> {
                for (int i = 0; ; i++) {
                  String text = "crash note " + i + " " + UUID.randomUUID();
                  JsonNode r;
                  try {
                    r = c.post("/v1/fragments", fragment(text));
                  } catch (CliException e) {
                    return; // the node is gone: whatever was not acknowledged may be lost
                  } catch (Throwable t) {
                    writerError.set(t);
                    return;
                  }
                  acked.put(r.get("id").asText(), text);
                }
              },
              "writer");
      writer.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> acked.size() >= 200
          || writerError.get() != null);
      node.kill();
      writer.join(30_000);
      assertThat(writer.isAlive()).isFalse();
      assertThat(writerError.get()).isNull();
    }
    assertThat(data.resolve("fragments.clean")).doesNotExist();
    assertThat(acked.size()).isGreaterThanOrEqualTo(200);

    try (NodeProcess again = NodeProcess.start(data)) {
      assertThat(again.output()).contains(UNCLEAN);
      ApiClient c = again.client();
      Map<String, String> wrong = new LinkedHashMap<>();
      acked.forEach(
          (id, text) -> {
            JsonNode f = get(c, id);
            if (!"PRESENT".equals(f.path("state").asText())
                || !text.equals(f.path("text").asText())) {
              wrong.put(id, f.toString());
            }
          });
      assertThat(wrong).as("acknowledged fragments not PRESENT with their text").isEmpty();
    }
  }

  @Test
  void aCorruptedFragmentReadsBlankAndTheRestStillServe() throws Exception {
    Path data = tmp.resolve("data");
    String marker = "ROT-" + UUID.randomUUID().toString().replace("-", "");
    String victimText = "this note will rot on disk " + marker;
    Map<String, String> others = new LinkedHashMap<>();
    String victim;
    try (NodeProcess node = NodeProcess.start(data)) {
      ApiClient c = node.client();
      for (int i = 0; i < 20; i++) {
        String t = "healthy note " + i + " " + UUID.randomUUID();
        others.put(c.post("/v1/fragments", fragment(t)).get("id").asText(), t);
      }
      victim = c.post("/v1/fragments", fragment(victimText)).get("id").asText();
      assertThat(node.stop()).as("exit code after SIGTERM").isIn(0, 143);
    }

    Path file = data.resolve("fragments.cm3");
    byte[] bytes = Files.readAllBytes(file);
    byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
    int at = indexOf(bytes, needle, 0);
    assertThat(at).as("the marker text in %s", file).isGreaterThanOrEqualTo(0);
    int flipped = 0;
    for (int pos = at; pos >= 0; pos = indexOf(bytes, needle, pos + 1)) {
      bytes[pos + needle.length / 2] ^= 0x01;
      flipped++;
    }
    Files.write(file, bytes);
    assertThat(flipped).isGreaterThanOrEqualTo(1);

    try (NodeProcess node = NodeProcess.start(data)) {
      ApiClient c = node.client();
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(() -> assertThat(get(c, victim).path("state").asText())
              .isEqualTo("BLANK"));
      assertThat(get(c, victim).has("text")).isFalse();
      CliRun shown = CliRun.of("get", "--data", data.toString(), victim);
      assertThat(shown.exit()).isZero();
      assertThat(shown.out()).containsPattern("State\\s+BLANK").doesNotContain(marker);
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                JsonNode s = c.get("/v1/status");
                assertThat(Math.max(s.at("/scrubber/failures").asLong(),
                    s.at("/fragments/BLANK").asLong())).isGreaterThanOrEqualTo(1);
              });
      others.forEach(
          (id, text) -> {
            JsonNode f = get(c, id);
            assertThat(f.path("state").asText()).as(id).isEqualTo("PRESENT");
            assertThat(f.path("text").asText()).isEqualTo(text);
          });
      String fresh = c.post("/v1/fragments", fragment("written after the rot")).get("id")
          .asText();
      ObjectNode q = ApiClient.mapper().createObjectNode().put("text", "written after the rot")
          .put("k", 5);
      // A text-only put is searchable once the background embedder has given it a vector.
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(() -> assertThat(c.post("/v1/search", q).get("hits")
              .findValuesAsText("id")).contains(fresh));
    }
  }

  @Test
  void sigtermStopsCleanlySoTheNextStartNeedsNoRecovery() {
    Path data = tmp.resolve("data");
    String id;
    try (NodeProcess node = NodeProcess.start(data)) {
      id = node.client().post("/v1/fragments", fragment("before a clean stop")).get("id")
          .asText();
      assertThat(node.stop()).as("exit code after SIGTERM").isIn(0, 143);
    }
    assertThat(data.resolve("fragments.clean")).exists();
    assertThat(data.resolve("api.json")).doesNotExist();
    try (NodeProcess node = NodeProcess.start(data)) {
      assertThat(node.client().get("/v1/fragments/" + id).path("text").asText())
          .isEqualTo("before a clean stop");
      assertThat(node.output()).doesNotContain(UNCLEAN);
    }
  }

  private static int indexOf(byte[] hay, byte[] needle, int from) {
    outer:
    for (int i = Math.max(0, from); i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
