package dev.mycelium.sim.scenario;

import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * {@code slow-nodes}: a minority of nodes pauses (as in a long GC pause, or SIGSTOP then
 * SIGCONT on real nodes), loses messages and processes slowly where the substrate can slow a
 * node, while a few other nodes really crash. A failure detector must tell the two apart: no
 * false deaths within the stated limits, and quick detection of the real crashes (SWIM, Das,
 * Gupta and Motivala, DSN 2002, with Lifeguard's local health and suspicion timeouts, Dadgar,
 * Phillips and Currey, 2018). On real nodes the verdicts are read by polling the nodes, so a
 * time is that of the first poll that showed it.
 */
final class SlowNodesScenario implements ClusterScenario {
  /** False death verdicts listed one by one, at most. */
  private static final int LISTED = 20;

  @Override
  public void run(Cluster c) {
    ScenarioContext ctx = c.ctx();
    var conf = ctx.config().getConfig("slow-nodes");
    double share = conf.getDouble("minority");
    long pause = conf.getLong("pause-ms");
    double minorityLoss = conf.getDouble("minority-loss");
    long slowMs = conf.getLong("slow-per-message-ms");
    long window = conf.getLong("window-ms");
    int crashes = conf.getInt("crashes");
    long observe = conf.getLong("observe-ms");
    int n = ctx.nodes();
    int size = Math.max(1, (int) Math.round(share * n));
    if (size + crashes > n - 2) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "slow-nodes on %d nodes: "
          + "the minority (%d) and the crashes (%d) leave fewer than 2 healthy observers; lower "
          + "slow-nodes.minority or slow-nodes.crashes, or raise --nodes", n, size, crashes));
    }
    if (!c.simulated() && pause > window) {
      throw new IllegalArgumentException("slow-nodes.pause-ms (" + pause + ") must not be "
          + "longer than slow-nodes.window-ms (" + window + ") on real nodes: a node still "
          + "frozen when the window ends cannot take back its loss");
    }
    c.fresh();
    long t0 = c.now();
    c.recordVerdicts();
    SplittableRandom pick = ctx.random("minority");
    BitSet minority = new BitSet();
    while (minority.cardinality() < size) {
      minority.set(pick.nextInt(n));
    }
    boolean slowed = true;
    int k = 0;
    for (int i = minority.nextSetBit(0); i >= 0; i = minority.nextSetBit(i + 1), k++) {
      c.nodeLoss(i, minorityLoss);
      c.pause(i, t0 + pick.nextLong(Math.max(1, window - pause)), pause);
      if (k % 2 == 0 && slowMs > 0) {
        slowed &= c.slow(i, t0, slowMs, window);
      }
    }
    BitSet crashed = new BitSet();
    List<Integer> victims = new ArrayList<>();
    List<Long> crashedAt = new ArrayList<>();
    List<int[]> holdersOf = new ArrayList<>();
    while (crashed.cardinality() < crashes) {
      int v = pick.nextInt(n);
      if (!minority.get(v) && !crashed.get(v)) {
        crashed.set(v);
        long at = t0 + 2_000 + victims.size() * (window / Math.max(1, crashes));
        int idx = victims.size();
        victims.add(v);
        crashedAt.add(at);
        holdersOf.add(null);
        // Real nodes may come to the crash a little late; detection counts from when it came.
        c.at(at, () -> {
          holdersOf.set(idx, c.activeHolders(v));
          crashedAt.set(idx, c.now());
        });
        c.crash(v, at);
      }
    }
    c.runUntil(t0 + window, "faults");
    for (int i = minority.nextSetBit(0); i >= 0; i = minority.nextSetBit(i + 1)) {
      c.nodeLoss(i, 0);
    }
    c.runUntil(t0 + window + observe, "observing");

    List<Metrics.Verdict> suspected = c.verdicts(Cluster.Opinion.SUSPECTED).orElseThrow();
    List<Metrics.Verdict> dead = c.verdicts(Cluster.Opinion.DEAD).orElseThrow();
    List<Metrics.Verdict> down = c.verdicts(Cluster.Opinion.LEFT_VIEW).orElseThrow();
    List<Metrics.Verdict> up = c.verdicts(Cluster.Opinion.ENTERED_VIEW).orElseThrow();
    Optional<List<Metrics.Verdict>> linkLost = c.verdicts(Cluster.Opinion.LINK_LOST);
    int falseDeaths = 0;
    int falseDeathsMinority = 0;
    BitSet falselyDead = new BitSet();
    List<Map<String, Object>> falseDeathList = new ArrayList<>();
    for (Metrics.Verdict d : dead) {
      if (d.time() >= t0 && d.peer() >= 0 && !crashed.get(d.peer())) {
        falseDeaths++;
        if (minority.get(d.peer())) {
          falseDeathsMinority++;
        }
        falselyDead.set(d.peer());
        if (falseDeathList.size() < LISTED) {
          falseDeathList.add(Report.row("observer", d.node(), "declared dead", d.peer(),
              "in the minority", minority.get(d.peer()), "at s", (d.time() - t0) / 1000.0));
        }
      }
    }
    long suspicionsOfMinority = suspected.stream()
        .filter(s -> s.time() >= t0 && s.peer() >= 0 && minority.get(s.peer())).count();
    Object refutations = c.verdicts(Cluster.Opinion.REFUTED)
        .<Object>map(r -> r.stream().filter(s -> s.time() >= t0).count())
        .orElse("not seen on this substrate");
    List<Long> suspect = new ArrayList<>();
    List<Long> declared = new ArrayList<>();
    List<Long> replaced = new ArrayList<>();
    List<Long> removed = new ArrayList<>();
    List<Long> noticed = new ArrayList<>();
    List<Long> anyNoticed = new ArrayList<>();
    List<Long> anySuspect = new ArrayList<>();
    List<Long> anyDead = new ArrayList<>();
    int pairs = 0;
    int impairedHolders = 0;
    int unsuspected = 0;
    int unreplaced = 0;
    for (int p = 0; p < victims.size(); p++) {
      int v = victims.get(p);
      long at = crashedAt.get(p);
      long firstNoticed = -1;
      for (int h : holdersOf.get(p)) {
        long s = first(suspected, h, v, at);
        long left = first(down, h, v, at);
        long w = earliest(earliest(s, left),
            linkLost.map(l -> first(l, h, v, at)).orElse(-1L));
        if (!crashed.get(h)) {
          firstNoticed = earliest(firstNoticed, w);
        }
        if (minority.get(h)) {
          // A holder that is itself paused, lossy or slow detects late by design; the
          // detection targets are about healthy observers.
          impairedHolders++;
          continue;
        }
        pairs++;
        long d = first(dead, h, v, at);
        long back = -1;
        if (left >= 0) {
          for (Metrics.Verdict u : up) {
            if (u.node() == h && u.time() >= left) {
              back = u.time();
              break;
            }
          }
          removed.add(left - at);
        }
        if (s >= 0) {
          suspect.add(s - at);
        } else {
          unsuspected++;
        }
        if (d >= 0) {
          declared.add(d - at);
        }
        if (back >= 0) {
          replaced.add(back - at);
        } else {
          unreplaced++;
        }
        if (w >= 0) {
          noticed.add(w - at);
        }
      }
      addSince(anyNoticed, firstNoticed, at);
      addSince(anySuspect, firstBySurvivor(suspected, v, at, crashed), at);
      addSince(anyDead, firstBySurvivor(dead, v, at, crashed), at);
    }
    long probe = ctx.overlay().probeIntervalMillis();
    ctx.report().put("limits", Report.row("minority nodes", size, "pause ms", pause,
        "loss on minority", minorityLoss, "slow processing ms per message (half the minority)",
        slowed ? (Object) slowMs : "not on this substrate", "window ms", window, "real crashes",
        crashes, "probe interval ms", probe, "observe ms", observe));
    ctx.report().put("false deaths", Report.row("dead verdicts about live nodes", falseDeaths,
        "of which about the minority", falseDeathsMinority, "suspicions of minority nodes",
        suspicionsOfMinority, "refutations", refutations, "nodes never crashed declared dead",
        falselyDead.cardinality()));
    if (!falseDeathList.isEmpty()) {
      ctx.report().put("false death verdicts", falseDeathList);
    }
    ctx.report().put("detection of real crashes", Report.row(
        "neighbour pairs (healthy holders)", pairs,
        "holders in the impaired minority (left out)", impairedHolders,
        "suspected: median ms", pct(suspect, 50), "suspected: p95 ms", pct(suspect, 95),
        "suspected: max ms", pct(suspect, 100), "never suspected", unsuspected,
        "declared dead: median ms", pct(declared, 50), "declared dead: max ms",
        pct(declared, 100), "replaced: median ms", pct(replaced, 50), "replaced: max ms",
        pct(replaced, 100), "not replaced", unreplaced,
        "removed from the active view: median ms", pct(removed, 50),
        "removed from the active view: max ms", pct(removed, 100),
        "noticed: median ms", pct(noticed, 50), "noticed: max ms", pct(noticed, 100),
        "crashes", victims.size(),
        "first noticed by a neighbour: median ms", pct(anyNoticed, 50),
        "first noticed by a neighbour: max ms", pct(anyNoticed, 100),
        "never noticed", victims.size() - anyNoticed.size(),
        "first suspected by anyone: median ms", pct(anySuspect, 50),
        "first suspected by anyone: max ms", pct(anySuspect, 100),
        "never suspected by anyone", victims.size() - anySuspect.size(),
        "first declared dead by anyone: median ms", pct(anyDead, 50),
        "first declared dead by anyone: max ms", pct(anyDead, 100),
        "never declared dead by anyone", victims.size() - anyDead.size()));
    List<Plot.Series> curves = new ArrayList<>(List.of(cdf("suspected", suspect),
        cdf("declared dead", declared), cdf("replaced in the active view", replaced),
        cdf("removed from the active view", removed)));
    if (linkLost.isPresent()) {
      curves.add(cdf("noticed (suspected, or link lost)", noticed));
    }
    ctx.report().plot(new Plot("detection-times.png", "Detection of real crashes by their "
        + "active neighbours (cumulative share)", "ms after the crash", "share of neighbour "
        + "pairs", false, false, curves));
    ctx.report().finding(String.format(Locale.ROOT, "False deaths: %d (target 0 with pauses of %d "
        + "ms and %.0f%% loss on %d nodes: %s).", falseDeaths, pause, minorityLoss * 100, size,
        falseDeaths == 0 ? "met" : "missed"));
    String suspicion = suspect.isEmpty()
        ? String.format(Locale.ROOT, "No healthy neighbour of the %d real crashes suspected it "
            + "(target: within 2 probe periods, %d ms: missed)", victims.size(), 2 * probe)
        : String.format(Locale.ROOT, "Real crashes were suspected after median %d ms, at most "
            + "%d ms (target: within 2 probe periods, %d ms: %s)", pct(suspect, 50),
            pct(suspect, 100), 2 * probe,
            unsuspected == 0 && pct(suspect, 100) <= 2 * probe ? "met" : "missed");
    ctx.report().finding(String.format(Locale.ROOT, "%s; replaced after at most %d ms (target "
        + "5000 ms: %s).", suspicion, pct(replaced, 100),
        unreplaced == 0 && pct(replaced, 100) <= 5_000 ? "met" : "missed"));
    if (linkLost.isPresent()) {
      ctx.report().finding(String.format(Locale.ROOT, "The healthy active neighbours of the "
          + "crashed nodes noticed them (suspected them, or lost the link) after median %d ms, "
          + "at most %d ms (%d of %d neighbour pairs; %d crash(es) noticed by no neighbour). A "
          + "crashed process's TCP links close at once, so its neighbours lose the link and "
          + "HyParView demotes it from the active view before SWIM's probes can suspect it: "
          + "the failure detector's SUSPECT and DEAD verdicts matter for frozen processes, "
          + "whose links stay open.", pct(noticed, 50), pct(noticed, 100), noticed.size(),
          pairs, victims.size() - anyNoticed.size()));
    }
    if (!slowed) {
      ctx.report().finding("Processing was not slowed per message (slow-per-message-ms): a "
          + "real node process has no hook between frames to delay, and a CPU-starving load "
          + "would slow every process on the host, not one. Only the pauses (SIGSTOP, then "
          + "SIGCONT) and the loss (the fault API drops the frames a minority node receives; "
          + "frames it sends are not dropped) were applied.");
    }
    c.traffic("");
  }

  private static long first(List<Metrics.Verdict> vs, int node, int peer, long from) {
    for (Metrics.Verdict v : vs) {
      if (v.time() >= from && v.node() == node && v.peer() == peer) {
        return v.time();
      }
    }
    return -1;
  }

  /** The first verdict about {@code peer} from {@code from} on by a node that never crashed. */
  private static long firstBySurvivor(List<Metrics.Verdict> vs, int peer, long from,
      BitSet crashed) {
    for (Metrics.Verdict v : vs) {
      if (v.time() >= from && v.peer() == peer && !crashed.get(v.node())) {
        return v.time();
      }
    }
    return -1;
  }

  /** The earlier of two times, where -1 is never. */
  private static long earliest(long a, long b) {
    return a < 0 ? b : b < 0 ? a : Math.min(a, b);
  }

  private static void addSince(List<Long> to, long time, long since) {
    if (time >= 0) {
      to.add(time - since);
    }
  }

  private static long pct(List<Long> values, int p) {
    return ScenarioContext.percentile(values, p);
  }

  private static Plot.Series cdf(String name, List<Long> values) {
    long[] s = values.stream().mapToLong(Long::longValue).sorted().toArray();
    double[] x = Arrays.stream(s).asDoubleStream().toArray();
    double[] y = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      y[i] = (i + 1) / (double) s.length;
    }
    return new Plot.Series(name, x, y, true);
  }
}
