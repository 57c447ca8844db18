package dev.mycelium.bench.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.mycelium.node.cli.CliRun;
import dev.mycelium.node.cli.ExitCodes;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench store --http} against a stand-in for a node's API, so no node is started. */
class BenchStoreHttpTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void putsInBatchesThenGetsEveryAnsweredId() throws IOException {
    AtomicInteger counter = new AtomicInteger();
    AtomicInteger batches = new AtomicInteger();
    AtomicInteger gets = new AtomicInteger();
    HttpServer api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    // The longest matching context answers, so /v1/fragments/batch is not taken for a get.
    api.createContext("/v1/fragments/batch", ex -> {
      batches.incrementAndGet();
      JsonNode frags = JSON.readTree(ex.getRequestBody()).get("fragments");
      StringBuilder sb = new StringBuilder("{\"results\":[");
      for (int i = 0; i < frags.size(); i++) {
        assertThat(frags.get(i).get("vector")).hasSize(8);
        assertThat(frags.get(i).get("text").asText().length()).isLessThanOrEqualTo(100);
        sb.append(i > 0 ? "," : "").append("{\"id\":\"")
            .append(String.format("%064x", counter.incrementAndGet()))
            .append("\",\"state\":\"PRESENT\"}");
      }
      reply(ex, sb.append("]}").toString());
    });
    api.createContext("/v1/fragments/", ex -> {
      gets.incrementAndGet();
      reply(ex, "{\"state\":\"PRESENT\"}");
    });
    api.setExecutor(pool);
    api.start();
    try {
      // What a running node leaves in its data directory for the CLI to find it.
      Files.writeString(tmp.resolve("api.json"), "{\"url\":\"http://127.0.0.1:"
          + api.getAddress().getPort() + "\",\"pid\":1}");
      Files.writeString(tmp.resolve("api.key"), "k\n");
      CliRun r = CliRun.of("bench", "store", "--http", "--data", tmp.toString(), "--n", "601",
          "--text-bytes", "100", "--dim", "8", "--get-threads", "3", "--format", "json");
      assertThat(r.exit()).as(r.err()).isZero();
      JsonNode out = JSON.readTree(r.out());
      assertThat(out.at("/puts/operations").asLong()).isEqualTo(601);
      assertThat(out.at("/gets/threads").asInt()).isEqualTo(3);
      assertThat(out.at("/gets/per_second").asDouble()).isPositive();
      assertThat(out.at("/puts/p99_ms").isNumber()).isTrue();
      assertThat(batches.get()).isEqualTo(2);
      assertThat(gets.get()).isEqualTo(601);
    } finally {
      api.stop(0);
      pool.shutdownNow();
    }
  }

  @Test
  void aNodeTargetWithoutHttpIsAUsageError() {
    CliRun r = CliRun.of("bench", "store", "--data", tmp.toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("add --http");
  }

  private static void reply(HttpExchange ex, String body) throws IOException {
    byte[] out = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
    ex.sendResponseHeaders(200, out.length);
    ex.getResponseBody().write(out);
    ex.close();
  }
}
