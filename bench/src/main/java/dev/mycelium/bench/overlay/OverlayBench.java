package dev.mycelium.bench.overlay;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.engine.NetworkModel;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.engine.SimListener;
import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Measures the overlay cores on a simulated network (LAN preset, 20 to 80 ms links) and
 * prints the numbers the overlay issue asks for: broadcast reach time at 0% and 30% loss,
 * payload copies per node per broadcast, time to suspect and to replace a crashed neighbour,
 * false deaths under pauses and loss, connectivity after half the nodes fail, and the shape of
 * the graph. Usage: {@code OverlayBench [nodes] [seed]} (defaults 1000 and 1).
 */
public final class OverlayBench {
  private static final String TOPIC = "bench";

  private final OverlaySim sim;
  private final int n;
  private final SplittableRandom pick;
  private final Map<String, List<Long>> deliveries = new HashMap<>();
  private final Map<String, Long> sentAt = new HashMap<>();
  private long gossipSent;
  private final List<long[]> suspectedEvents = new ArrayList<>();
  private final List<long[]> deadEvents = new ArrayList<>();
  private final List<long[]> upEvents = new ArrayList<>();
  private final List<long[]> downEvents = new ArrayList<>();

  private OverlayBench(int n, long seed) {
    this.n = n;
    this.pick = new SplittableRandom(seed * 31 + 7);
    this.sim = new OverlaySim(seed, n, OverlayConfig.lan(), new NetworkModel());
    sim.subscribeAll(TOPIC);
    sim.listen(new SimListener() {
      @Override
      public void onEvent(long time, int node, OverlayEvent e) {
        if (e instanceof OverlayEvent.Delivered d) {
          deliveries.computeIfAbsent(d.payload().toStringUtf8(), k -> new ArrayList<>()).add(time);
        } else if (e instanceof OverlayEvent.Suspected s) {
          suspectedEvents.add(new long[] {time, node, sim.indexOf(s.peer())});
        } else if (e instanceof OverlayEvent.Dead d) {
          deadEvents.add(new long[] {time, node, sim.indexOf(d.peer())});
        } else if (e instanceof OverlayEvent.PeerUp u) {
          upEvents.add(new long[] {time, node, sim.indexOf(u.peer())});
        } else if (e instanceof OverlayEvent.PeerDown u) {
          downEvents.add(new long[] {time, node, sim.indexOf(u.peer())});
        }
      }

      @Override
      public void onSend(long time, int from, int to, Envelope env, int bytes) {
        if (env.hasGossip()) {
          gossipSent++;
        }
      }
    });
  }

