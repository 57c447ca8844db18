package dev.mycelium.sim.real;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.mycelium.node.cli.ProgressBar;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ClusterScenario;
import dev.mycelium.sim.scenario.ScenarioContext;
import dev.mycelium.sim.scenario.ScenarioRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a scenario in real mode ({@code mycelium sim --real}): the scenario file is loaded as
 * for a simulated run, the nodes are real processes on loopback under {@code nodesDir}, and
 * the report has the same form. Settings that only a simulated network has (latency, view sizes)
 * are refused rather than silently ignored.
 */
public final class RealRunner {
  /** Real nodes a run may start: one host's worth, as {@code mycelium cluster} allows. */
  public static final int MAX_NODES = 64;

  private RealRunner() {}

  /** The scenario kinds that run on real nodes: those written once for both substrates. */
  public static List<String> kinds() {
    return ScenarioRunner.clusterKinds();
  }

  /**
   * Checks that a loaded scenario can run on real nodes.
   *
   * @throws IllegalArgumentException saying what to change
   */
  public static void check(Config config) {
    String kind = config.getString("kind");
    if (!kinds().contains(kind)) {
      throw new IllegalArgumentException("scenario kind '" + kind + "' has no real mode; real"
          + " mode runs " + kinds());
    }
    int n = config.getInt("nodes");
    if (n < 2 || n > MAX_NODES) {
      throw new IllegalArgumentException("real mode runs 2 to " + MAX_NODES + " nodes, got "
          + n + " (--nodes N)");
    }
    for (String k : List.of("overlay.active-view", "overlay.active-target",
        "overlay.passive-view")) {
      if (config.getInt(k) != 0) {
        throw new IllegalArgumentException(k + " applies to simulated nodes only: real nodes "
            + "take their view sizes from the overlay profile (overlay.preset)");
      }
    }
    if (kind.equals("broadcast") && !config.getString("broadcast.loss-applies-to")
        .equals("all")) {
      throw new IllegalArgumentException("broadcast.loss-applies-to = " + config.getString(
          "broadcast.loss-applies-to") + " cannot run on real nodes: their fault API drops "
          + "every frame a node receives, whatever it carries; set it to all");
    }
  }

  /**
   * Runs the scenario on {@code nodes} real processes whose data directories go under
   * {@code nodesDir}; every node is stopped when it returns, however it returns.
   */
  public static Report run(String name, Config config, Path nodesDir, ProgressBar progress) {
    check(config);
    ScenarioContext base = new ScenarioContext(name, config, progress, () -> { });
    base.report().realNodes().put("real nodes", Report.row("node processes",
        config.getInt("nodes"), "node preset", config.getString("real.preset"),
        "overlay profile", config.getString("overlay.preset"), "node heap",
        config.getString("real.heap")));
    ClusterScenario scenario = ScenarioRunner.clusterKind(config.getString("kind"))
        .orElseThrow();
    List<String> settings = new ArrayList<>(List.of(
        "peer.profile = \"" + config.getString("overlay.preset") + "\"",
        // Every node runs on 127.0.0.1, so they all share one address's inbound allowance.
        "peer.max-connections-per-ip = 4096",
        "shared.topics = [\"" + ScenarioContext.TOPIC + "\"]"));
    settings.addAll(scenario.nodeSettings(config));
    List<String> jvm = List.of("-Xmx" + config.getString("real.heap"), "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1");
    try (RealNetwork net = RealNetwork.create(nodesDir, config.getString("real.preset"),
        settings, jvm, Duration.ofMillis(config.getLong("real.start-timeout-ms")))) {
      try (RealCluster cluster = new RealCluster(new RealContext(base, net, progress))) {
        scenario.run(cluster);
      }
    } catch (ConfigException e) {
      throw new IllegalArgumentException("scenario '" + name + "': " + e.getMessage(), e);
    }
    progress.finish();
    return base.report();
  }
}
