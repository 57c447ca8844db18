package dev.mycelium.sim.scenario;

import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * {@code partition-heal}: the network splits in two halves for minutes (the classic Jepsen
 * fault), both sides broadcast, then the split heals. Measured: components over time, how soon
 * the cut shows and how soon the overlay is one component after the heal, and whether the
 * broadcasts made on each side during the split reach the other side afterwards. Where the
 * nodes store data (real nodes), each side also writes private fragments during the split,
 * read afterwards on their owners and followed through the holders the owners' manifests list.
 */
final class PartitionHealScenario implements ClusterScenario {
  @Override
  public void run(Cluster c) {
    ScenarioContext ctx = c.ctx();
    var conf = ctx.config().getConfig("partition-heal");
    long split = conf.getLong("split-ms");
    int perSide = conf.getInt("broadcasts-per-side");
    long observe = conf.getLong("observe-ms");
    long check = conf.getLong("check-interval-ms");
    boolean oneWay = conf.getBoolean("one-way");
    if (check < 1 || perSide < 0) {
      throw new IllegalArgumentException("partition-heal.check-interval-ms must be at least 1 "
          + "and broadcasts-per-side at least 0, got " + check + " and " + perSide);
    }
    c.fresh();
    long t0 = c.now();
    int[] order = c.graph().shuffledLive(ctx.random("sides"));
    BitSet a = new BitSet();
    BitSet b = new BitSet();
    for (int k = 0; k < order.length; k++) {
      (k < order.length / 2 ? a : b).set(order[k]);
    }
    c.partition(a, b, !oneWay);
    SplittableRandom pick = ctx.random("origins");
    List<Written> shared = new ArrayList<>();
    for (int k = 0; k < perSide; k++) {
      long at = t0 + split / 2 + k * 1_000L;
      int fromA = member(a, pick);
      shared.add(new Written("A", fromA, at, c.broadcast(fromA, at, "side A")));
      int fromB = member(b, pick);
      shared.add(new Written("B", fromB, at, c.broadcast(fromB, at, "side B")));
    }
    // Only real nodes store data here: simulated ones would need a replicating simulation.
    boolean stores = !c.simulated();
    List<Written> owned = new ArrayList<>();
    int privateFailed = 0;
    boolean wrote = false;
    List<Double> tx = new ArrayList<>();
    List<Double> comps = new ArrayList<>();
    List<Double> largest = new ArrayList<>();
    int componentsDuringSplit = 0;
    long splitSeen = -1;
    for (long dt = 0; dt <= split; dt += check) {
      c.runUntil(t0 + dt, "split");
      int n = record(c, tx, comps, largest, t0);
      componentsDuringSplit = Math.max(componentsDuringSplit, n);
      if (splitSeen < 0 && n >= 2) {
        splitSeen = c.now() - t0;
      }
      // An owner picks its holders among its active neighbours, so private fragments wait
      // for the cut to show in the views: the question is where holders go while the sides
      // are apart, not while the views still span the cut.
      if (stores && !wrote && dt >= split / 2 && splitSeen >= 0) {
        wrote = true;
        privateFailed = writePrivate(c, a, b, perSide, owned);
      }
    }
    Map<String, double[]> beforeHeal = new HashMap<>();
    for (Written w : shared) {
      Reach r = c.reach(w.id);
      beforeHeal.put(w.id, new double[] {share(r, own(w, a, b)), share(r, other(w, a, b))});
    }
    owned.forEach(w -> beforeHeal.put(w.id, holdersAcross(c, w, a, b)));
    long healAt = c.heal(t0 + split);
    long oneComponent = -1;
    for (long dt = check; dt <= observe; dt += check) {
      c.runUntil(healAt + dt, "healed");
      if (record(c, tx, comps, largest, t0) == 1 && oneComponent < 0) {
        oneComponent = c.now() - healAt;
      }
    }
    String after = c.broadcast(member(a, pick), c.now(), "after heal");
    c.runUntil(c.now() + 10_000, "after heal");
    int live = c.liveCount();
    List<Map<String, Object>> rows = new ArrayList<>();
    double worstCross = 1;
    long oldest = 0;
    long youngest = Long.MAX_VALUE;
    int sharedFailed = 0;
    // The table reads by side: side A's broadcasts, then side B's.
    List<Written> bySide = new ArrayList<>(shared);
    bySide.sort(Comparator.comparing(Written::side));
    for (Written w : bySide) {
      Reach r = c.reach(w.id);
      if (!r.sent()) {
        sharedFailed++;
        continue;
      }
      double cross = share(r, other(w, a, b));
      worstCross = Math.min(worstCross, cross);
      long age = healAt - w.at;
      oldest = Math.max(oldest, age);
      youngest = Math.min(youngest, age);
      double[] before = beforeHeal.get(w.id);
      rows.add(Report.row("broadcast", w.id, "reach (all nodes)", r.reached() / (double) live,
          "reach on the other side", cross, "age at heal ms", age,
          "reach on its side before heal", before[0],
          "reach on the other side before heal", before[1]));
    }
    Reach afterReach = c.reach(after);
    Map<String, Object> heal = Report.row("split ms", split, "one-way", oneWay,
        "side sizes", a.cardinality() + " / " + b.cardinality(),
        "most components during the split", componentsDuringSplit,
        "one component after heal, ms", oneComponent,
        "broadcast after heal: reach", afterReach.sent()
            ? afterReach.reached() / (double) live : -1.0,
        "two components after the cut, ms", splitSeen,
        "broadcast after heal: ms to every node", afterReach.sent()
            ? afterReach.timeToReach(live, 1.0) : -1L,
        "puts failed", sharedFailed + privateFailed + (afterReach.sent() ? 0 : 1));
    ctx.report().put("heal", heal);
    ctx.report().put("broadcasts made during the split", rows);
    double[] x = tx.stream().mapToDouble(Double::doubleValue).toArray();
    ctx.report().plot(new Plot("components-over-time.png", "Components "
        + (c.simulated() ? "" : "of real nodes ") + "during and after the split (healed at "
        + (healAt - t0) / 1000 + " s)", "seconds after the split", "value", false, false,
        List.of(
            new Plot.Series("components", x, comps.stream().mapToDouble(Double::doubleValue)
                .toArray(), true),
            new Plot.Series("largest component share", x, largest.stream()
                .mapToDouble(Double::doubleValue).toArray(), true))));
    ctx.report().finding(splitSeen >= 0 ? String.format(Locale.ROOT, "The cut (%s) showed as"
        + " %d components in the nodes' active views %d ms after it was made (checked every "
        + "%d ms); it was lifted %d ms after the cut.", oneWay ? "one-way: only side A cut "
        + "side B" : "both sides cut each other", componentsDuringSplit, splitSeen, check,
        healAt - t0) : String.format(Locale.ROOT, "The cut (%s) did not show as two components"
        + " in the nodes' active views within %d ms (most seen: %d).", oneWay ? "one-way"
        : "two-way", split, componentsDuringSplit));
    ctx.report().finding(oneComponent >= 0 ? String.format(Locale.ROOT, "After the heal the "
        + "overlay was one component again within %d ms (checked every %d ms).", oneComponent,
        check) : "The overlay was not one component within " + observe + " ms of the heal.");
    long cache = ctx.overlay().messageCacheMillis();
    String profile = ctx.config().getString("overlay.preset");
    if (rows.isEmpty()) {
      ctx.report().finding("No broadcasts were made during the split (broadcasts-per-side = "
          + "0).");
    } else if (worstCross >= 0.999 && splitSeen < 0) {
      // The views never came apart, so no heal had to carry the broadcasts across.
      ctx.report().finding("Broadcasts made on either side during the split reached the other "
          + "side after the heal.");
    } else if (worstCross >= 0.999) {
      ctx.report().finding(String.format(Locale.ROOT, "Broadcasts made on either side during "
          + "the split reached the other side after the heal. Not through anti-entropy: "
          + "Plumtree announces the IDs of its most recent cached messages (up to 64, each kept"
          + " %d ms in the %s profile) to every new active neighbour, the links the heal formed"
          + " are new neighbours, and these broadcasts were %d to %d ms old at the heal, so "
          + "each side pulled the other's. A broadcast older than the message cache at the "
          + "heal, or behind 64 newer ones, is not announced and stays on its side.", cache,
          profile, youngest, oldest));
    } else {
      ctx.report().finding(String.format(Locale.ROOT, "Broadcasts made during the split did "
          + "NOT reach the other side after the heal (worst: %.1f%% of it; they were %d to %d "
          + "ms old at the heal). Plumtree announces a past message to a new neighbour only "
          + "while it is still in the message cache (%d ms in the %s profile) and among the 64"
          + " most recent; it has no anti-entropy of older broadcasts, so what one side said "
          + "earlier in a split stays on that side. Data written during a split has to be "
          + "reconciled by replication's anti-entropy (per-owner digests), not by the "
          + "broadcast layer; a shared fragment has to be published again after the heal.",
          worstCross * 100, youngest, oldest,
          cache, profile));
    }
    if (stores) {
      reportPrivate(c, wrote, owned, beforeHeal, a, b);
    } else {
      ctx.report().finding("Private fragments written during a split are not followed on "
          + "simulated nodes, which carry no data; a run on real nodes (--real) follows them.");
    }
    c.traffic("");
  }

