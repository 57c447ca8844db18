package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code slow-nodes}: a minority of nodes pauses (as in a long GC pause), loses messages and
 * processes slowly, while a few other nodes really crash. A failure detector must tell the two
 * apart: no false deaths within the stated limits, and quick detection of the real crashes
 * (SWIM, Das, Gupta and Motivala, DSN 2002, with Lifeguard's local health and suspicion
 * timeouts, Dadgar, Phillips and Currey, 2018).
 */
final class SlowNodesScenario implements Scenario {
  @Override
  public void run(ScenarioContext ctx) {
    var c = ctx.config().getConfig("slow-nodes");
    double share = c.getDouble("minority");
    long pause = c.getLong("pause-ms");
    double minorityLoss = c.getDouble("minority-loss");
    long slowMs = c.getLong("slow-per-message-ms");
    long window = c.getLong("window-ms");
    int crashes = c.getInt("crashes");
    long observe = c.getLong("observe-ms");
    OverlaySim sim = ctx.newSim();
    Metrics m = new Metrics(sim);
    long t0 = ctx.grow(sim);
    SplittableRandom pick = ctx.random("minority");
    BitSet minority = new BitSet();
    int size = Math.max(1, (int) Math.round(share * ctx.nodes()));
    while (minority.cardinality() < size) {
      minority.set(pick.nextInt(ctx.nodes()));
    }
    int k = 0;
    for (int i = minority.nextSetBit(0); i >= 0; i = minority.nextSetBit(i + 1), k++) {
      sim.network().nodeLoss(i, minorityLoss);
      sim.pause(i, t0 + pick.nextLong(Math.max(1, window - pause)), pause);
      if (k % 2 == 0 && slowMs > 0) {
        sim.slow(i, t0, slowMs, window);
      }
    }
    BitSet crashed = new BitSet();
    List<long[]> plans = new ArrayList<>();
    List<int[]> holdersOf = new ArrayList<>();
    while (crashed.cardinality() < crashes) {
      int v = pick.nextInt(ctx.nodes());
      if (!minority.get(v) && !crashed.get(v)) {
        crashed.set(v);
        long at = t0 + 2_000 + plans.size() * (window / Math.max(1, crashes));
        plans.add(new long[] {v, at});
        holdersOf.add(null);
        int idx = plans.size() - 1;
        sim.at(at, () -> {
          List<Integer> h = new ArrayList<>();
          for (int i = 0; i < sim.size(); i++) {
            if (sim.isLive(i) && i != v) {
              for (int j : sim.activeView(i)) {
                if (j == v) {
                  h.add(i);
                }
              }
            }
          }
          holdersOf.set(idx, h.stream().mapToInt(Integer::intValue).toArray());
        });
        sim.crash(v, at);
      }
    }
    ctx.run(sim, t0 + window, "faults");
    for (int i = minority.nextSetBit(0); i >= 0; i = minority.nextSetBit(i + 1)) {
      sim.network().nodeLoss(i, 0);
    }
    ctx.run(sim, t0 + window + observe, "observing");

    int falseDeaths = 0;
    int falseDeathsMinority = 0;
    for (Metrics.Verdict d : m.dead) {
      if (d.time() >= t0 && d.peer() >= 0 && !crashed.get(d.peer())) {
        falseDeaths++;
        if (minority.get(d.peer())) {
          falseDeathsMinority++;
        }
      }
    }
    long suspicionsOfMinority = m.suspected.stream()
        .filter(s -> s.time() >= t0 && s.peer() >= 0 && minority.get(s.peer())).count();
    long refutations = m.refuted.stream().filter(s -> s.time() >= t0).count();
    List<Long> suspect = new ArrayList<>();
    List<Long> dead = new ArrayList<>();
    List<Long> replaced = new ArrayList<>();
    int pairs = 0;
    int impairedHolders = 0;
    int unsuspected = 0;
    int unreplaced = 0;
    for (int p = 0; p < plans.size(); p++) {
      int v = (int) plans.get(p)[0];
      long at = plans.get(p)[1];
      for (int h : holdersOf.get(p)) {
        if (minority.get(h)) {
          // A holder that is itself paused, lossy or slow detects late by design; the
          // detection targets are about healthy observers.
          impairedHolders++;
          continue;
        }
        pairs++;
        long s = first(m.suspected, h, v, at);
        long d = first(m.dead, h, v, at);
        long down = first(m.down, h, v, at);
        long up = -1;
        if (down >= 0) {
          for (Metrics.Verdict u : m.up) {
            if (u.node() == h && u.time() >= down) {
              up = u.time();
              break;
            }
          }
        }
        if (s >= 0) {
          suspect.add(s - at);
        } else {
          unsuspected++;
        }
        if (d >= 0) {
          dead.add(d - at);
        }
        if (up >= 0) {
          replaced.add(up - at);
        } else {
          unreplaced++;
        }
      }
    }
    long probe = sim.config().probeIntervalMillis();
    ctx.report().put("limits", Report.row("minority nodes", size, "pause ms", pause,
        "loss on minority", minorityLoss, "slow processing ms per message (half the minority)",
        slowMs, "window ms", window, "real crashes", crashes, "probe interval ms", probe));
    ctx.report().put("false deaths", Report.row("dead verdicts about live nodes", falseDeaths,
        "of which about the minority", falseDeathsMinority, "suspicions of minority nodes",
        suspicionsOfMinority, "refutations", refutations));
    ctx.report().put("detection of real crashes", Report.row(
        "neighbour pairs (healthy holders)", pairs,
        "holders in the impaired minority (left out)", impairedHolders,
        "suspected: median ms", pct(suspect, 50), "suspected: p95 ms", pct(suspect, 95),
        "suspected: max ms", pct(suspect, 100), "never suspected", unsuspected,
        "declared dead: median ms", pct(dead, 50), "declared dead: max ms", pct(dead, 100),
        "replaced: median ms", pct(replaced, 50), "replaced: max ms", pct(replaced, 100),
        "not replaced", unreplaced));
    ctx.report().plot(new Plot("detection-times.png", "Detection of real crashes by their "
        + "active neighbours (cumulative share)", "ms after the crash", "share of neighbour "
        + "pairs", false, false, List.of(cdf("suspected", suspect), cdf("declared dead", dead),
            cdf("replaced in the active view", replaced))));
    ctx.report().finding(String.format(Locale.ROOT, "False deaths: %d (target 0 with pauses of %d "
        + "ms and %.0f%% loss on %d nodes: %s).", falseDeaths, pause, minorityLoss * 100, size,
        falseDeaths == 0 ? "met" : "missed"));
    ctx.report().finding(String.format(Locale.ROOT, "Real crashes were suspected after median "
        + "%d ms, at most %d ms (target: within 2 probe periods, %d ms: %s); replaced after at "
        + "most %d ms (target 5000 ms: %s).", pct(suspect, 50), pct(suspect, 100), 2 * probe,
        unsuspected == 0 && pct(suspect, 100) <= 2 * probe ? "met" : "missed",
        pct(replaced, 100), unreplaced == 0 && pct(replaced, 100) <= 5_000 ? "met" : "missed"));
    ctx.traffic(m, "");
  }

  static long first(List<Metrics.Verdict> vs, int node, int peer, long from) {
    for (Metrics.Verdict v : vs) {
      if (v.time() >= from && v.node() == node && v.peer() == peer) {
        return v.time();
      }
    }
    return -1;
  }

  static long pct(List<Long> values, int p) {
    if (values.isEmpty()) {
      return -1;
    }
    long[] s = values.stream().mapToLong(Long::longValue).sorted().toArray();
    int i = Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1);
    return s[Math.max(0, i)];
  }

  static Plot.Series cdf(String name, List<Long> values) {
    long[] s = values.stream().mapToLong(Long::longValue).sorted().toArray();
    double[] x = Arrays.stream(s).asDoubleStream().toArray();
    double[] y = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      y[i] = (i + 1) / (double) s.length;
    }
    return new Plot.Series(name, x, y, true);
  }
}
