package dev.mycelium.sim.real;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code mass-failure} on real nodes: a share of the processes is SIGKILLed at once, as in the
 * experiments of Leitao, Pereira and Rodrigues, "HyParView: a membership protocol for reliable
 * gossip-based broadcast" (DSN 2007). Measured as on simulated nodes: components and the
 * largest one over time, time until the survivors' views hold only live nodes, and the
 * reliability of broadcasts sent right after the failure. Unlike the simulated form, one
 * network serves every fraction: the killed nodes are restarted on their files and rejoin
 * before the next fraction, which also exercises crash recovery.
 */
final class RealMassFailure implements RealScenario {
  @Override
  public void run(RealContext ctx) {
    var c = ctx.config().getConfig("mass-failure");
    double[] fractions = ctx.doubles("mass-failure.fractions");
    int count = c.getInt("broadcasts");
    long interval = c.getLong("broadcast-interval-ms");
    long horizon = c.getLong("heal-horizon-ms");
    long check = c.getLong("check-interval-ms");
    ctx.grow();
    RealNetwork net = ctx.net();
    List<Map<String, Object>> rows = new ArrayList<>();
    List<Map<String, Object>> perMessage = new ArrayList<>();
    List<Plot.Series> reliability = new ArrayList<>();
    List<Plot.Series> largest = new ArrayList<>();
    for (double f : fractions) {
      String pct = Math.round(f * 100) + "%";
      int[] order = net.views().graph().shuffledLive(ctx.random("crash " + f));
      int kill = (int) Math.round(order.length * f);
      if (kill >= order.length) {
        kill = order.length - 1;
      }
      BitSet killed = new BitSet();
      for (int k = 0; k < kill; k++) {
        killed.set(order[k]);
        net.kill(order[k]);
      }
      long t0 = net.millis();
      SplittableRandom origins = ctx.random("origins " + f);
      List<String> ids = new ArrayList<>();
      List<Long> sentAt = new ArrayList<>();
      List<Double> tx = new ArrayList<>();
      List<Double> ty = new ArrayList<>();
      long oneComponent = -1;
      long healed = -1;
      int componentsJustAfter = -1;
      double largestJustAfter = 0;
      long nextCheck = 0;
      while (true) {
        long dt = net.millis() - t0;
        if (ids.size() < count && dt >= ids.size() * interval) {
          int origin = liveNode(net, origins);
          ids.add(ctx.put(origin, ctx.text("after " + pct, 200), true));
          sentAt.add(dt);
          continue;
        }
        if (dt >= nextCheck) {
          RealNetwork.Views v = net.views();
          GraphStats g = v.graph();
          List<Integer> comps = g.componentSizes();
          double share = comps.isEmpty() ? 0 : comps.get(0) / (double) g.liveNodes();
          if (componentsJustAfter < 0) {
            componentsJustAfter = comps.size();
            largestJustAfter = share;
          }
          tx.add(dt / 1000.0);
          ty.add(share);
          if (oneComponent < 0 && comps.size() == 1) {
            oneComponent = dt;
          }
          if (healed < 0 && comps.size() == 1 && v.staleEntries() == 0) {
            healed = dt;
          }
          nextCheck += check;
        }
        if (dt >= horizon && ids.size() >= count) {
          break;
        }
        ctx.sleep(Math.min(100, Math.max(1, Math.min(nextCheck, horizon) - dt)),
            "healing " + pct);
      }
      BitSet up = net.up();
      int live = up.cardinality();
      double[] rel = new double[count];
      double[] bx = new double[count];
      for (int b = 0; b < count; b++) {
        rel[b] = reached(ctx, up, ids.get(b)) / (double) live;
        bx[b] = b + 1;
        perMessage.add(Report.row("failed", f, "message", b + 1, "sent at ms", sentAt.get(b),
            "reliability", rel[b]));
      }
      String after = ctx.put(liveNode(net, origins), ctx.text("healed " + pct, 200), true);
      ctx.waitFor(() -> reached(ctx, up, after) == live, 10_000, "after healing " + pct);
      double afterRel = reached(ctx, up, after) / (double) live;
      GraphStats g = net.graph();
      long back = rejoin(ctx, killed, horizon);
      rows.add(Report.row(
          "failed", f,
          "crashed", kill,
          "survivors", live,
          "components just after", componentsJustAfter,
          "largest share just after", largestJustAfter,
          "one component after ms", oneComponent,
          "views healed after ms", healed,
          "first message reliability", rel[0],
          "mean reliability", Arrays.stream(rel).average().orElse(0),
          "reliability after healing", afterRel,
          "components at end", g.componentSizes().size(),
          "clustering at end", g.clusteringCoefficient(),
          "mean path at end", g.meanPathLength(50, ctx.random("path")),
          "all rejoined after restart ms", back));
      reliability.add(new Plot.Series(pct + " failed", bx, rel, true));
      largest.add(new Plot.Series(pct + " failed",
          tx.stream().mapToDouble(Double::doubleValue).toArray(),
          ty.stream().mapToDouble(Double::doubleValue).toArray(), true));
      ctx.report().finding(String.format(Locale.ROOT, "%s of the real nodes SIGKILLed at once:"
          + " the %d survivors were %s just after; one component after %s; views free of "
          + "dead nodes after %s; the first broadcast after the failure reached %.1f%% of "
          + "survivors, mean over %d broadcasts %.1f%%.", pct, live, componentsJustAfter == 1
              ? "one component" : componentsJustAfter + " components", ms(oneComponent),
          ms(healed), rel[0] * 100, count, Arrays.stream(rel).average().orElse(0) * 100));
      ctx.report().finding(String.format(Locale.ROOT, "The %d killed nodes restarted on their "
          + "files and the network was one component of all %d again after %s.", kill,
          net.size(), ms(back)));
    }
    ctx.report().put("mass failure", rows);
    ctx.report().put("reliability per message after the failure", perMessage);
    ctx.report().plot(new Plot("reliability-after-failure.png", "Broadcast reliability after a "
        + "mass failure of real nodes (share of survivors reached)", "message number after "
        + "the failure", "reliability", false, false, reliability));
    ctx.report().plot(new Plot("largest-component-over-time.png", "Largest component (share of "
        + "survivors) after the failure, real nodes", "seconds after the failure",
        "largest component share", false, false, largest));
    ctx.traffic("");
  }