  /**
   * Writes {@code perSide} private fragments on owners drawn on each side, from a stream of
   * their own so that the broadcasts' origins are the same whether a substrate stores data or
   * not; returns how many puts did not answer in time.
   */
  private static int writePrivate(Cluster c, BitSet a, BitSet b, int perSide,
      List<Written> owned) {
    SplittableRandom pick = c.ctx().random("owners");
    int failed = 0;
    int serial = 0;
    for (int k = 0; k < perSide; k++) {
      for (String side : List.of("A", "B")) {
        int owner = member(side.equals("A") ? a : b, pick);
        long at = c.now();
        Optional<String> id = c.write(owner, serial++, 200, pick);
        if (id.isPresent()) {
          owned.add(new Written(side, owner, at, id.get()));
        } else {
          failed++;
        }
      }
    }
    return failed;
  }

  private static void reportPrivate(Cluster c, boolean wrote, List<Written> owned,
      Map<String, double[]> beforeHeal, BitSet a, BitSet b) {
    ScenarioContext ctx = c.ctx();
    List<Map<String, Object>> rows = new ArrayList<>();
    boolean allReadable = true;
    int across = 0;
    for (Written w : owned) {
      boolean readable = c.readable(w.node, w.id);
      double[] now = holdersAcross(c, w, a, b);
      double[] before = beforeHeal.get(w.id);
      allReadable &= readable;
      across += now[1] > 0 ? 1 : 0;
      rows.add(Report.row("fragment", "side " + w.side + " " + w.id.substring(0,
          Math.min(12, w.id.length())), "readable on its owner", readable,
          "owner's holders before heal", (long) before[0],
          "on the other side before heal", (long) before[1],
          "owner's holders", (long) now[0], "holders on the other side", (long) now[1]));
    }
    ctx.report().put("private fragments written during the split", rows);
    ctx.report().finding(!wrote ? "No private fragments were written: the cut did not show in "
        + "the nodes' views in the second half of the split." : owned.isEmpty() ? "No private "
        + "fragments were written during the split." : String.format(Locale.ROOT, "Private "
        + "fragments written during the split: %s on their owners after the heal; at the "
        + "end, for %d of %d of them the owner's manifest (GET /v1/repair \"holders\", which "
        + "covers all of an owner's fragments) listed a holder on the other side. Holders are "
        + "chosen among the owner's active neighbours when it places, and one the split cut "
        + "off stays in its manifest until the owner gives it up as gone (after a grace "
        + "period), so holders on the other side can outlast the cut; the table shows the "
        + "holders before and after the heal.", allReadable
        ? "all readable" : "NOT all readable", across, owned.size()));
  }

