package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code partition-heal}: the network splits in two halves for minutes (the classic Jepsen
 * fault), both sides broadcast, then the split heals. Measured: components over time, time to
 * one component after the heal, and whether the broadcasts made on each side during the split
 * reach the other side afterwards.
 */
final class PartitionHealScenario implements Scenario {
  @Override
  public void run(ScenarioContext ctx) {
    var c = ctx.config().getConfig("partition-heal");
    long split = c.getLong("split-ms");
    int perSide = c.getInt("broadcasts-per-side");
    long observe = c.getLong("observe-ms");
    long check = c.getLong("check-interval-ms");
    boolean oneWay = c.getBoolean("one-way");
    OverlaySim sim = ctx.newSim();
    Metrics m = new Metrics(sim);
    long t0 = ctx.grow(sim);
    int[] order = GraphStats.of(sim).shuffledLive(ctx.random("sides"));
    BitSet a = new BitSet();
    BitSet b = new BitSet();
    for (int k = 0; k < order.length; k++) {
      (k < order.length / 2 ? a : b).set(order[k]);
    }
    int cut = sim.network().partition(a, b, !oneWay);
    SplittableRandom pick = ctx.random("origins");
    List<String> fromA = new ArrayList<>();
    List<String> fromB = new ArrayList<>();
    for (int k = 0; k < perSide; k++) {
      long at = t0 + split / 2 + k * 1_000L;
      fromA.add(ctx.broadcast(sim, m, member(a, pick), at, "side A"));
      fromB.add(ctx.broadcast(sim, m, member(b, pick), at, "side B"));
    }
    List<Double> tx = new ArrayList<>();
    List<Double> comps = new ArrayList<>();
    List<Double> largest = new ArrayList<>();
    int componentsDuringSplit = 0;
    for (long dt = 0; dt <= split; dt += check) {
      ctx.run(sim, t0 + dt, "split");
      List<Integer> cs = GraphStats.of(sim).componentSizes();
      componentsDuringSplit = Math.max(componentsDuringSplit, cs.size());
      record(tx, comps, largest, dt, cs, sim.liveCount());
    }
    long healAt = t0 + split;
    sim.at(healAt, () -> sim.network().heal(cut));
    long oneComponent = -1;
    for (long dt = check; dt <= observe; dt += check) {
      ctx.run(sim, healAt + dt, "healed");
      List<Integer> cs = GraphStats.of(sim).componentSizes();
      record(tx, comps, largest, split + dt, cs, sim.liveCount());
      if (oneComponent < 0 && cs.size() == 1) {
        oneComponent = dt;
      }
    }
    String after = ctx.broadcast(sim, m, member(a, pick), sim.now(), "after heal");
    ctx.run(sim, sim.now() + 10_000, "after heal");
    int live = sim.liveCount();
    List<Map<String, Object>> rows = new ArrayList<>();
    double worstCross = 1;
    for (List<String> side : List.of(fromA, fromB)) {
      BitSet other = side == fromA ? b : a;
      for (String l : side) {
        double cross = m.reached(l, other::get) / (double) other.cardinality();
        worstCross = Math.min(worstCross, cross);
        rows.add(Report.row("broadcast", l, "reach (all nodes)", m.reached(l) / (double) live,
            "reach on the other side", cross));
      }
    }
    ctx.report().put("heal", Report.row("split ms", split, "one-way", oneWay,
        "side sizes", a.cardinality() + " / " + b.cardinality(),
        "most components during the split", componentsDuringSplit,
        "one component after heal, ms", oneComponent,
        "broadcast after heal: reach", m.reached(after) / (double) live));
    ctx.report().put("broadcasts made during the split", rows);
    double[] x = tx.stream().mapToDouble(Double::doubleValue).toArray();
    ctx.report().plot(new Plot("components-over-time.png", "Components during and after the "
        + "split (healed at " + split / 1000 + " s)", "seconds after the split", "value", false,
        false, List.of(new Plot.Series("components", x, comps.stream().mapToDouble(
            Double::doubleValue).toArray(), true), new Plot.Series("largest component share",
            x, largest.stream().mapToDouble(Double::doubleValue).toArray(), true))));
    ctx.report().finding(oneComponent >= 0 ? String.format(Locale.ROOT, "After the heal the "
        + "overlay was one component again within %d ms (checked every %d ms).", oneComponent,
        check) : "The overlay was not one component within " + observe + " ms of the heal.");
    ctx.report().finding(worstCross >= 0.999 ? "Broadcasts made on either side during the "
        + "split reached the other side after the heal." : String.format(Locale.ROOT,
        "Broadcasts made during the split did NOT reach the other side after the heal (worst: "
        + "%.1f%% of it). Plumtree repairs a missed message only through IHave announcements "
        + "sent when the message is first received; it has no anti-entropy of past broadcasts,"
        + " so what one side said during a split stays on that side. Data written during a "
        + "split has to be reconciled by replication's anti-entropy (per-owner digests), not "
        + "by the broadcast layer.", worstCross * 100));
    ctx.traffic(m, "");
  }

  private static void record(List<Double> tx, List<Double> comps, List<Double> largest, long dt,
      List<Integer> cs, int live) {
    tx.add(dt / 1000.0);
    comps.add((double) cs.size());
    largest.add(cs.isEmpty() ? 0 : cs.get(0) / (double) live);
  }

  private static int member(BitSet side, SplittableRandom pick) {
    int n = side.cardinality();
    int k = pick.nextInt(n);
    int i = side.nextSetBit(0);
    while (k-- > 0) {
      i = side.nextSetBit(i + 1);
    }
    return i;
  }
}
