package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.node.config.NodeConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Configuration errors stop {@code mycelium run} with exit code 2 and name the key. */
class RunCommandTest {
  @TempDir Path tmp;

  private record Result(int code, String err) {}

  private static Result run(String... args) {
    CommandLine cli = MyceliumCli.commandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    cli.setOut(new PrintWriter(new StringWriter()));
    int code = cli.execute(args);
    return new Result(code, err.toString());
  }

  @Test
  void unknownKeyInConfigFileExitsWith2NamingIt() throws Exception {
    Path f = tmp.resolve("bad.conf");
    Files.writeString(f, "mycelium.storage.capacity = 10\n");
    Result r = run("run", "--config", f.toString(), "--data", tmp.resolve("d").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("mycelium.storage.capacity").contains("capacity-entries");
    assertThat(tmp.resolve("d")).doesNotExist();
  }

  @Test
  void badFlagValuesExitWith2() {
    Result api = run("run", "--api", "localhost");
    assertThat(api.code()).isEqualTo(2);
    assertThat(api.err()).contains("--api").contains("HOST:PORT");
    Result port = run("run", "--api", "127.0.0.1:99999");
    assertThat(port.code()).isEqualTo(2);
    assertThat(port.err()).contains("mycelium.api.port");
    Result format = run("run", "--log-format", "xml");
    assertThat(format.code()).isEqualTo(2);
    assertThat(format.err()).contains("mycelium.log.format").contains("text, json");
    Result preset = run("run", "--preset", "huge");
    assertThat(preset.code()).isEqualTo(2);
    assertThat(preset.err()).contains("huge");
  }

  @Test
  void aNonLoopbackApiWithoutTlsExitsWith2BeforeMakingAnything() {
    Path data = tmp.resolve("exposed");
    Result r = run("run", "--preset", "test", "--api", "0.0.0.0:0", "--data", data.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("mycelium.api.host").contains("mycelium.api.tls")
        .contains("allow-insecure-remote");
    assertThat(data).doesNotExist();
  }

  @Test
  void unknownOptionIsAUsageErrorWithCode2() {
    assertThat(run("run", "--colour", "red").code()).isEqualTo(2);
  }

  @Test
  void runPrintsWhereEverythingIsAndStopsCleanlyWhenInterrupted() throws Exception {
    Path data = tmp.resolve("node");
    StringWriter out = new StringWriter();
    CommandLine cli =
        new CommandLine(new RunCommand(c -> new dev.mycelium.node.TestBackends()));
    cli.setOut(new PrintWriter(out, true));
    int[] code = {-1};
    Thread t = new Thread(() -> code[0] = cli.execute("--preset", "test", "--data",
        data.toString()));
    t.start();
    Path apiFile = data.resolve("api.json");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
        .until(() -> Files.exists(apiFile) && out.toString().contains("Stop with"));
    assertThat(out.toString())
        .contains("Mycelium node ")
        .contains("http://127.0.0.1:")
        .contains(data.resolve("api.key").toString())
        .contains(data.toString());
    t.interrupt();
    t.join(30_000);
    assertThat(t.isAlive()).isFalse();
    assertThat(code[0]).isZero();
    assertThat(apiFile).doesNotExist();
  }

  @Test
  void flagsBecomeConfigKeys() {
    RunCommand cmd = new RunCommand(c -> null);
    new CommandLine(cmd).parseArgs(
        "--data", "/tmp/x", "--api", "0.0.0.0:8080", "--listen", "[::1]:9000",
        "--log-format", "json", "--seeds", "10.0.0.1:7946,seed.example:7946");
    assertThat(cmd.flagKeys())
        .containsEntry("mycelium.node.data-dir", "/tmp/x")
        .containsEntry("mycelium.api.host", "0.0.0.0")
        .containsEntry("mycelium.api.port", "8080")
        .containsEntry("mycelium.peer.listen-host", "::1")
        .containsEntry("mycelium.peer.listen-port", "9000")
        .containsEntry("mycelium.log.format", "json")
        .containsEntry("mycelium.peer.seeds", "10.0.0.1:7946,seed.example:7946");
    NodeConfig c = RunCommand.loader(null, null, Map.of(), cmd.flagKeys()).load();
    assertThat(c.peer().seeds()).containsExactly("10.0.0.1:7946", "seed.example:7946");
    assertThat(c.peer().listenHost()).isEqualTo("::1");
    assertThat(c.peer().listenPort()).isEqualTo(9000);
  }
}