  /** How many holders the owner of {@code w} lists, and how many of them on the other side. */
  private static double[] holdersAcross(Cluster c, Written w, BitSet a, BitSet b) {
    List<Integer> holders = c.holders(w.node);
    BitSet other = other(w, a, b);
    return new double[] {holders.size(), holders.stream().filter(other::get).count()};
  }

  /** Samples the components, records them at the time since the cut, returns their number. */
  private static int record(Cluster c, List<Double> tx, List<Double> comps,
      List<Double> largest, long t0) {
    List<Integer> cs = c.graph().componentSizes();
    tx.add((c.now() - t0) / 1000.0);
    comps.add((double) cs.size());
    largest.add(cs.isEmpty() ? 0 : cs.get(0) / (double) c.liveCount());
    return cs.size();
  }

  private static double share(Reach r, BitSet nodes) {
    return nodes.isEmpty() ? 0 : r.reached(nodes::get) / (double) nodes.cardinality();
  }

  private static BitSet own(Written w, BitSet a, BitSet b) {
    return w.side.equals("A") ? a : b;
  }

  private static BitSet other(Written w, BitSet a, BitSet b) {
    return w.side.equals("A") ? b : a;
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

  /**
   * Something a side wrote during the split: a broadcast (by its label) or a private fragment
   * (by its ID), from node {@code node} at time {@code at}.
   */
  private record Written(String side, int node, long at, String id) {}
}
