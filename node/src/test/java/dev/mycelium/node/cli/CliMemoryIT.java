package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.Node;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's memory options against a node in process: put with --agent, --run and --expires,
 * search limited to an agent, and an export that {@code put --file} reads back into another
 * node.
 */
class CliMemoryIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  private Node node;

  @BeforeEach
  void start() {
    node = Node.start(new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve("a").toString())
        .flag("mycelium.peer.enabled", "false").load(), new StandardBackends());
    await().atMost(Duration.ofSeconds(30)).until(() -> node.notReadyReasons().isEmpty());
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private CliRun cli(Path data, String... args) {
    String[] full = new String[args.length + 2];
    System.arraycopy(args, 0, full, 0, args.length);
    full[args.length] = "--data";
    full[args.length + 1] = data.toString();
    CliRun r = CliRun.of(full);
    assertThat(r.exit()).as("exit of %s; stderr: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  @Test
  void agentRunAndExpiryFromTheCliAndAnExportThatPutFileReadsBack() throws Exception {
    Path a = tmp.resolve("a");
    String id = JSON.readTree(cli(a, "put", "--agent", "alpha", "--run", "r1", "--expires",
        "2099-01-01T00:00:00Z", "--format", "json", "the kettle is broken").out()).get("id")
        .asText();
    cli(a, "put", "--agent", "beta", "the kettle is fine");
    JsonNode got = JSON.readTree(cli(a, "get", "--format", "json", id).out());
    assertThat(got.at("/metadata/agent").asText()).isEqualTo("alpha");
    assertThat(got.at("/metadata/run").asText()).isEqualTo("r1");
    assertThat(got.at("/metadata/expires_at").asText()).isEqualTo("4070908800000");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode hits = JSON.readTree(cli(a, "search", "--agent", "alpha", "--format", "json",
          "kettle").out()).get("hits");
      assertThat(hits.findValuesAsText("id")).containsExactly(id);
    });

    Path file = tmp.resolve("export.jsonl");
    cli(a, "export", "--out", file.toString());
    String exported = Files.readString(file);
    assertThat(exported.lines()).hasSize(2);
    assertThat(cli(a, "export").out()).isEqualTo(exported);

    Path b = tmp.resolve("b");
    try (Node other = Node.start(new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", b.toString())
        .flag("mycelium.peer.enabled", "false").load(), new StandardBackends())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> other.notReadyReasons().isEmpty());
      CliRun imported = cli(b, "put", "--file", file.toString(), "--format", "json");
      assertThat(JSON.readTree(imported.out()).get("stored").asLong()).isEqualTo(2);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        JsonNode hits = JSON.readTree(cli(b, "search", "--agent", "alpha", "--format", "json",
            "kettle").out()).get("hits");
        assertThat(hits).hasSize(1);
        assertThat(hits.get(0).at("/metadata/run").asText()).isEqualTo("r1");
      });
    }
  }
}