  /** Restarts the killed nodes and waits until all nodes form one component again. */
  static long rejoin(RealContext ctx, BitSet killed, long timeout) {
    RealNetwork net = ctx.net();
    SplittableRandom r = ctx.random("rejoin");
    for (int i = killed.nextSetBit(0); i >= 0; i = killed.nextSetBit(i + 1)) {
      net.restart(i, List.of(liveNode(net, r)));
    }
    return ctx.waitFor(() -> {
      List<Integer> comps = net.graph().componentSizes();
      return comps.size() == 1 && comps.get(0) == net.size();
    }, timeout, "rejoining");
  }

  /** Survivors ({@code among}) that hold the shared fragment. */
  static int reached(RealContext ctx, BitSet among, String id) {
    int n = 0;
    for (int i = among.nextSetBit(0); i >= 0; i = among.nextSetBit(i + 1)) {
      if (ctx.has(i, id)) {
        n++;
      }
    }
    return n;
  }

  /** A random running node that answers. */
  static int liveNode(RealNetwork net, SplittableRandom random) {
    int[] up = net.up().stream().filter(net::answers).toArray();
    if (up.length == 0) {
      throw new IllegalStateException("no running node left");
    }
    return up[random.nextInt(up.length)];
  }

  static String ms(long v) {
    return v < 0 ? "not within the horizon" : v + " ms";
  }
}
