package dev.mycelium.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.node.Node;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigLoader;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mycelium mcp} driven by a client nobody here wrote: the official TypeScript SDK's MCP
 * client ({@code @modelcontextprotocol/sdk} from npm), through {@code src/test/js/client.mjs},
 * which spawns the server as a host application would and goes through initialize, tools/list
 * and every tool against a real node. Skips, saying why, when Node.js or the installed SDK
 * ({@code npm ci} in src/test/js, which {@code .ci/run} does) is missing.
 */
class McpClientIT {
  private static final Path JS = Path.of("src", "test", "js").toAbsolutePath();

  @TempDir Path data;
  private Node node;

  @BeforeEach
  void start() {
    String missing = missingClient();
    if (missing != null) {
      System.out.println("McpClientIT skipped: " + missing);
    }
    Assumptions.assumeTrue(missing == null, missing);
    node = Node.start(new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", data.toString())
        .flag("mycelium.peer.enabled", "false").load(), new StandardBackends());
    await().atMost(Duration.ofSeconds(30)).until(() -> node.notReadyReasons().isEmpty());
  }

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  /** Why the TypeScript client cannot run here, or null when it can. */
  private static String missingClient() {
    if (findOnPath("node") == null) {
      return "Node.js (node) is not on the PATH; install nodejs and npm to run the MCP client "
          + "test";
    }
    if (!Files.isDirectory(JS.resolve("node_modules/@modelcontextprotocol/sdk"))) {
      return "the MCP TypeScript SDK is not installed; run `npm ci` in " + JS;
    }
    return null;
  }

  private static Path findOnPath(String exe) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path p = Path.of(dir, exe);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  @Test
  void theTypeScriptSdkClientUsesEveryTool() throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("node");
    cmd.add(JS.resolve("client.mjs").toString());
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.mycelium.node.cli.MyceliumCli");
    cmd.add("mcp");
    cmd.add("--data");
    cmd.add(data.toString());
    cmd.add("--agent");
    cmd.add("test-agent");
    cmd.add("--run");
    cmd.add("run-1");
    Path out = data.resolve("client.out");
    Path err = data.resolve("client.err");
    Process p = new ProcessBuilder(cmd).directory(JS.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    boolean ended = p.waitFor(180, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly();
    }
    String stdout = read(out);
    String stderr = read(err);
    assertThat(ended).as("the client finished; stderr:%n%s", stderr).isTrue();
    assertThat(stdout).as("stderr:%n%s", stderr).contains("MCP-CLIENT-RESULT")
        .doesNotContain("MCP-CLIENT-FAILED");
    assertThat(p.exitValue()).isZero();
    assertThat(stdout).contains("\"calls\":\"ok\"")
        .contains("[\"forget\",\"get\",\"history\",\"list\",\"recall\",\"remember\",\"update\"]");
    // The server logs, and its log went to stderr: stdout carried only the protocol.
    assertThat(stderr).contains("MCP server on stdio");
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }
}
