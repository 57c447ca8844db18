package dev.mycelium.bench.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.cli.CliRun;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** {@code bench store --http} on a node it starts in this JVM. */
class BenchHttpIT {
  @Test
  void measuresPutsAndGetsThroughItsOwnNode() throws IOException {
    CliRun r = CliRun.of("bench", "store", "--http", "--n", "1000", "--dim", "32",
        "--text-bytes", "128", "--format", "json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode out = new ObjectMapper().readTree(r.out());
    assertThat(out.at("/puts/operations").asLong()).isEqualTo(1000);
    assertThat(out.at("/gets/operations").asLong()).isEqualTo(1000);
    assertThat(out.at("/puts/per_second").asDouble()).isPositive();
    assertThat(out.get("target").asText()).startsWith("http://127.0.0.1:");
  }
}
