package dev.mycelium.node.cli;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Mycelium node in its own OS process, started the way the launcher starts it (the same JVM
 * flags file, the CLI's {@code run} command), so that tests can kill it for real: SIGKILL
 * ({@link Process#destroyForcibly()}) leaves the store exactly as a crash would, SIGTERM
 * ({@link Process#destroy()}) exercises the clean-stop path. Its output goes to a log file per
 * start, for assertions and for post-mortems.
 */
final class NodeProcess implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger STARTS = new AtomicInteger();
  static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final Path data;
  private final Path log;
  private final Process process;
  private URI url;
  private String apiKey;

  private NodeProcess(Path data, Path log, Process process) {
    this.data = data;
    this.log = log;
    this.process = process;
  }

  /** Starts a node on {@code data} (created if missing) and waits until its API listens. */
  static NodeProcess start(Path data, String... extraArgs) {
    try {
      Files.createDirectories(data);
      Path log = data.resolveSibling(data.getFileName() + "-node-" + STARTS.incrementAndGet()
          + ".log");
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("@" + repoRoot().resolve("config").resolve("jvm.options"));
      cmd.add("-Xmx256m");
      cmd.add("-XX:+UseSerialGC");
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(MyceliumCli.class.getName());
      cmd.add("run");
      cmd.add("--data");
      cmd.add(data.toString());
      cmd.add("--api");
      cmd.add("127.0.0.1:0");
      cmd.add("--preset");
      cmd.add("test");
      cmd.addAll(List.of(extraArgs));
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      NodeProcess node = new NodeProcess(data, log, p);
      node.awaitApi();
      return node;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for an api.json written by this process (a stale one from a killed run has another pid). */
  private void awaitApi() {
    Path apiJson = data.resolve("api.json");
    await("api.json of pid " + process.pid() + " (log: " + log + ")")
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              if (!process.isAlive()) {
                throw new IllegalStateException(
                    "the node exited with " + process.exitValue() + " before listening:\n"
                        + output());
              }
              if (!Files.exists(apiJson)) {
                return false;
              }
              try {
                JsonNode j = JSON.readTree(Files.readString(apiJson, StandardCharsets.UTF_8));
                return j != null && j.path("pid").asLong() == process.pid()
                    && j.hasNonNull("url");
              } catch (IOException e) {
                return false; // half-written; look again
              }
            });
    try {
      url = URI.create(JSON.readTree(apiJson.toFile()).get("url").asText());
      apiKey = Files.readString(data.resolve("api.key"), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // The API listens before the store is open (so /ready can say "store opening"); fragment
    // requests work once /ready says so.
    ApiClient c = client();
    await("/ready of pid " + process.pid() + " (log: " + log + ")")
        .atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(100))
        .ignoreException(CliException.class)
        .until(() -> c.getAnyStatus("/ready").status() == 200);
  }

  /** The API's address, from api.json. */
  URI url() {
    return url;
  }

  /** The data directory. */
  Path data() {
    return data;
  }

  /** A client of this node's API. */
  ApiClient client() {
    return new ApiClient(url, apiKey);
  }

  /** Everything the process printed so far. */
  String output() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SIGKILL: no shutdown hook runs, as in a crash. */
  void kill() {
    process.destroyForcibly();
    waitForExit();
  }

  /** SIGTERM: the node's shutdown hook stops it cleanly. Returns the exit code. */
  int stop() {
    process.destroy();
    return waitForExit();
  }

  boolean alive() {
    return process.isAlive();
  }

  private int waitForExit() {
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        throw new IllegalStateException("the node did not stop within 60 s; log: " + log);
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The repository root: the nearest parent of the working directory with config/jvm.options. */
  static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("config").resolve("jvm.options"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("config/jvm.options not found above " + Path.of("")
          .toAbsolutePath());
    }
    return p;
  }
}
