package dev.mycelium.sim.scenario;

import com.google.protobuf.ByteString;
import com.typesafe.config.Config;
import dev.mycelium.node.cli.ProgressBar;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.sim.engine.LatencyModel;
import dev.mycelium.sim.engine.NetworkModel;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Everything a scenario needs from its run: the configuration, the seed and size, the report
 * to fill, and helpers shared by every scenario (building a simulation from the file's network
 * and overlay blocks, growing it, broadcasting, running with a progress line), so that each
 * scenario is only its experiment.
 */
public final class ScenarioContext {
  /** The topic every simulated node subscribes to. */
  public static final String TOPIC = "sim";

  private final String name;
  private final Config config;
  private final long seed;
  private final int nodes;
  private final Report report;
  private final ProgressBar progress;
  // Only the current simulation is kept: a scenario that runs several (one per failure rate)
  // must not hold the finished ones in memory.
  private OverlaySim current;
  private long finishedEvents;
  private final long wallStart = System.nanoTime();
  private int broadcasts;
  private final Runnable sampler;
  private long liveHeap;

  public ScenarioContext(String name, Config config, ProgressBar progress, Runnable sampler) {
    this.sampler = sampler;
    this.name = name;
    this.config = config;
    this.seed = config.getLong("seed");
    this.nodes = config.getInt("nodes");
    if (nodes < 2) {
      throw new IllegalArgumentException("nodes must be at least 2, got " + nodes);
    }
    this.progress = progress;
    this.report = new Report(name, config.getString("description"), seed, nodes,
        sorted(config.root().unwrapped()));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> sorted(Map<String, Object> m) {
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<String, Object> e : m.entrySet()) {
      if (e.getKey().equals("description")) {
        continue;
      }
      Object v = e.getValue();
      out.put(e.getKey(), v instanceof Map ? sorted((Map<String, Object>) v) : v);
    }
    return out;
  }

  public String name() {
    return name;
  }

  public Config config() {
    return config;
  }

  public long seed() {
    return seed;
  }

  public int nodes() {
    return nodes;
  }

  public Report report() {
    return report;
  }

  /** A random stream for one purpose, derived from the seed (so runs replay). */
  public SplittableRandom random(String purpose) {
    long h = seed * 0x9E3779B97F4A7C15L;
    for (char c : purpose.toCharArray()) {
      h = (h ^ c) * 0x100000001B3L;
    }
    return new SplittableRandom(h);
  }

  /** The overlay preset and view sizes from the {@code overlay} block. */
  public OverlayConfig overlay() {
    String preset = config.getString("overlay.preset");
    OverlayConfig c = switch (preset) {
      case "lan" -> OverlayConfig.lan();
      case "local" -> OverlayConfig.local();
      case "wan" -> OverlayConfig.wan();
      case "test" -> OverlayConfig.test();
      default -> throw new IllegalArgumentException(
          "overlay.preset must be lan, local, wan or test, got " + preset);
    };
    int active = config.getInt("overlay.active-view");
    int target = config.getInt("overlay.active-target");
    int passive = config.getInt("overlay.passive-view");
    if (active > 0 || target > 0 || passive > 0) {
      int cap = active > 0 ? active : c.activeViewSize();
      if (target > cap) {
        throw new IllegalArgumentException("overlay.active-target (" + target
            + ") must not exceed the active view size (" + cap + ")");
      }
      c = c.withViews(cap, target > 0 ? target : cap,
          passive > 0 ? passive : c.passiveViewSize());
    }
    return c;
  }

  /** A network model from the {@code network} block. */
  public NetworkModel network() {
    Config n = config.getConfig("network");
    return new NetworkModel()
        .latency(LatencyModel.uniform(n.getLong("latency-min-ms"), n.getLong("latency-max-ms")))
        .loss(n.getDouble("loss"))
        .duplication(n.getDouble("duplication"))
        .reorder(n.getDouble("reorder"))
        .fifo(n.getBoolean("fifo"))
        .bandwidth(n.getLong("bandwidth-bytes-per-second"));
  }