  /** Runs every phase, or with a third argument {@code broadcast} only the broadcasts. */
  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    long seed = args.length > 1 ? Long.parseLong(args[1]) : 1;
    boolean broadcastOnly = args.length > 2 && args[2].equals("broadcast");
    long wallStart = System.nanoTime();
    OverlayBench bench = new OverlayBench(n, seed);
    bench.run(broadcastOnly);
    double wall = (System.nanoTime() - wallStart) / 1e9;
    System.out.printf(Locale.ROOT, "simulated %.0f s in %.1f s wall: %d events (%.0f events/s)%n",
        bench.sim.now() / 1000.0, wall, bench.sim.eventsProcessed(),
        bench.sim.eventsProcessed() / wall);
  }

  private void run(boolean broadcastOnly) {
    OverlayConfig c = sim.config();
    System.out.printf(Locale.ROOT, "OverlayBench: %d nodes, seed %d, preset lan (probe %d ms, "
        + "timeout %d ms, suspicion %d..%d ms), links 20-80 ms%n", n, sim.seed(),
        c.probeIntervalMillis(), c.probeTimeoutMillis(), c.suspicionMinMillis(),
        c.suspicionMaxMillis());
    long stagger = 20;
    sim.growAll(0, stagger);
    long t = n * stagger + 30_000;
    sim.runUntil(t);
    graph("after growth");

    t = broadcasts("0% loss", t, 10);
    sim.network().loss(0.30);
    t = broadcasts("30% loss on every message", t, 10);
    sim.network().loss(0);
    t += 20_000;
    sim.runUntil(t);
    sim.network().lossAppliesTo(OverlayBench::broadcastTraffic).loss(0.30);
    t = broadcasts("30% loss on broadcast traffic only (Gossip, IHave, Graft, Prune)", t, 10);
    if (broadcastOnly) {
      return;
    }
    sim.network().loss(0).lossAppliesTo(e -> true);
    t += 30_000;
    sim.runUntil(t);

    t = crashes(t, 10);
    t = pauses(t, 20, 5_000);
    t = lossWithoutDeaths(t, 0.10, 30_000);
    massFailure(t, 0.5);
  }

  private static boolean broadcastTraffic(Envelope e) {
    return e.hasGossip() || e.hasIhave() || e.hasGraft() || e.hasPrune();
  }

  private void graph(String when) {
    GraphStats g = GraphStats.of(sim);
    List<Integer> comps = g.componentSizes();
    System.out.printf(Locale.ROOT, "graph %s: live %d, components %d (largest %d), degree "
        + "histogram %s, max degree %d, clustering %.4f, mean path %.2f%n", when, g.liveNodes(),
        comps.size(), comps.isEmpty() ? 0 : comps.get(0), g.degreeHistogram(), g.maxDegree(),
        g.clusteringCoefficient(), g.meanPathLength(100, new SplittableRandom(5)));
  }

  private long broadcasts(String label, long t, int count) {
    List<Long> reach = new ArrayList<>();
    List<Double> copies = new ArrayList<>();
    int missed = 0;
    long[] starts = new long[count];
    for (int b = 0; b < count; b++) {
      int origin = liveNode();
      starts[b] = t;
      sim.broadcast(origin, t, TOPIC, ByteString.copyFromUtf8(label + "#" + b), 1);
      long before = gossipSent;
      t += 2_000;
      sim.runUntil(t);
      copies.add((gossipSent - before) / (double) liveCount());
    }
    t += 4_000;
    sim.runUntil(t);
    int live = liveCount();
    int needed = (int) Math.ceil(live * 0.999);
    for (int b = 0; b < count; b++) {
      List<Long> times = deliveries.getOrDefault(label + "#" + b, List.of());
      if (times.size() >= needed && times.get(needed - 1) - starts[b] <= 6_000) {
        reach.add(times.get(needed - 1) - starts[b]);
      } else {
        missed++;
      }
    }
    reach.sort(null);
    double steady = copies.subList(count / 2, count).stream().mapToDouble(x -> x).average()
        .orElse(0);
    System.out.printf(Locale.ROOT, "broadcast, %s: time to 99.9%% of nodes median %d ms, max %d "
        + "ms (%d of %d broadcasts reached 99.9%% within 6 s); payload copies sent per node per "
        + "broadcast: first %.2f, steady state (last %d) %.2f%n", label,
        reach.isEmpty() ? -1 : reach.get(reach.size() / 2),
        reach.isEmpty() ? -1 : reach.get(reach.size() - 1), count - missed, count,
        copies.get(0), count - count / 2, steady);
    return t;
  }

  private long crashes(long t, int count) {
    List<Long> suspectDelays = new ArrayList<>();
    List<Long> replaceDelays = new ArrayList<>();
    List<Long> deadDelays = new ArrayList<>();
    int neighbours = 0;
    int unreplaced = 0;
    List<List<Integer>> plansHolders = new ArrayList<>();
    long base = t;
    List<int[]> plans = new ArrayList<>();
    Set<Integer> chosen = new HashSet<>();
    while (chosen.size() < count) {
      int victim = liveNode();
      if (chosen.add(victim)) {
        plans.add(new int[] {victim});
      }
    }
    for (int k = 0; k < count; k++) {
      int victim = plans.get(k)[0];
      t = base + k * 1_000L;
      sim.runUntil(t);
      List<Integer> holders = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if (sim.status(i) == OverlaySim.Status.UP) {
          for (int j : sim.activeView(i)) {
            if (j == victim) {
              holders.add(i);
            }
          }
        }
      }
      long crashAt = t;
      int sFrom = suspectedEvents.size();
      int dFrom = deadEvents.size();
      int uFrom = upEvents.size();
      int downFrom = downEvents.size();
      sim.crash(victim, crashAt);
      plans.set(k, new int[] {victim, (int) crashAt, sFrom, dFrom, uFrom, downFrom});
      plansHolders.add(holders);
    }
    t = base + count * 1_000L + 15_000;
    sim.runUntil(t);
    for (int k = 0; k < count; k++) {
      int victim = plans.get(k)[0];
      long crashAt = plans.get(k)[1];
      int sFrom = plans.get(k)[2];
      int uFrom = plans.get(k)[4];
      int downFrom = plans.get(k)[5];
      List<Integer> holders = plansHolders.get(k);
      for (int h : holders) {
        neighbours++;
        long suspected = first(suspectedEvents, sFrom, h, victim);
        if (suspected >= 0) {
          suspectDelays.add(suspected - crashAt);
        }
        long down = first(downEvents, downFrom, h, victim);
        long up = -1;
        if (down >= 0) {
          for (int e = uFrom; e < upEvents.size(); e++) {
            long[] ev = upEvents.get(e);
            if (ev[1] == h && ev[0] >= down) {
              up = ev[0];
              break;
            }
          }
        }
        if (up >= 0) {
          replaceDelays.add(up - crashAt);
        } else {
          unreplaced++;
        }
      }
    }
    t += 30_000;
    sim.runUntil(t);
    for (int k = 0; k < count; k++) {
      int victim = plans.get(k)[0];
      long crashAt = plans.get(k)[1];
      int dFrom = plans.get(k)[3];
      for (int h : plansHolders.get(k)) {
        long dead = first(deadEvents, dFrom, h, victim);
        if (dead >= 0) {
          deadDelays.add(dead - crashAt);
        }
      }
    }
    System.out.printf(Locale.ROOT, "crash of an active neighbour (%d crashes, %d neighbours): "
        + "suspected after median %d ms, max %d ms (%d of %d suspected); replaced after median "
        + "%d ms, max %d ms (%d not replaced within 15 s); declared dead after median %d ms, "
        + "max %d ms%n", count, neighbours, pct(suspectDelays, 50), pct(suspectDelays, 100),
        suspectDelays.size(), neighbours, pct(replaceDelays, 50), pct(replaceDelays, 100),
        unreplaced, pct(deadDelays, 50), pct(deadDelays, 100));
    return t;
  }

  private long pauses(long t, int count, long duration) {
    Set<Integer> paused = new HashSet<>();
    int dFrom = deadEvents.size();
    int sFrom = suspectedEvents.size();
    for (int k = 0; k < count; k++) {
      int v = liveNode();
      paused.add(v);
      sim.pause(v, t + k * 1_000L, duration);
    }
    t += count * 1_000L + 40_000;
    sim.runUntil(t);
    int falseDeaths = 0;
    int suspicions = 0;
    for (int e = dFrom; e < deadEvents.size(); e++) {
      if (paused.contains((int) deadEvents.get(e)[2])) {
        falseDeaths++;
      }
    }
    for (int e = sFrom; e < suspectedEvents.size(); e++) {
      if (paused.contains((int) suspectedEvents.get(e)[2])) {
        suspicions++;
      }
    }
    System.out.printf(Locale.ROOT, "pauses of %d ms on %d nodes: %d suspicions of paused nodes, "
        + "%d false deaths%n", duration, count, suspicions, falseDeaths);
    return t;
  }

  private long lossWithoutDeaths(long t, double loss, long duration) {
    int dFrom = deadEvents.size();
    int sFrom = suspectedEvents.size();
    sim.network().loss(loss);
    t += duration;
    sim.runUntil(t);
    sim.network().loss(0);
    int falseDeaths = 0;
    for (int e = dFrom; e < deadEvents.size(); e++) {
      if (sim.status((int) deadEvents.get(e)[2]) == OverlaySim.Status.UP) {
        falseDeaths++;
      }
    }
    System.out.printf(Locale.ROOT, "%.0f%% loss on every message for %d s: %d suspicions, %d "
        + "false deaths (dead events about live nodes)%n", loss * 100, duration / 1000,
        suspectedEvents.size() - sFrom, falseDeaths);
    t += 10_000;
    sim.runUntil(t);
    graph("after loss");
    return t;
  }

  private void massFailure(long t, double fraction) {
    List<Integer> live = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (sim.status(i) == OverlaySim.Status.UP) {
        live.add(i);
      }
    }
    int kill = (int) Math.round(live.size() * fraction);
    BitSet killed = new BitSet();
    while (killed.cardinality() < kill) {
      killed.set(live.get(pick.nextInt(live.size())));
    }
    for (int i = killed.nextSetBit(0); i >= 0; i = killed.nextSetBit(i + 1)) {
      sim.crash(i, t);
    }
    sim.runUntil(t + 1);
    graph("just after " + Math.round(fraction * 100) + "% crashed");
    for (long after : new long[] {5_000, 15_000, 30_000}) {
      sim.runUntil(t + after);
      graph(after / 1000 + " s after " + Math.round(fraction * 100) + "% crashed");
    }
    broadcasts("after mass failure", t + 30_000, 5);
    System.out.printf(Locale.ROOT, "events processed %d, messages sent %d, bytes sent %d "
        + "(%.0f bytes per node per simulated second)%n", sim.eventsProcessed(),
        sim.totalMessagesSent(), sim.totalBytesSent(),
        sim.totalBytesSent() / (double) n / (sim.now() / 1000.0));
  }

  private static long first(List<long[]> events, int from, int node, int peer) {
    for (int e = from; e < events.size(); e++) {
      long[] ev = events.get(e);
      if (ev[1] == node && ev[2] == peer) {
        return ev[0];
      }
    }
    return -1;
  }

  private static long pct(List<Long> values, int p) {
    if (values.isEmpty()) {
      return -1;
    }
    List<Long> s = new ArrayList<>(values);
    s.sort(null);
    int i = Math.min(s.size() - 1, (int) Math.ceil(p / 100.0 * s.size()) - 1);
    return s.get(Math.max(0, i));
  }

  private int liveNode() {
    while (true) {
      int i = pick.nextInt(n);
      if (sim.status(i) == OverlaySim.Status.UP) {
        return i;
      }
    }
  }

  private int liveCount() {
    int c = 0;
    for (int i = 0; i < n; i++) {
      if (sim.status(i) == OverlaySim.Status.UP || sim.status(i) == OverlaySim.Status.PAUSED) {
        c++;
      }
    }
    return c;
  }
}
