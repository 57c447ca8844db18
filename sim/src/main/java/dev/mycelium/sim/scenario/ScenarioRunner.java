package dev.mycelium.sim.scenario;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.mycelium.node.cli.ProgressBar;
import dev.mycelium.sim.report.Report;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Loads a scenario file (HOCON, from {@code sim/scenarios/} on the classpath or from a path),
 * applies {@code --set key=value} overrides on top of it and of the shared defaults, and runs
 * the scenario kind the file names. Overrides must name keys that exist, so that a typo is an
 * error and not a silently ignored setting.
 */
public final class ScenarioRunner {
  /** The shipped scenario files, in the order {@code --list} shows them. */
  public static final List<String> BUILT_IN = List.of("growth", "broadcast", "mass-failure",
      "hub-attack", "slow-nodes", "partition-heal", "churn", "self-healing", "network-search",
      "shared-knowledge", "adversary");

  /** Kinds written once for both substrates (simulated here, real with --real). */
  private static final Map<String, Supplier<ClusterScenario>> CLUSTER_KINDS =
      new LinkedHashMap<>();
  /** Kinds that run on simulated nodes only. */
  private static final Map<String, Supplier<Scenario>> SIM_KINDS = new LinkedHashMap<>();

  static {
    CLUSTER_KINDS.put("growth", GrowthScenario::new);
    CLUSTER_KINDS.put("broadcast", BroadcastScenario::new);
    CLUSTER_KINDS.put("mass-failure", MassFailureScenario::new);
    CLUSTER_KINDS.put("hub-attack", HubAttackScenario::new);
    CLUSTER_KINDS.put("partition-heal", PartitionHealScenario::new);
    CLUSTER_KINDS.put("slow-nodes", SlowNodesScenario::new);
    CLUSTER_KINDS.put("self-healing", SelfHealingScenario::new);
    CLUSTER_KINDS.put("churn", ChurnScenario::new);
    SIM_KINDS.put("network-search", NetworkSearchScenario::new);
    SIM_KINDS.put("shared-knowledge", SharedKnowledgeScenario::new);
    SIM_KINDS.put("adversary", AdversaryScenario::new);
  }

  private ScenarioRunner() {}

  /** The file for a scenario name or path, merged over the defaults (not yet overridden). */
  public static Config file(String scenario) {
    ConfigParseOptions strict = ConfigParseOptions.defaults().setAllowMissing(false);
    Config defaults = ConfigFactory.parseResources(ScenarioRunner.class,
        "/dev/mycelium/sim/scenario-defaults.conf", strict);
    Config file;
    Path path = Path.of(scenario);
    if (scenario.endsWith(".conf") && Files.isRegularFile(path)) {
      file = ConfigFactory.parseFile(path.toFile(), strict);
    } else if (BUILT_IN.contains(scenario)) {
      file = ConfigFactory.parseResources(ScenarioRunner.class, "/scenarios/" + scenario
          + ".conf", strict);
    } else {
      throw new IllegalArgumentException("unknown scenario '" + scenario + "': use one of "
          + BUILT_IN + " (see mycelium sim --list) or the path of a .conf file");
    }
    return file.withFallback(defaults);
  }

  /** The scenario's configuration with overrides applied and checked. */
  public static Config load(String scenario, Map<String, String> overrides) {
    Config base = file(scenario);
    Config over = ConfigFactory.empty();
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String key = e.getKey().trim();
      if (!base.hasPath(key)) {
        TreeSet<String> keys = new TreeSet<>();
        base.entrySet().forEach(x -> keys.add(x.getKey()));
        throw new IllegalArgumentException("--set " + key + ": no such key in scenario '"
            + scenario + "'; keys: " + String.join(", ", keys));
      }
      try {
        over = ConfigFactory.parseString(key + " = " + e.getValue()).withFallback(over);
      } catch (ConfigException ex) {
        throw new IllegalArgumentException("--set " + key + "=" + e.getValue()
            + ": not a valid HOCON value (" + ex.getMessage() + ")", ex);
      }
    }
    Config c = over.withFallback(base).resolve();
    String kind = c.getString("kind");
    if (!CLUSTER_KINDS.containsKey(kind) && !SIM_KINDS.containsKey(kind)) {
      TreeSet<String> kinds = new TreeSet<>(CLUSTER_KINDS.keySet());
      kinds.addAll(SIM_KINDS.keySet());
      throw new IllegalArgumentException("scenario kind '" + kind + "' is unknown; kinds: "
          + kinds);
    }
    return c;
  }

  /** The kinds written once for both substrates, which real mode can run. */
  public static List<String> clusterKinds() {
    return List.copyOf(CLUSTER_KINDS.keySet());
  }

  /**
   * The scenario of a kind written once for both substrates, or empty when the kind runs on
   * simulated nodes only.
   */
  public static java.util.Optional<ClusterScenario> clusterKind(String kind) {
    return java.util.Optional.ofNullable(CLUSTER_KINDS.get(kind)).map(Supplier::get);
  }

  /** The name a report carries: the file's base name. */
  public static String nameOf(String scenario) {
    String n = Path.of(scenario).getFileName().toString();
    return n.endsWith(".conf") ? n.substring(0, n.length() - 5) : n;
  }

  /** A finished run: its report (not yet written) and how many events it took. */
  public record Outcome(Report report, long events, long liveHeapBytes) {}

  /** Runs a loaded scenario. */
  public static Outcome run(String name, Config config, ProgressBar progress) {
    return run(name, config, progress, () -> { });
  }

  /** Runs a loaded scenario, calling {@code sampler} once per simulated second. */
  public static Outcome run(String name, Config config, ProgressBar progress, Runnable sampler) {
    ScenarioContext ctx = new ScenarioContext(name, config, progress, sampler);
    try {
      String kind = config.getString("kind");
      if (CLUSTER_KINDS.containsKey(kind)) {
        CLUSTER_KINDS.get(kind).get().run(new SimCluster(ctx));
      } else {
        SIM_KINDS.get(kind).get().run(ctx);
      }
    } catch (ConfigException e) {
      throw new IllegalArgumentException("scenario '" + name + "': " + e.getMessage(), e);
    }
    progress.finish();
    return new Outcome(ctx.report(), ctx.eventsProcessed(), ctx.liveHeap());
  }

  /** A runner that shows nothing while it runs (tests). */
  public static ProgressBar silent() {
    return new ProgressBar(new PrintWriter(PrintWriter.nullWriter()), 0, false);
  }
}