  /** A fresh simulation of {@link #nodes()} nodes with the file's network and overlay. */
  public OverlaySim newSim() {
    OverlaySim sim = new OverlaySim(seed, nodes, overlay(), network());
    sim.subscribeAll(TOPIC);
    if (current != null) {
      finishedEvents += current.eventsProcessed();
    }
    current = sim;
    return sim;
  }

  /**
   * Like {@link #newSim()}, but every node also runs the replication core with the given
   * replication factor, the {@code replication} block's anti-entropy interval and tick (the
   * shortest time between two replication ticks of a node) and otherwise the daemon's
   * defaults, over in-memory stores (see {@link Replicas#CODEC}).
   */
  public OverlaySim newReplicatingSim(int factor) {
    ReplicaConfig rc = ReplicaConfig.DEFAULTS.withReplicationFactor(factor)
        .withAntiEntropyIntervalMillis(config.getLong("replication.anti-entropy-interval-ms"));
    OverlaySim sim = OverlaySim.withReplication(seed, nodes, overlay(), network(), rc,
        Replicas.CODEC, config.getLong("replication.tick-ms"));
    sim.subscribeAll(TOPIC);
    if (current != null) {
      finishedEvents += current.eventsProcessed();
    }
    current = sim;
    return sim;
  }

  /**
   * Grows the network (each node joins through earlier nodes; its join walk ends at a node
   * with probability proportional to degree: preferential attachment), one node at a time up
   * to {@code grow.waves-above} nodes and in doubling waves above that, then lets it settle.
   * Returns the time at which it is settled.
   */
  public long grow(OverlaySim sim) {
    long interval = config.getLong("grow.join-interval-ms");
    long settle = config.getLong("grow.settle-ms");
    long grown;
    if (nodes > config.getInt("grow.waves-above")) {
      grown = sim.growInWaves(0, config.getLong("grow.wave-ms"));
      settle = config.getLong("grow.wave-settle-ms");
    } else {
      sim.growAll(0, interval);
      grown = nodes * interval;
    }
    long t = grown + settle;
    run(sim, t, "growing");
    measureMemory();
    return t;
  }

  /**
   * Collects garbage and records the heap still in use: with every node of the run booted and
   * reachable, that is what the simulated nodes cost. Called once the network is grown; the
   * number goes to stdout, never into the report (it depends on the JVM, not the seed).
   */
  public void measureMemory() {
    System.gc();
    liveHeap = Math.max(liveHeap,
        java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
  }

  /** The largest heap in use measured by {@link #measureMemory()}, in bytes. */
  public long liveHeap() {
    return liveHeap;
  }

  /** Schedules a broadcast with a unique label from node {@code origin} at {@code at}. */
  public String broadcast(OverlaySim sim, Metrics m, int origin, long at, String prefix) {
    String label = prefix + "#" + (broadcasts++);
    sim.at(at, () -> m.sent(label, at));
    sim.broadcast(origin, at, TOPIC, ByteString.copyFromUtf8(label), 1);
    return label;
  }

  /** A random live node. */
  public static int liveNode(OverlaySim sim, SplittableRandom random) {
    if (sim.liveCount() == 0) {
      throw new IllegalStateException("no live node left");
    }
    while (true) {
      int i = random.nextInt(sim.size());
      if (sim.isLive(i) && sim.status(i) == OverlaySim.Status.UP) {
        return i;
      }
    }
  }

  /** The {@code p}th percentile (nearest rank) of {@code values}, or -1 when there are none. */
  public static long percentile(List<Long> values, int p) {
    if (values.isEmpty()) {
      return -1;
    }
    long[] s = values.stream().mapToLong(Long::longValue).sorted().toArray();
    int i = Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1);
    return s[Math.max(0, i)];
  }

  /** Runs the simulation up to {@code until}, in slices, showing progress. */
  public void run(OverlaySim sim, long until, String phase) {
    runInSlices(sim, until, phase, 1_000, () -> false);
  }

  /**
   * Runs until {@code until} or, checked every quarter second of simulated time, until
   * {@code done} holds, whichever comes first. Returns the time at which it stopped.
   */
  public long runUntilOr(OverlaySim sim, long until, String phase, BooleanSupplier done) {
    return runInSlices(sim, until, phase, 250, done);
  }

