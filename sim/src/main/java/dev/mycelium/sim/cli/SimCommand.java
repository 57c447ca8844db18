package dev.mycelium.sim.cli;

import com.typesafe.config.Config;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.ExitCodes;
import dev.mycelium.node.cli.ProgressBar;
import dev.mycelium.sim.real.RealRunner;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioContext;
import dev.mycelium.sim.scenario.ScenarioRunner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code mycelium sim}: runs a scenario on the simulator (the real overlay cores on a virtual
 * clock) and writes report.md, report.json and plots. The seed is printed first, so any run,
 * however it ends, can be replayed.
 */
@Command(
    name = "sim",
    mixinStandardHelpOptions = true,
    description = "Run a scenario on simulated nodes (the real overlay cores on a virtual clock)"
        + " and write report.md, report.json and PNG plots. Scenarios: sim/scenarios/*.conf.")
public final class SimCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--scenario", paramLabel = "NAME",
      description = "A shipped scenario (see --list) or the path of a .conf file.")
  String scenario;

  @Option(names = "--list", description = "List the shipped scenarios and exit.")
  boolean list;

  @Option(names = "--nodes", paramLabel = "N",
      description = "Simulated nodes (default: the scenario's, usually 1000).")
  Integer nodes;

  @Option(names = "--seed", paramLabel = "S",
      description = "Seed of every random choice (default: the scenario's). One seed, one run.")
  Long seed;

  @Option(names = "--malicious", paramLabel = "SHARE",
      description = "adversary scenario: share of hostile nodes, e.g. 0.3 (adversary.malicious).")
  Double malicious;

  @Option(names = "--attack", paramLabel = "NAME",
      description = "adversary scenario: eclipse, forged-suspicion, censorship, store-fill, "
          + "all (the four at once), none or each (adversary.attack).")
  String attack;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Where the report goes. Default: sim-out/NAME.")
  Path outDir;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override a key of the scenario file (repeatable), e.g. "
          + "--set network.loss=0.1 --set broadcast.losses=[0,0.3].")
  List<String> sets = new ArrayList<>();

  @Option(names = "--no-progress", description = "Do not draw the progress line on stderr.")
  boolean noProgress;

  @Option(names = "--real", description = "Run the scenario on real node processes on "
      + "127.0.0.1 (their data and logs in DIR/nodes), driven through their HTTP API, instead "
      + "of simulated nodes. --nodes defaults to the file's real.nodes (20); at most 64.")
  boolean real;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (list) {
      for (String name : ScenarioRunner.BUILT_IN) {
        String d = ScenarioRunner.file(name).getString("description").replaceAll("\\s+", " ");
        out.printf(Locale.ROOT, "%-15s %s%n", name, d);
      }
      out.flush();
      return ExitCodes.OK;
    }
    if (scenario == null) {
      err.println("error: give --scenario NAME (see mycelium sim --list) or --list");
      return ExitCodes.USAGE;
    }
    Map<String, String> overrides = new LinkedHashMap<>();
    for (String s : sets) {
      int eq = s.indexOf('=');
      if (eq <= 0) {
        err.println("error: --set wants KEY=VALUE, got '" + s + "'");
        return ExitCodes.USAGE;
      }
      overrides.put(s.substring(0, eq), s.substring(eq + 1));
    }
    if (nodes != null) {
      overrides.put("nodes", String.valueOf(nodes));
    } else if (real) {
      overrides.put("nodes", "${real.nodes}");
    }
    if (seed != null) {
      overrides.put("seed", String.valueOf(seed));
    }
    if (malicious != null) {
      overrides.put("adversary.malicious", String.valueOf(malicious));
    }
    if (attack != null) {
      overrides.put("adversary.attack", "\"" + attack + "\"");
    }
    String name = ScenarioRunner.nameOf(scenario);
    Config config;
    try {
      config = ScenarioRunner.load(scenario, overrides);
    } catch (IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    Path dir = outDir != null ? outDir : Path.of("sim-out", name + (real ? "-real" : ""));
    if (real) {
      return runReal(name, config, dir, out, err);
    }
    out.printf(Locale.ROOT, "mycelium sim: scenario %s, seed %d, %d nodes, report in %s%n", name,
        config.getLong("seed"), config.getInt("nodes"), dir);
    out.flush();
    long start = System.nanoTime();
    double cpuStart = cpuSeconds();
    ProgressBar bar = new ProgressBar(err, 0, !noProgress);
    HeapWatch heap = new HeapWatch();
    ScenarioRunner.Outcome outcome;
    try {
      outcome = ScenarioRunner.run(name, config, bar, heap::sample);
    } catch (IllegalArgumentException e) {
      bar.finish();
      err.println("error: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    double wall = (System.nanoTime() - start) / 1e9;
    try {
      outcome.report().write(dir);
    } catch (IOException e) {
      err.println("error: cannot write the report to " + dir + ": " + e.getMessage());
      return ExitCodes.FAILURE;
    }
    for (String f : outcome.report().findings()) {
      out.println("- " + f);
    }
    // The live heap comes from the full collection made once the network is grown; the heap
    // left after the collections of the run is only an upper bound, because a young
    // collection leaves the old generation's garbage in place (how much depends on the heap's
    // size, not on the nodes).
    long peak = heap.peakAfterGc();
    long live = outcome.liveHeapBytes() > 0 ? outcome.liveHeapBytes() : peak;
    double cpu = cpuSeconds() - cpuStart;
    out.printf(Locale.ROOT, "%,d events in %.1f s wall, %.1f s CPU (%,.0f events/s wall, %,.0f "
        + "per CPU-second); live heap with the whole network up: %,d MB (%,.0f bytes per "
        + "simulated node); at most %,d MB after any collection of the run%n", outcome.events(),
        wall, cpu, outcome.events() / wall, cpu > 0 ? outcome.events() / cpu : 0, live >> 20,
        live / (double) config.getInt("nodes"), Math.max(live, peak) >> 20);
    out.printf(Locale.ROOT, "wrote %s/report.md, report.json and %d plots%n", dir,
        outcome.report().plots().size());
    out.flush();
    return ExitCodes.OK;
  }

  private Integer runReal(String name, Config config, Path dir, PrintWriter out,
      PrintWriter err) {
    try {
      RealRunner.check(config);
    } catch (IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    Path nodesDir = dir.resolve("nodes");
    out.printf(Locale.ROOT, "mycelium sim --real: scenario %s, seed %d, %d node processes on "
        + "127.0.0.1 (data and logs in %s), report in %s%n", name, config.getLong("seed"),
        config.getInt("nodes"), nodesDir, dir);
    out.flush();
    long start = System.nanoTime();
    ProgressBar bar = new ProgressBar(err, 0, !noProgress);
    Report report;
    try {
      report = RealRunner.run(name, config, nodesDir, bar);
    } catch (IllegalArgumentException e) {
      bar.finish();
      err.println("error: " + e.getMessage());
      return ExitCodes.USAGE;
    } catch (CliException e) {
      bar.finish();
      err.println("error: " + e.getMessage());
      return e.exitCode();
    }
    try {
      report.write(dir);
    } catch (IOException e) {
      err.println("error: cannot write the report to " + dir + ": " + e.getMessage());
      return ExitCodes.FAILURE;
    }
    for (String f : report.findings()) {
      out.println("- " + f);
    }
    out.printf(Locale.ROOT, "real run took %.1f s; wrote %s/report.md, report.json and %d "
        + "plots%n", (System.nanoTime() - start) / 1e9, dir, report.plots().size());
    out.flush();
    return ExitCodes.OK;
  }

  /** CPU time of this process (every thread, GC included), in seconds; -1 if unknown. */
  static double cpuSeconds() {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime() / 1e9;
    }
    return -1;
  }

  /**
   * The largest heap in use just after a collection, sampled while the run goes on: an upper
   * bound of the live data (a young collection leaves the old generation's garbage), far
   * closer to it than the heap used at a random moment, which is mostly garbage.
   */
  static final class HeapWatch {
    private long peak;

    void sample() {
      peak = Math.max(peak, ScenarioContext.heapAfterGc());
    }

    long peakAfterGc() {
      sample();
      return peak;
    }
  }
}
