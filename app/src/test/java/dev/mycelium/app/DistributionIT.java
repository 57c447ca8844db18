package dev.mycelium.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball as an operator gets it: unpacked into a scratch directory and run from another
 * directory through {@code bin/mycelium}, with only a JDK. It checks the layout, that the
 * launcher finds its jars and JVM flags wherever it is called from, and that a node started the
 * way systemd starts it ({@code $STATE_DIRECTORY}, {@code $CONFIGURATION_DIRECTORY}) keeps its
 * data and reads its config there, is found by the client commands through the same variables,
 * and stops cleanly on SIGTERM with the exit status the unit calls success.
 */
class DistributionIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;

  private static Path home;

  @BeforeAll
  static void unpack() throws Exception {
    Path tarball;
    try (Stream<Path> s = Files.list(Path.of("target"))) {
      tarball = s.filter(p -> p.getFileName().toString().matches("mycelium-.*\\.tar\\.gz"))
          .findFirst()
          .orElseThrow(() -> new AssertionError("no mycelium-*.tar.gz in target/; the package "
              + "phase makes it (maven-assembly-plugin)"));
    }
    Path dest = tmp.resolve("opt");
    Files.createDirectories(dest);
    Result r = exec(dest, Map.of(), List.of("tar", "xzf", tarball.toAbsolutePath().toString()));
    assertThat(r.code()).as(r.err()).isZero();
    try (Stream<Path> s = Files.list(dest)) {
      home = s.findFirst().orElseThrow();
    }
  }

  @Test
  void hasTheDocumentedLayout() throws IOException {
    assertThat(home.getFileName().toString()).startsWith("mycelium-");
    for (String f : List.of("bin/mycelium", "config/jvm.options", "config/node-jvm.options",
        "config/node-jvm.sh", "config/mycelium.conf",
        "config/logback.xml", "config/logback-json.xml", "systemd/mycelium.service",
        "systemd/mycelium@.service", "systemd/sysusers.d/mycelium.conf",
        "systemd/tmpfiles.d/mycelium.conf", "LICENSE", "README.md")) {
      assertThat(home.resolve(f)).as(f).isRegularFile();
    }
    assertThat(Files.getPosixFilePermissions(home.resolve("bin/mycelium")))
        .contains(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OTHERS_EXECUTE);
    try (Stream<Path> jars = Files.list(home.resolve("lib"))) {
      List<String> names = jars.map(p -> p.getFileName().toString()).toList();
      assertThat(names).anyMatch(n -> n.startsWith("mycelium-node-"))
          .anyMatch(n -> n.startsWith("mycelium-sim-"))
          .anyMatch(n -> n.startsWith("mycelium-mcp-"))
          .anyMatch(n -> n.startsWith("mycelium-bench-"))
          .anyMatch(n -> n.startsWith("mycelium-model-"))
          .noneMatch(n -> n.startsWith("mycelium-app-"))
          .anyMatch(n -> n.startsWith("netty-"))
          .noneMatch(n -> n.contains("chronicle-analytics"))
          .noneMatch(n -> n.startsWith("junit"));
    }
    assertThat(Files.readString(home.resolve("LICENSE"))).contains("Apache License");
  }

  @Test
  void runsFromAnotherDirectory() throws Exception {
    Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
    Result version = mycelium(elsewhere, Map.of(), "--version");
    assertThat(version.code()).as(version.err()).isZero();
    assertThat(version.out()).startsWith("mycelium ");

    Path conf = elsewhere.resolve("node.conf");
    Files.writeString(conf, "mycelium.api.port = 8123\n");
    Result ok = mycelium(elsewhere, Map.of(), "config", "validate", conf.toString());
    assertThat(ok.code()).as(ok.err()).isZero();
    assertThat(ok.out()).contains("valid");

    Files.writeString(conf, "mycelium.api.prot = 8123\n");
    Result bad = mycelium(elsewhere, Map.of(), "config", "validate", conf.toString());
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("mycelium.api.prot");
  }

  @Test
  void followsTheServiceDirectoriesAndStopsCleanlyOnSigterm() throws Exception {
    Path state = Files.createDirectories(tmp.resolve("var-lib-mycelium"));
    Path etc = Files.createDirectories(tmp.resolve("etc-mycelium"));
    Path logs = Files.createDirectories(tmp.resolve("var-log-mycelium"));
    Files.writeString(etc.resolve("mycelium.conf"), String.join("\n",
        "mycelium.api.port = 0",
        "mycelium.peer.listen-port = 0",
        "mycelium.embedder.name = hash",
        "mycelium.storage.capacity-entries = 1000",
        ""));
    Map<String, String> env = Map.of(
        "STATE_DIRECTORY", state.toString(),
        "CONFIGURATION_DIRECTORY", etc.toString(),
        "LOGS_DIRECTORY", logs.toString());
    Path cwd = Files.createDirectories(tmp.resolve("cwd"));

    Result shown = mycelium(cwd, env, "config", "show", "--resolved", "--format", "json");
    assertThat(shown.code()).as(shown.err()).isZero();
    Map<String, JsonNode> byKey = new java.util.HashMap<>();
    JSON.readTree(shown.out()).forEach(s -> byKey.put(s.get("key").asText(), s));
    assertThat(byKey.get("mycelium.node.data-dir").get("value").asText())
        .contains(state.toString());
    assertThat(byKey.get("mycelium.node.data-dir").get("origin").asText()).isEqualTo("service");
    assertThat(byKey.get("mycelium.api.port").get("origin").asText()).isEqualTo("file");

    List<String> cmd = new ArrayList<>(List.of(home.resolve("bin/mycelium").toString(), "run"));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
        .redirectErrorStream(true)
        .redirectOutput(tmp.resolve("node.log").toFile());
    pb.environment().putAll(env);
    pb.environment().put("MYCELIUM_JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC");
    Process node = pb.start();
    try {
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
          .until(() -> Files.isRegularFile(state.resolve("api.json")) || !node.isAlive());
      assertThat(node.isAlive()).as(() -> log()).isTrue();
      assertThat(state.resolve("identity.key")).isRegularFile();
      assertThat(cwd.resolve("data")).doesNotExist();

      Result status = mycelium(cwd, env, "status", "--format", "json");
      assertThat(status.code()).as(status.err()).isZero();
      assertThat(JSON.readTree(status.out()).get("node_id").asText()).isNotBlank();
      Result peers = mycelium(cwd, env, "peers", "--format", "json");
      assertThat(peers.code()).as(peers.err()).isZero();
      assertThat(JSON.readTree(peers.out()).get("peers").isArray()).isTrue();

      // A wrong key is refused and audited in $LOGS_DIRECTORY, by the shipped logging files.
      Result refused = mycelium(cwd, env, "status", "--api-key", "wrong");
      assertThat(refused.code()).isEqualTo(4);
      await().atMost(Duration.ofSeconds(10)).until(() -> Files.isRegularFile(
          logs.resolve("audit.log"))
          && Files.readString(logs.resolve("audit.log")).contains("event=api_key_refused"));
    } finally {
      node.destroy();
      assertThat(node.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
    // SIGTERM ends the JVM with 143 after the shutdown hook closed the node: the unit's
    // SuccessExitStatus=143.
    assertThat(node.exitValue()).as(() -> log()).isIn(0, 143);
    assertThat(state.resolve("api.json")).doesNotExist();
    assertThat(log()).contains("stopped").doesNotContain("api_key_refused");
  }

  /**
   * The laptop aim for memory: a node started from the installation as a user or systemd
   * starts it, on the embedded defaults and the launcher's JVM bounds (config/node-jvm.options;
   * the built-in model loaded), settles under 300 MB resident once idle. The periodic
   * collection and the native trim run within a minute or two; the test waits for that, not
   * for a fixed time. It found that the installation's launcher had none of the bounds.
   */
  @Test
  void anIdleNodeOnTheEmbeddedDefaultsSettlesUnder300MbResident() throws Exception {
    Path status = Path.of("/proc/self/status");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(status),
        "resident memory is read from /proc, which this system does not have");
    Path data = tmp.resolve("idle-data");
    Path cwd = Files.createDirectories(tmp.resolve("idle-cwd"));
    ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/mycelium").toString(), "run",
        "--data", data.toString(), "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0")
        .directory(cwd.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve("idle-node.log").toFile()));
    pb.environment().remove("MYCELIUM_JAVA_OPTS");
    pb.environment().remove("MYCELIUM_CONFIG");
    Process node = pb.start();
    try {
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
          .until(() -> Files.isRegularFile(data.resolve("api.json")) || !node.isAlive());
      assertThat(node.isAlive()).as(() -> idleLog()).isTrue();
      JsonNode api = JSON.readTree(data.resolve("api.json").toFile());
      String key = Files.readString(data.resolve("api.key")).strip();
      var client = java.net.http.HttpClient.newHttpClient();
      var request = java.net.http.HttpRequest.newBuilder(
              java.net.URI.create(api.get("url").asText() + "/v1/status"))
          .header("Authorization", "Bearer " + key).build();
      // The model loads in the background after /ready; the aim counts it.
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() ->
          JSON.readTree(client.send(request, java.net.http.HttpResponse.BodyHandlers.ofString())
              .body()).path("memory").path("model_bytes").asLong() > 0);
      Path proc = Path.of("/proc", Long.toString(api.get("pid").asLong()), "status");
      await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofSeconds(2))
          .untilAsserted(() -> assertThat(residentKb(proc) * 1024)
              .as("VmRSS of the idle node, bytes").isPositive()
              .isLessThanOrEqualTo(300_000_000L));
    } finally {
      node.destroy();
      assertThat(node.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
  }

  private static long residentKb(Path procStatus) throws IOException {
    for (String line : Files.readAllLines(procStatus)) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  private static String idleLog() {
    try {
      return Files.readString(tmp.resolve("idle-node.log"));
    } catch (IOException e) {
      return "(no node log: " + e + ")";
    }
  }

  private static String log() {
    try {
      return Files.readString(tmp.resolve("node.log"));
    } catch (IOException e) {
      return "(no node log: " + e + ")";
    }
  }

  private record Result(int code, String out, String err) {}

  private static Result mycelium(Path cwd, Map<String, String> env, String... args)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(home.resolve("bin/mycelium").toString());
    cmd.addAll(List.of(args));
    return exec(cwd, env, cmd);
  }

  private static Result exec(Path cwd, Map<String, String> env, List<String> cmd)
      throws Exception {
    Path out = Files.createTempFile(tmp, "out", ".txt");
    Path err = Files.createTempFile(tmp, "err", ".txt");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().remove("MYCELIUM_NODE_DATA_DIR");
    pb.environment().remove("MYCELIUM_CONFIG");
    pb.environment().putAll(env);
    pb.environment().putIfAbsent("MYCELIUM_JAVA_OPTS", "-Xmx128m -XX:+UseSerialGC");
    Process p = pb.start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(cmd + " did not finish in 120 s");
    }
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }
}
