package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code slow-nodes} on real nodes: a minority of processes is frozen with SIGSTOP for
 * {@code pause-ms} (a long GC pause or a suspended laptop, then SIGCONT) and loses a share of
 * the frames it receives through the fault API, while a few other processes are SIGKILLed. The
 * failure detector (SWIM, Das, Gupta and Motivala, DSN 2002, with Lifeguard's local health and
 * suspicion timeouts, Dadgar, Phillips and Currey, 2018) must tell the two apart: no node that
 * was never killed may be declared dead, and every real crash must be suspected quickly.
 *
 * <p>Unlike the simulated form, which records every verdict as it happens, real mode sees the
 * detectors only through each node's {@code GET /v1/peers}, polled every {@code real.poll-ms}:
 * a state held for less than one poll can be missed, and every time is rounded up to a poll.
 */
final class RealSlowNodes implements RealScenario {
  private static final int LISTED = 20;

  /** A pause, resume or kill, at a wall time. */
  private record Event(long at, int node, String what) {}

  /** What one observer reported about one peer at one poll. */
  private record Seen(long at, String state, boolean active) {}

  @Override
  public void run(RealContext ctx) {
    var c = ctx.config().getConfig("slow-nodes");
    double share = c.getDouble("minority");
    long pause = c.getLong("pause-ms");
    double minorityLoss = c.getDouble("minority-loss");
    long slowMs = c.getLong("slow-per-message-ms");
    long window = c.getLong("window-ms");
    int crashes = c.getInt("crashes");
    long observe = c.getLong("observe-ms");
    long poll = ctx.config().getLong("real.poll-ms");
    int n = ctx.nodes();
    int size = Math.max(1, (int) Math.round(share * n));
    if (size + crashes > n - 2) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "slow-nodes on %d real "
          + "nodes: the minority (%d) and the crashes (%d) leave fewer than 2 healthy "
          + "observers; lower slow-nodes.minority or slow-nodes.crashes, or raise --nodes", n,
          size, crashes));
    }
    if (pause > window) {
      throw new IllegalArgumentException("slow-nodes.pause-ms (" + pause + ") must not be "
          + "longer than slow-nodes.window-ms (" + window + "): every paused node is "
          + "continued within the window");
    }
    RealNetwork net = ctx.net();
    ctx.grow();
    long t0 = net.millis();
    SplittableRandom pick = ctx.random("minority");
    BitSet minority = new BitSet();
    while (minority.cardinality() < size) {
      minority.set(pick.nextInt(n));
    }
    PriorityQueue<Event> events = new PriorityQueue<>(Comparator.comparingLong(Event::at));
    for (int i = minority.nextSetBit(0); i >= 0; i = minority.nextSetBit(i + 1)) {
      if (minorityLoss > 0) {
        net.loss(i, minorityLoss, ctx.config().getLong("seed") + i);
      }
      long at = t0 + pick.nextLong(Math.max(1, window - pause));
      events.add(new Event(at, i, "pause"));
      events.add(new Event(at + pause, i, "resume"));
    }
    BitSet crashed = new BitSet();
    List<Integer> victims = new ArrayList<>();
    while (crashed.cardinality() < crashes) {
      int v = pick.nextInt(n);
      if (!minority.get(v) && !crashed.get(v)) {
        crashed.set(v);
        long at = t0 + 2_000 + victims.size() * (window / Math.max(1, crashes));
        events.add(new Event(at, v, "kill"));
        victims.add(v);
      }
    }

    // Per observer and peer, the last report seen; the first sightings that matter are kept.
    Map<Long, Seen> last = new HashMap<>();
    Map<Integer, Long> killedAt = new HashMap<>();
    Map<Integer, Set<Integer>> holdersAtKill = new HashMap<>();
    Map<Long, Long> firstSuspect = new HashMap<>();
    Map<Long, Long> firstDead = new HashMap<>();
    Map<Long, Long> firstRemoved = new HashMap<>();
    Map<Long, Long> firstNoticed = new HashMap<>();
    Set<Long> falseDeathPairs = new LinkedHashSet<>();
    List<Map<String, Object>> falseDeathList = new ArrayList<>();
    Set<Long> minoritySuspicions = new HashSet<>();
    boolean lossOn = minorityLoss > 0;
    long end = t0 + window + observe;
    while (net.millis() < end) {
      while (!events.isEmpty() && events.peek().at() <= net.millis()) {
        Event e = events.poll();
        switch (e.what()) {
          case "pause" -> net.pause(e.node());
          case "resume" -> net.resume(e.node());
          default -> {
            Set<Integer> holders = new HashSet<>();
            for (var entry : last.entrySet()) {
              if (peer(entry.getKey()) == e.node() && entry.getValue().active()) {
                holders.add(observer(entry.getKey()));
              }
            }
            net.kill(e.node());
            killedAt.put(e.node(), net.millis());
            holdersAtKill.put(e.node(), holders);
          }
        }
      }
      if (lossOn && net.millis() >= t0 + window) {
        for (int i = minority.nextSetBit(0); i >= 0; i = minority.nextSetBit(i + 1)) {
          if (net.answers(i)) {
            net.loss(i, 0, 0);
          }
        }
        lossOn = false;
      }
      BitSet up = net.up();
      for (int o = up.nextSetBit(0); o >= 0; o = up.nextSetBit(o + 1)) {
        if (!net.answers(o)) {
          continue;
        }
        JsonNode peers;
        try {
          peers = net.api(o).get("/v1/peers").path("peers");
        } catch (CliException e) {
          continue;
        }
        long now = net.millis();
        Set<Integer> listed = new HashSet<>();
        for (JsonNode p : peers) {
          int j = net.indexOf(p.path("node_id").asText());
          if (j < 0) {
            continue;
          }
          listed.add(j);
          String state = p.path("state").isNull() ? "" : p.path("state").asText();
          boolean active = "ACTIVE".equals(p.path("view").asText());
          long key = key(o, j);
          last.put(key, new Seen(now, state, active));
          if ("DEAD".equals(state) && !crashed.get(j) && falseDeathPairs.add(key)) {
            falseDeathList.add(Report.row("observer", o, "reported DEAD", j, "in the minority",
                minority.get(j), "at s", (now - t0) / 1000.0));
          }
          if ("SUSPECT".equals(state) && minority.get(j)) {
            minoritySuspicions.add(key);
          }
          if (killedAt.containsKey(j)) {
            if ("SUSPECT".equals(state) || "DEAD".equals(state)) {
              firstSuspect.putIfAbsent(key, now);
            }
            if ("DEAD".equals(state)) {
              firstDead.putIfAbsent(key, now);
            }
            if (!active) {
              firstRemoved.putIfAbsent(key, now);
            }
            if (!active || !p.path("connected").asBoolean() || "SUSPECT".equals(state)
                || "DEAD".equals(state)) {
              firstNoticed.putIfAbsent(key, now);
            }
          }
        }
        for (int v : killedAt.keySet()) {
          if (!listed.contains(v)) {
            firstRemoved.putIfAbsent(key(o, v), now);
            firstNoticed.putIfAbsent(key(o, v), now);
          }
        }
      }
      long wait = Math.min(poll, end - net.millis());
      if (wait > 0) {
        ctx.sleep(wait, net.millis() < t0 + window ? "faults" : "observing");
      }
    }

    // Any live observer: the first poll at which anyone suspected (or declared dead) the crash.
    List<Long> anySuspect = new ArrayList<>();
    List<Long> anyDead = new ArrayList<>();
    List<Long> anyNoticed = new ArrayList<>();
    int neverSuspected = 0;
    int neverNoticed = 0;
    // Each healthy node that had the victim in its active view when it was killed.
    List<Long> suspect = new ArrayList<>();
    List<Long> dead = new ArrayList<>();
    List<Long> removed = new ArrayList<>();
    List<Long> noticed = new ArrayList<>();
    int pairs = 0;
    int impairedHolders = 0;
    int pairsUnsuspected = 0;
    for (int v : victims) {
      Long at = killedAt.get(v);
      if (at == null) {
        continue;
      }
      long s = Long.MAX_VALUE;
      long d = Long.MAX_VALUE;
      long w = Long.MAX_VALUE;
      for (int o = 0; o < net.size(); o++) {
        if (crashed.get(o)) {
          continue;
        }
        s = Math.min(s, firstSuspect.getOrDefault(key(o, v), Long.MAX_VALUE));
        d = Math.min(d, firstDead.getOrDefault(key(o, v), Long.MAX_VALUE));
        if (holdersAtKill.get(v).contains(o)) {
          w = Math.min(w, firstNoticed.getOrDefault(key(o, v), Long.MAX_VALUE));
        }
      }
      if (w < Long.MAX_VALUE) {
        anyNoticed.add(w - at);
      } else {
        neverNoticed++;
      }
      if (s < Long.MAX_VALUE) {
        anySuspect.add(s - at);
      } else {
        neverSuspected++;
      }
      if (d < Long.MAX_VALUE) {
        anyDead.add(d - at);
      }
      for (int h : holdersAtKill.get(v)) {
        if (crashed.get(h)) {
          continue;
        }
        if (minority.get(h)) {
          impairedHolders++;
          continue;
        }
        pairs++;
        Long hs = firstSuspect.get(key(h, v));
        if (hs != null) {
          suspect.add(hs - at);
        } else {
          pairsUnsuspected++;
        }
        Long hd = firstDead.get(key(h, v));
        if (hd != null) {
          dead.add(hd - at);
        }
        Long hn = firstNoticed.get(key(h, v));
        if (hn != null) {
          noticed.add(hn - at);
        }
        Long hr = firstRemoved.get(key(h, v));
        if (hr != null) {
          removed.add(hr - at);
        }
      }
    }
    int falseDeathNodes = (int) falseDeathPairs.stream().mapToInt(RealSlowNodes::peer).distinct()
        .count();
    long falseDeathMinority = falseDeathPairs.stream().mapToInt(RealSlowNodes::peer)
        .distinct().filter(minority::get).count();
    Report report = ctx.report();
    report.put("limits", Report.row("minority nodes", size, "pause ms (SIGSTOP)", pause,
        "loss on minority (inbound frames)", minorityLoss,
        "slow processing ms per message", "not on real nodes", "window ms", window,
        "real crashes (SIGKILL)", crashes, "observe ms", observe, "poll ms", poll));
    report.put("false deaths", Report.row("nodes never killed reported DEAD", falseDeathNodes,
        "of which in the minority", falseDeathMinority, "observer-peer pairs with a DEAD "
        + "verdict about a live node", falseDeathPairs.size(), "observer-peer pairs that "
        + "suspected a minority node", minoritySuspicions.size()));
    if (!falseDeathList.isEmpty()) {
      report.put("false death verdicts", falseDeathList.subList(0,
          Math.min(LISTED, falseDeathList.size())));
    }
    report.put("detection of real crashes", Report.row(
        "crashes", killedAt.size(),
        "first noticed by a neighbour: median ms", pct(anyNoticed, 50),
        "first noticed by a neighbour: max ms", pct(anyNoticed, 100),
        "never noticed", neverNoticed,
        "first suspected by anyone: median ms", pct(anySuspect, 50),
        "first suspected by anyone: max ms", pct(anySuspect, 100),
        "never suspected by anyone", neverSuspected,
        "first declared dead by anyone: median ms", pct(anyDead, 50),
        "first declared dead by anyone: max ms", pct(anyDead, 100),
        "not declared dead within observe ms", killedAt.size() - anyDead.size(),
        "neighbour pairs (healthy holders)", pairs,
        "holders in the impaired minority (left out)", impairedHolders,
        "suspected: median ms", pct(suspect, 50), "suspected: max ms", pct(suspect, 100),
        "never suspected", pairsUnsuspected,
        "declared dead: median ms", pct(dead, 50), "declared dead: max ms", pct(dead, 100),
        "removed from the active view: median ms", pct(removed, 50),
        "removed from the active view: max ms", pct(removed, 100)));
    report.plot(new Plot("detection-times.png", "Detection of real crashes (SIGKILL) by their "
        + "active neighbours, real nodes polled every " + poll + " ms (cumulative share)",
        "ms after the kill", "share of neighbour pairs", false, false, List.of(
            cdf("noticed (suspected, or link lost)", noticed), cdf("suspected", suspect),
            cdf("declared dead", dead),
            cdf("removed from the active view", removed))));
    report.finding(String.format(Locale.ROOT, "False deaths: %d node(s) that were never killed "
        + "were reported DEAD (%d observer-peer pairs; target 0 with SIGSTOP pauses of %d ms "
        + "and %.0f%% inbound loss on %d nodes: %s).", falseDeathNodes, falseDeathPairs.size(),
        pause, minorityLoss * 100, size, falseDeathNodes == 0 ? "met" : "missed"));
    if (anySuspect.isEmpty() && anyDead.isEmpty()) {
      report.finding(String.format(Locale.ROOT, "None of the %d SIGKILLed node(s) was ever "
          + "reported SUSPECT or DEAD within %d ms (polled every %d ms).", killedAt.size(),
          observe, poll));
    } else {
      report.finding(String.format(Locale.ROOT, "The %d SIGKILLed node(s) were first "
          + "suspected by some live node after median %d ms, at most %d ms (%d never "
          + "suspected), and first declared dead after median %d ms, at most %d ms (%d not "
          + "within %d ms), measured from the kill to the first poll (every %d ms) that showed "
          + "it.", killedAt.size(), pct(anySuspect, 50), pct(anySuspect, 100), neverSuspected,
          pct(anyDead, 50), pct(anyDead, 100), killedAt.size() - anyDead.size(), observe,
          poll));
    }
    report.finding(String.format(Locale.ROOT, "The healthy active neighbours of the killed "
        + "nodes noticed them (suspected them, or lost the link) after median %d ms, at most "
        + "%d ms (%d of %d neighbour pairs; %d crash(es) noticed by no neighbour). On real "
        + "nodes a SIGKILL closes the process's TCP links at once, so its neighbours lose the "
        + "link and HyParView demotes it from the active view before SWIM's probes can "
        + "suspect it: the failure detector's SUSPECT "
        + "and DEAD verdicts matter for frozen processes (SIGSTOP), whose links stay open.",
        pct(noticed, 50), pct(noticed, 100), noticed.size(), pairs, neverNoticed));
    report.finding("Real mode cannot slow a node's processing per message "
        + "(slow-per-message-ms): a real process has no hook between frames to delay, and a "
        + "CPU-starving load would slow every process on the host, not one. Only the pauses "
        + "(SIGSTOP/SIGCONT) and the loss (the fault API drops inbound frames on the minority "
        + "node; frames it sends are not dropped) are real.");
    ctx.traffic("");
  }

  private static long key(int observer, int peer) {
    return ((long) observer << 32) | (peer & 0xffffffffL);
  }

  private static int observer(long key) {
    return (int) (key >>> 32);
  }

  private static int peer(long key) {
    return (int) key;
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
    double[] x = new double[s.length];
    double[] y = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      x[i] = s[i];
      y[i] = (i + 1) / (double) s.length;
    }
    return new Plot.Series(name, x, y, true);
  }
}
