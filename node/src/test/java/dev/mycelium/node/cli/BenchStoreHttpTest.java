package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchStoreHttpTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void putsInBatchesThenGetsEveryAnsweredId() throws IOException {
    AtomicInteger counter = new AtomicInteger();
    AtomicInteger gets = new AtomicInteger();
    try (FakeApi api = new FakeApi()) {
      api.on("POST /v1/fragments/batch", req -> {
        try {
          JsonNode frags = JSON.readTree(req.body()).get("fragments");
          StringBuilder sb = new StringBuilder("{\"results\":[");
          for (int i = 0; i < frags.size(); i++) {
            assertThat(frags.get(i).get("vector")).hasSize(8);
            assertThat(frags.get(i).get("text").asText().length()).isLessThanOrEqualTo(100);
            sb.append(i > 0 ? "," : "").append("{\"id\":\"")
                .append(String.format("%064x", counter.incrementAndGet()))
                .append("\",\"state\":\"PRESENT\"}");
          }
          return new FakeApi.Reply(200, sb.append("]}").toString());
        } catch (IOException e) {
          return new FakeApi.Reply(500, "{}");
        }
      });
      api.on("GET /v1/fragments/*", req -> {
        gets.incrementAndGet();
        return new FakeApi.Reply(200, "{\"state\":\"PRESENT\"}");
      });
      api.writeDataDir(tmp, "k");
      CliRun r = CliRun.of("bench", "store", "--http", "--data", tmp.toString(), "--n", "601",
          "--text-bytes", "100", "--dim", "8", "--get-threads", "3", "--format", "json");
      assertThat(r.exit()).as(r.err()).isZero();
      JsonNode out = JSON.readTree(r.out());
      assertThat(out.at("/puts/operations").asLong()).isEqualTo(601);
      assertThat(out.at("/gets/threads").asInt()).isEqualTo(3);
      assertThat(out.at("/gets/per_second").asDouble()).isPositive();
      assertThat(out.at("/puts/p99_ms").isNumber()).isTrue();
      assertThat(api.requests.stream().filter(q -> q.path().endsWith("/batch")).count())
          .isEqualTo(2);
      assertThat(gets.get()).isEqualTo(601);
    }
  }

  @Test
  void aNodeTargetWithoutHttpIsAUsageError() {
    CliRun r = CliRun.of("bench", "store", "--data", tmp.toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("add --http");
  }
}
