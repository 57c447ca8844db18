package dev.mycelium.sim.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.node.cli.MyceliumCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SimCommandTest {
  private record Result(int code, String out, String err) {}

  private static Result run(String... args) {
    CommandLine cl = MyceliumCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void theRootCommandFindsSimThroughTheServiceLoader() {
    assertThat(MyceliumCli.commandLine().getSubcommands()).containsKey("sim");
  }

  @Test
  void realModeRefusesWhatRealNodesCannotDoBeforeStartingAny(@TempDir Path dir) {
    Result tooMany = run("sim", "--real", "--scenario", "growth", "--nodes", "65", "--out",
        dir.toString(), "--no-progress");
    assertThat(tooMany.code()).isEqualTo(2);
    assertThat(tooMany.err()).contains("real mode runs 2 to 64 nodes, got 65");
    Result views = run("sim", "--real", "--scenario", "growth", "--nodes", "3", "--out",
        dir.toString(), "--no-progress", "--set", "overlay.active-view=8");
    assertThat(views.code()).isEqualTo(2);
    assertThat(views.err()).contains("overlay.active-view applies to simulated nodes only");
    assertThat(dir.resolve("nodes")).doesNotExist();
  }

  @Test
  void realModeTakesItsNodeCountFromTheRealBlock() {
    com.typesafe.config.Config c = dev.mycelium.sim.scenario.ScenarioRunner.load("growth",
        java.util.Map.of("nodes", "${real.nodes}", "real.nodes", "7"));
    assertThat(c.getInt("nodes")).isEqualTo(7);
  }

  @Test
  void listShowsEveryShippedScenario() {
    Result r = run("sim", "--list");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("growth", "broadcast", "mass-failure", "hub-attack",
        "slow-nodes", "partition-heal", "churn");
  }

  @Test
  void aRunPrintsItsSeedFirstAndWritesTheReport(@TempDir Path dir) throws Exception {
    Result r = run("sim", "--scenario", "growth", "--nodes", "40", "--seed", "7", "--out",
        dir.toString(), "--no-progress", "--set", "grow.settle-ms=3000", "--set",
        "growth.checkpoints=2");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out().lines().findFirst().orElseThrow())
        .contains("scenario growth, seed 7, 40 nodes");
    assertThat(r.out()).contains("events/s");
    assertThat(dir.resolve("report.json")).exists();
    assertThat(Files.readString(dir.resolve("report.md"))).contains("# Scenario `growth`");
    assertThat(dir.resolve("degree-distribution.png")).exists();
  }

  @Test
  void badInputIsAUsageErrorThatSaysWhatToFix() {
    Result noScenario = run("sim");
    assertThat(noScenario.code()).isEqualTo(2);
    assertThat(noScenario.err()).contains("--scenario");
    Result badKey = run("sim", "--scenario", "growth", "--set", "grwoth.checkpoints=2");
    assertThat(badKey.code()).isEqualTo(2);
    assertThat(badKey.err()).contains("no such key").contains("growth.checkpoints");
    Result badSet = run("sim", "--scenario", "growth", "--set", "novalue");
    assertThat(badSet.code()).isEqualTo(2);
    assertThat(badSet.err()).contains("KEY=VALUE");
    Result unknown = run("sim", "--scenario", "nope");
    assertThat(unknown.code()).isEqualTo(2);
    assertThat(unknown.err()).contains("unknown scenario");
  }
}
