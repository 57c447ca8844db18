package dev.mycelium.bench.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.cli.CliRun;
import dev.mycelium.node.cli.ExitCodes;
import dev.mycelium.node.cli.MyceliumCli;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The {@code mycelium bench} commands, run through the whole CLI. */
class BenchCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void benchIsAVerbOfTheMyceliumCommand() {
    assertThat(MyceliumCli.commandLine().getSubcommands()).containsKey("bench");
    CliRun group = CliRun.of("bench");
    assertThat(group.exit()).isZero();
    assertThat(group.err()).contains("Usage: mycelium bench").contains("store", "search",
        "replication");
  }

  @Test
  void everyBenchsHelpListsTheExitCodes() {
    for (String bench : new String[] {"store", "search", "replication"}) {
      CliRun r = CliRun.of("bench", bench, "--help");
      assertThat(r.exit()).isZero();
      assertThat(r.out()).as(bench).contains("Exit codes:")
          .contains("3   cannot reach the node").contains("--format");
    }
  }

  @Test
  void storeBenchInProcessReadsBackEveryFragment() throws IOException {
    CliRun r = CliRun.of("bench", "store", "--store", "memory", "--n", "200", "--dim", "16",
        "--text-bytes", "64", "--format", "json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode out = JSON.readTree(r.out());
    assertThat(out.get("store").asText()).isEqualTo("memory");
    assertThat(out.at("/result/present_after_gets").asLong()).isEqualTo(200);
    assertThat(out.at("/result/signed_puts_per_sec").asDouble()).isPositive();
  }

  @Test
  void storeBenchPrintsATable() {
    CliRun r = CliRun.of("bench", "store", "--store", "chronicle", "--n", "100", "--dim", "8",
        "--text-bytes", "32");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("PUTS/S").contains("chronicle");
  }

  @Test
  void unknownStoreIsAUsageError() {
    CliRun r = CliRun.of("bench", "store", "--store", "paper", "--n", "10");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("memory or chronicle");
  }

  @Test
  void replicationBenchNeedsRoomToReplaceAHolder() {
    CliRun r = CliRun.of("bench", "replication", "--nodes", "4", "--factor", "3");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("--nodes must be at least --factor + 2 (5)");
    CliRun p = CliRun.of("bench", "replication", "--private-share", "2");
    assertThat(p.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(p.err()).contains("--private-share must be from 0 to 1");
  }

  @Test
  void searchBenchReportsRecallOnGeneratedData() throws IOException {
    CliRun r = CliRun.of("bench", "search", "--n", "500", "--dim", "16", "--queries-count",
        "20", "-k", "5", "--format", "json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode out = JSON.readTree(r.out());
    assertThat(out.get("n").asInt()).isEqualTo(500);
    assertThat(out.get("recall").asDouble()).isBetween(0.5, 1.0);
    CliRun text = CliRun.of("bench", "search", "--n", "300", "--dim", "8", "--queries-count",
        "10", "--sweep", "1,4");
    assertThat(text.out()).contains("recall@10").contains("q/s");
    assertThat(text.out()).containsPattern("OVERQUERY.*\\n\\s+\\d+\\.\\d.*\\n\\s+1\\.0.*\\n\\s+4\\.0");
  }

  @Test
  void searchBenchWantsBothFilesOrNeither() {
    CliRun r = CliRun.of("bench", "search", "--base", "b.fvecs");
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("--base and --queries");
  }
}
