package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mycelium repair status|run} against a canned API. */
class RepairCommandTest {
  private static final String STATUS = "{\"fragments\":{\"PRESENT\":90,\"BLANK\":3,\"LOST\":1,"
      + "\"DELETED\":2},\"held\":{\"PRESENT\":250,\"BLANK\":0,\"LOST\":0,\"DELETED\":4},"
      + "\"queue\":4,\"running\":false,\"repairs_done\":12,\"repairs_failed\":2,\"losses\":1,"
      + "\"bytes_moved\":1536000,\"cycles\":7,\"last_cycle\":{\"trigger\":\"manual\","
      + "\"started_at\":1763773200000,\"finished_at\":1763773201250,\"duration_ms\":1250,"
      + "\"repaired\":5,\"failed\":1},\"holders\":[\"AAAA\",\"BBBB\"],"
      + "\"manifest_version\":3,\"stream_backlog\":0,\"restoring\":false}";

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
  void statusPrintsSummaryAndCountsByState() {
    api.on("GET /v1/repair", 200, STATUS);
    CliRun r = CliRun.of("repair", "status", "--data", data.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("12 done, 2 failed, 1 lost")
        .contains("1.5 MiB")
        .contains("2025-11-22T01:00:01.250Z (manual, 1250 ms): 5 repaired, 1 failed")
        .contains("AAAA, BBBB (manifest version 3)");
    assertThat(r.out()).containsPattern("Queue\\s+4");
    assertThat(r.out()).containsPattern("own fragments\\s+90\\s+3\\s+1\\s+2");
    assertThat(r.out()).containsPattern("held for others\\s+250\\s+0\\s+0\\s+4");
    assertThat(api.requests.get(0).auth()).isEqualTo("Bearer sekret");
  }

  @Test
  void statusAsJsonIsTheApisAnswer() {
    api.on("GET /v1/repair", 200, STATUS);
    CliRun r = CliRun.of("repair", "status", "--format", "json", "--data", data.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("\"repairs_done\" : 12").contains("\"trigger\" : \"manual\"");
  }

  @Test
  void runPostsAndSaysWhetherACycleStarted() {
    api.on("POST /v1/repair/run", 202, "{\"started\":true,\"status\":" + STATUS + "}");
    CliRun r = CliRun.of("repair", "run", "--data", data.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).startsWith("Repair cycle started.").contains("12 done");
    assertThat(api.requests.get(0).method()).isEqualTo("POST");
    api.on("POST /v1/repair/run", 202, "{\"started\":false,\"status\":" + STATUS + "}");
    CliRun again = CliRun.of("repair", "run", "--data", data.toString());
    assertThat(again.out()).startsWith("A repair cycle is already running");
  }

  @Test
  void aNodeWithoutReplicationIsAFailureWithTheNodesMessage() {
    api.on("GET /v1/repair", 503, "{\"error\":\"unavailable\",\"message\":\"this node runs no "
        + "replication\",\"field\":null}");
    CliRun r = CliRun.of("repair", "status", "--data", data.toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).contains("this node runs no replication");
  }

  @Test
  void byteSizesReadWell() {
    assertThat(RepairCommand.bytes(512)).isEqualTo("512 B");
    assertThat(RepairCommand.bytes(1536)).isEqualTo("1.5 KiB");
    assertThat(RepairCommand.bytes(3L << 30)).isEqualTo("3.0 GiB");
  }
}
