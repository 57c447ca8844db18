package dev.mycelium.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mycelium.node.Node;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigLoader;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} of a whole node, peer overlay included, as Prometheus scrapes it: every
 * Mycelium family follows {@link MetricNameRule}, the JVM's metrics are there, and
 * {@code promtool check metrics} (Debian package prometheus), when installed, finds nothing to
 * complain about.
 */
class MetricsIT {
  @TempDir static Path tmp;

  private static Node node;
  private static String metrics;

  @BeforeAll
  static void scrape() throws Exception {
    node = Node.start(new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve("data").toString()).load(),
        new StandardBackends());
    HttpClient http = HttpClient.newHttpClient();
    // One authorized request, so that the labelled HTTP families have samples.
    http.send(HttpRequest.newBuilder(URI.create(node.apiUrl() + "/v1/status"))
        .header("Authorization", "Bearer " + node.apiKey().value()).build(),
        HttpResponse.BodyHandlers.discarding());
    HttpResponse<String> r = http.send(
        HttpRequest.newBuilder(URI.create(node.apiUrl() + "/metrics"))
            .header("Authorization", "Bearer " + node.apiKey().value()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
    metrics = r.body();
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void everyFamilyFollowsTheNamingRule() {
    assertThat(MetricNameRule.check(metrics)).isEmpty();
    assertThat(MetricNameRule.families(metrics)).containsKeys("mycelium_store_fragments",
        "mycelium_overlay_active_peers", "mycelium_http_requests_total", "jvm_memory_used_bytes",
        "jvm_threads_current", "process_cpu_seconds_total");
  }

  @Test
  void promtoolFindsNoProblem() throws Exception {
    assumeTrue(onPath("promtool"), "promtool is not installed (Debian package prometheus);"
        + " the lint of /metrics is skipped");
    Path in = tmp.resolve("metrics.txt");
    Files.writeString(in, metrics);
    Process p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true)
        .redirectInput(in.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(out).as("promtool check metrics").isBlank();
    assertThat(p.exitValue()).as(out).isZero();
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