  private long runInSlices(OverlaySim sim, long until, String phase, long slice,
      BooleanSupplier done) {
    // At least one step even when the clock is already at `until`: events scheduled for this
    // very moment (a crash "now") must run before anything is measured.
    do {
      sim.runUntil(Math.min(until, sim.now() + slice));
      sampler.run();
      showProgress(sim, phase, false);
    } while (sim.now() < until && !done.getAsBoolean());
    return sim.now();
  }

  private void showProgress(OverlaySim sim, String phase, boolean force) {
    double wall = (System.nanoTime() - wallStart) / 1e9;
    long events = eventsProcessed();
    progress.text(String.format(Locale.ROOT, "%s: %-16s sim %8.1f s  live %d  %,d events  %,.0f"
        + " events/s  heap after GC %,d MB", name, phase, sim.now() / 1000.0, sim.liveCount(),
        events, wall > 0 ? events / wall : 0, heapAfterGc() >> 20), force);
  }

  /**
   * Heap in use just after the most recent collection: the live data, i.e. what the
   * simulated nodes cost, rather than heap used at a random moment (mostly garbage).
   */
  public static long heapAfterGc() {
    long used = 0;
    for (java.lang.management.MemoryPoolMXBean p
        : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == java.lang.management.MemoryType.HEAP) {
        java.lang.management.MemoryUsage u = p.getCollectionUsage();
        if (u != null) {
          used += u.getUsed();
        }
      }
    }
    return used;
  }

  /** Events processed by every simulation of this run. */
  public long eventsProcessed() {
    return finishedEvents + (current == null ? 0 : current.eventsProcessed());
  }

  /** Adds the traffic section and its plot (messages and bytes per node per second). */
  public void traffic(Metrics m, String label) {
    double[] msgs = m.messagesPerNodePerSecond();
    double[] x = new double[msgs.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = i;
    }
    traffic(report, label, x, msgs, m.bytesPerNodePerSecond(), "Messages", "simulated time (s)",
        "per live node per second");
  }

  /**
   * The traffic section ({@code traffic} or {@code traffic (label)}: mean and max messages and
   * bytes per node per second) and its plot, from one sample per second; shared by simulated
   * and real runs, which count messages and frames respectively.
   *
   * @param what what is counted, for the plot title ("Messages", "Frames")
   */
  public static void traffic(Report report, String label, double[] x, double[] msgs,
      double[] bytes, String what, String xLabel, String yLabel) {
    double sumM = 0;
    double sumB = 0;
    double maxM = 0;
    double maxB = 0;
    for (int i = 0; i < x.length; i++) {
      sumM += msgs[i];
      sumB += bytes[i];
      maxM = Math.max(maxM, msgs[i]);
      maxB = Math.max(maxB, bytes[i]);
    }
    int secs = Math.max(1, x.length);
    report.put("traffic" + (label.isEmpty() ? "" : " (" + label + ")"), Report.row(
        "seconds", x.length,
        "messages per node per second, mean", sumM / secs,
        "messages per node per second, max", maxM,
        "bytes per node per second, mean", sumB / secs,
        "bytes per node per second, max", maxB));
    String suffix = label.isEmpty() ? "" : "-" + label.replaceAll("[^a-z0-9]+", "-");
    report.plot(new Plot("traffic" + suffix + ".png", what + " and bytes/10 sent per node per "
        + "second" + (label.isEmpty() ? "" : " (" + label + ")"), xLabel, yLabel, false, false,
        List.of(new Plot.Series(what.toLowerCase(Locale.ROOT), x, msgs, true),
            new Plot.Series("bytes / 10", x, scale(bytes, 0.1), true))));
  }

  static double[] scale(double[] v, double f) {
    double[] out = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i] * f;
    }
    return out;
  }

  /** A list of doubles from the config. */
  public double[] doubles(String path) {
    return config.getDoubleList(path).stream().mapToDouble(Double::doubleValue).toArray();
  }
}
