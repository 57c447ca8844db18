package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's client commands against a real node in another process, found through --data. */
class CliAgainstNodeIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;
  static NodeProcess node;
  static Path data;

  @BeforeAll
  static void startNode() {
    data = tmp.resolve("data");
    node = NodeProcess.start(data);
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  private static JsonNode cliJson(String... args) throws IOException {
    String[] full = new String[args.length + 4];
    System.arraycopy(args, 0, full, 0, args.length);
    full[args.length] = "--data";
    full[args.length + 1] = data.toString();
    full[args.length + 2] = "--format";
    full[args.length + 3] = "json";
    CliRun r = CliRun.of(full);
    assertThat(r.exit()).as("exit of %s; stderr: %s", String.join(" ", args), r.err()).isZero();
    return JSON.readTree(r.out());
  }

  @Test
  void putGetSearchDeleteThroughTheCli() throws IOException {
    JsonNode put = cliJson("put", "--meta", "topic=garden", "the tomatoes need water at dawn");
    String id = put.get("id").asText();
    assertThat(id).matches("[0-9a-f]{64}");
    assertThat(put.get("state").asText()).isEqualTo("PRESENT");
    String other = cliJson("put", "a meeting with the bank on tuesday").get("id").asText();

    JsonNode got = cliJson("get", id);
    assertThat(got.get("state").asText()).isEqualTo("PRESENT");
    assertThat(got.get("text").asText()).isEqualTo("the tomatoes need water at dawn");
    assertThat(got.at("/metadata/topic").asText()).isEqualTo("garden");

    JsonNode hits = cliJson("search", "-k", "5", "the tomatoes need water at dawn").get("hits");
    assertThat(hits.findValuesAsText("id")).contains(id, other);
    assertThat(hits.get(0).get("id").asText()).isEqualTo(id);

    JsonNode filtered = cliJson("search", "--meta", "topic=garden", "bank").get("hits");
    assertThat(filtered.findValuesAsText("id")).containsExactly(id);

    JsonNode del = cliJson("delete", id);
    assertThat(del.get("state").asText()).isEqualTo("DELETED");
    assertThat(cliJson("get", id).get("state").asText()).isEqualTo("DELETED");

    JsonNode status = cliJson("status");
    assertThat(status.at("/fragments/PRESENT").asLong()).isGreaterThanOrEqualTo(1);
    assertThat(status.get("api").asText()).isEqualTo(node.url().toString());
  }

  @Test
  void importsJsonLinesAndReportsTheBadLine() throws IOException {
    Path f = tmp.resolve("import.jsonl");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 1200; i++) {
      sb.append("{\"text\":\"imported note ").append(i).append("\"}\n");
      if (i == 41) {
        sb.append("{\"text\": broken}\n"); // line 43
      }
    }
    Files.writeString(f, sb);
    String[] args = {"put", "--file", f.toString(), "--data", data.toString(), "--format",
        "json"};
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
    JsonNode out = JSON.readTree(r.out());
    assertThat(out.get("stored").asLong()).isEqualTo(1200);
    assertThat(out.get("failed").asLong()).isEqualTo(1);
    assertThat(out.at("/errors/0/line").asLong()).isEqualTo(43);
  }

  @Test
  void statusPrintsAReadableSummary() {
    CliRun r = CliRun.of("status", "--data", data.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("Node ID").contains("Ready    yes")
        .contains(node.url().toString()).containsPattern("PRESENT\\s+BLANK\\s+LOST\\s+DELETED");
  }

  @Test
  void wrongKeyIsExitFourAndUnknownIdExitOne() {
    CliRun bad = CliRun.of("status", "--data", data.toString(), "--api-key", "wrong");
    assertThat(bad.exit()).isEqualTo(ExitCodes.UNAUTHORIZED);
    CliRun missing = CliRun.of("get", "--data", data.toString(), "00".repeat(32));
    assertThat(missing.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(missing.err()).startsWith("error: ");
  }
}
