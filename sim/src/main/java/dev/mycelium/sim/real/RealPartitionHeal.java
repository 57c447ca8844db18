package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code partition-heal} on real nodes: two seeded halves are cut from each other through the
 * fault API (the classic Jepsen fault), both sides write shared and private fragments during
 * the split, then every cut is lifted. Measured as in the simulated form: components of the
 * nodes' active-view graph over time and the time to one component after the heal; then, on
 * real nodes, whether what each side wrote is held everywhere afterwards: shared fragments by
 * a GET on every node, private fragments by their owner's GET and the holders its signed
 * manifest lists.
 */
final class RealPartitionHeal implements RealScenario {
  @Override
  public void run(RealContext ctx) {
    Config c = ctx.config().getConfig("partition-heal");
    long split = c.getLong("split-ms");
    int perSide = c.getInt("broadcasts-per-side");
    long observe = c.getLong("observe-ms");
    long check = c.getLong("check-interval-ms");
    boolean oneWay = c.getBoolean("one-way");
    if (check < 1 || perSide < 0) {
      throw new IllegalArgumentException("partition-heal.check-interval-ms must be at least 1 "
          + "and broadcasts-per-side at least 0, got " + check + " and " + perSide);
    }
    RealNetwork net = ctx.net();
    ctx.grow();
    int[] order = ctx.net().graph().shuffledLive(ctx.random("sides"));
    BitSet a = new BitSet();
    BitSet b = new BitSet();
    for (int k = 0; k < order.length; k++) {
      (k < order.length / 2 ? a : b).set(order[k]);
    }
    int live = order.length;
    List<Integer> sideA = a.stream().boxed().toList();
    List<Integer> sideB = b.stream().boxed().toList();
    Series series = new Series();
    long cutAt = net.millis();
    for (int i : sideA) {
      cut(net, i, sideB);
    }
    if (!oneWay) {
      for (int j : sideB) {
        cut(net, j, sideA);
      }
    }
    // The cut drops links at once, but the views show it only once each node has noticed.
    long splitSeen = ctx.waitFor(() -> series.record(ctx, net.millis() - cutAt, live) >= 2,
        split, "splitting");
    long heldFrom = net.millis();
    SplittableRandom pick = ctx.random("origins");
    List<Written> written = new ArrayList<>();
    boolean wrote = false;
    while (net.millis() - heldFrom < split) {
      if (!wrote && net.millis() - heldFrom >= split / 2) {
        for (int k = 0; k < perSide; k++) {
          for (String side : List.of("A", "B")) {
            BitSet s = side.equals("A") ? a : b;
            write(ctx, written, side, true, member(s, pick), k);
            write(ctx, written, side, false, member(s, pick), k);
          }
        }
        wrote = true;
      }
      ctx.sleep(Math.min(check, split - (net.millis() - heldFrom)), "split");
      series.record(ctx, net.millis() - cutAt, live);
    }
    // What each side holds just before the heal: the broadcasts spread within their side.
    Map<String, double[]> beforeHeal = new java.util.HashMap<>();
    for (Written w : written) {
      if (w.shared) {
        BitSet own = w.side.equals("A") ? a : b;
        BitSet other = w.side.equals("A") ? b : a;
        beforeHeal.put(w.id, new double[] {share(ctx, w.id, own), share(ctx, w.id, other)});
      } else {
        BitSet other = w.side.equals("A") ? b : a;
        List<Integer> holders = holders(ctx, w.node);
        beforeHeal.put(w.id, new double[] {holders.size(),
            holders.stream().filter(other::get).count()});
      }
    }
    int componentsDuringSplit = series.max();
    for (int i = 0; i < net.size(); i++) {
      if (net.answers(i)) {
        cut(net, i, List.of());
      }
    }
    long healAt = net.millis();
    long oneComponent = -1;
    while (net.millis() - healAt < observe) {
      ctx.sleep(Math.min(check, observe - (net.millis() - healAt)), "healed");
      int comps = series.record(ctx, net.millis() - cutAt, live);
      if (oneComponent < 0 && comps == 1) {
        oneComponent = net.millis() - healAt;
      }
    }
    String after = ctx.tryPut(member(a, pick), ctx.text("after heal", 200),
        true);
    BitSet all = net.up();
    long afterMs = after == null ? -1
        : ctx.waitFor(() -> share(ctx, after, all) >= 1.0, observe, "after heal");
    double afterReach = after == null ? -1 : share(ctx, after, all);
    List<Map<String, Object>> rows = new ArrayList<>();
    List<Map<String, Object>> privateRows = new ArrayList<>();
    double worstCross = 1;
    long oldest = 0;
    long youngest = Long.MAX_VALUE;
    boolean privateOk = true;
    int privateCross = 0;
    int privateCount = 0;
    for (Written w : written) {
      BitSet other = w.side.equals("A") ? b : a;
      if (w.shared) {
        double cross = share(ctx, w.id, other);
        worstCross = Math.min(worstCross, cross);
        double[] before = beforeHeal.get(w.id);
        long age = healAt - w.at;
        oldest = Math.max(oldest, age);
        youngest = Math.min(youngest, age);
        rows.add(Report.row("broadcast", "side " + w.side + " " + w.id.substring(0,
            Math.min(12, w.id.length())), "age at heal ms", age,
            "reach on its side before heal", before[0],
            "reach on the other side before heal", before[1],
            "reach (all nodes)", share(ctx, w.id, all), "reach on the other side", cross));
      } else {
        boolean readable = ctx.has(w.node, w.id);
        List<Integer> holders = holders(ctx, w.node);
        long acrossNow = holders.stream().filter(other::get).count();
        privateOk &= readable;
        privateCount++;
        privateCross += acrossNow > 0 ? 1 : 0;
        double[] before = beforeHeal.get(w.id);
        privateRows.add(Report.row("fragment", "side " + w.side + " " + w.id.substring(0,
            Math.min(12, w.id.length())), "readable on its owner", readable,
            "owner's holders before heal", (long) before[0],
            "on the other side before heal", (long) before[1],
            "owner's holders", holders.size(), "holders on the other side", acrossNow));
      }
    }
    ctx.report().put("heal", Report.row("split ms", split, "one-way", oneWay,
        "side sizes", a.cardinality() + " / " + b.cardinality(),
        "puts failed", 4 * perSide - written.size() + (after == null ? 1 : 0),
        "two components after the cut, ms", splitSeen,
        "most components during the split", componentsDuringSplit,
        "one component after heal, ms", oneComponent,
        "broadcast after heal: reach", afterReach,
        "broadcast after heal: ms to every node", afterMs));
    ctx.report().put("broadcasts made during the split", rows);
    ctx.report().put("private fragments written during the split", privateRows);
    ctx.report().plot(new Plot("components-over-time.png", "Components of real nodes during "
        + "and after the split (healed at " + (healAt - cutAt) / 1000 + " s)",
        "seconds after the cut", "value", false, false, List.of(
            new Plot.Series("components", series.x(), series.comps(), true),
            new Plot.Series("largest component share", series.x(), series.largest(), true))));
    ctx.report().finding(splitSeen >= 0 ? String.format(Locale.ROOT, "The cut (%s) showed as"
        + " %d components in the nodes' active views after %d ms; the split was then held %d "
        + "ms.", oneWay ? "one-way: only side A cut side B" : "both sides cut each other",
        componentsDuringSplit, splitSeen, split) : String.format(Locale.ROOT, "The cut (%s) "
        + "did not show as two components in the nodes' active views within %d ms (most "
        + "seen: %d).", oneWay ? "one-way" : "two-way", split, componentsDuringSplit));
    if (oneWay) {
      ctx.report().finding("On real nodes a one-way cut blocks both directions: a node that "
          + "cuts a peer drops their shared TCP link and refuses the peer's dials, so the "
          + "other side loses the link too. Only the simulated network can drop one direction "
          + "of a link alone.");
    }
    ctx.report().finding(oneComponent >= 0 ? String.format(Locale.ROOT, "After the heal the "
        + "overlay was one component again within %d ms (checked every %d ms).", oneComponent,
        check) : "The overlay was not one component within " + observe + " ms of the heal.");
    long cache = ctx.overlay().messageCacheMillis();
    if (rows.isEmpty()) {
      ctx.report().finding("No broadcasts were made during the split (broadcasts-per-side = "
          + "0).");
    } else if (worstCross >= 0.999) {
      ctx.report().finding(String.format(Locale.ROOT, "Shared fragments written on either "
          + "side during the split were held on the other side after the heal. Not through "
          + "anti-entropy: Plumtree announces the IDs of its most recent cached messages (up "
          + "to 64, each kept %d ms in the %s profile) to every new active neighbour, the "
          + "links the heal formed are new neighbours, and these broadcasts were %d to %d ms "
          + "old at the heal, so each side pulled the other's. A broadcast older than the "
          + "message cache at the heal, or behind 64 newer ones, is not announced and stays "
          + "on its side.", cache, ctx.config().getString("overlay.preset"), youngest,
          oldest));
    } else {
      ctx.report().finding(String.format(Locale.ROOT, "Shared fragments written during the "
          + "split did NOT all reach the other side after the heal (worst: %.1f%% of it; "
          + "they were %d to %d ms old at the heal). Plumtree announces a past message to a "
          + "new neighbour only while it is still in the message cache (%d ms in the %s "
          + "profile) and among the 64 most recent; it has no anti-entropy of older "
          + "broadcasts, so what one side said earlier in a split stays on that side. Such a "
          + "shared fragment has to be published again after the heal.", worstCross * 100,
          youngest, oldest, cache, ctx.config().getString("overlay.preset")));
    }
    ctx.report().finding(privateCount == 0 ? "No private fragments were written during the "
        + "split." : String.format(Locale.ROOT, "Private fragments written during the split: "
        + "%s on their owners after the heal; at the end, for %d of %d of them the owner's "
        + "manifest (GET /v1/repair \"holders\", which covers all of an owner's fragments) "
        + "listed a holder on the other side. Holders are chosen among the owner's active "
        + "neighbours, which during the split are all on its own side; the table shows the holders before and "
        + "after the heal.", privateOk ? "all readable" : "NOT all readable", privateCross,
        privateCount));
    ctx.traffic("");
  }

  /**
   * Sets node {@code i}'s partition, trying again when a loaded node does not answer in time
   * (the change replaces the set, so asking twice is harmless).
   */
  static void cut(RealNetwork net, int i, List<Integer> others) {
    for (int attempt = 1; ; attempt++) {
      try {
        net.partition(i, others);
        return;
      } catch (CliException e) {
        if (attempt == 3) {
          throw new IllegalStateException("node " + i + " did not take its partition after 3 "
              + "tries: " + e.getMessage(), e);
        }
      }
    }
  }

  /** Writes one fragment on node {@code i}; a put that did not answer in time is skipped. */
  private static void write(RealContext ctx, List<Written> written, String side,
      boolean shared, int i, int k) {
    long at = ctx.net().millis();
    String id = ctx.tryPut(i, ctx.text("side " + side + (shared ? " shared "
        : " private ") + k, 200), shared);
    if (id != null) {
      written.add(new Written(side, shared, i, at, id));
    }
  }

  /** A fragment written during the split. */
  private record Written(String side, boolean shared, int node, long at, String id) {}

  /** Components over time, sampled from the nodes' active views. */
  private static final class Series {
    private final List<double[]> points = new ArrayList<>();

    /** Samples the graph, records it, and returns its number of components. */
    int record(RealContext ctx, long sinceCut, int live) {
      List<Integer> cs = ctx.net().graph().componentSizes();
      points.add(new double[] {sinceCut / 1000.0, cs.size(),
          cs.isEmpty() ? 0 : cs.get(0) / (double) live});
      return cs.size();
    }

    int max() {
      return (int) points.stream().mapToDouble(p -> p[1]).max().orElse(0);
    }

    double[] x() {
      return points.stream().mapToDouble(p -> p[0]).toArray();
    }

    double[] comps() {
      return points.stream().mapToDouble(p -> p[1]).toArray();
    }

    double[] largest() {
      return points.stream().mapToDouble(p -> p[2]).toArray();
    }
  }

  /** The share of {@code nodes} that hold fragment {@code id} PRESENT now. */
  private static double share(RealContext ctx, String id, BitSet nodes) {
    int n = nodes.cardinality();
    if (n == 0) {
      return 0;
    }
    int held = 0;
    for (int i = nodes.nextSetBit(0); i >= 0; i = nodes.nextSetBit(i + 1)) {
      if (ctx.has(i, id)) {
        held++;
      }
    }
    return held / (double) n;
  }

  /**
   * The holders owner {@code i}'s manifest lists (GET /v1/repair), as indexes of nodes in this
   * network.
   */
  private static List<Integer> holders(RealContext ctx, int i) {
    List<Integer> out = new ArrayList<>();
    try {
      for (JsonNode h : ctx.net().api(i).get("/v1/repair").path("holders")) {
        int j = ctx.net().indexOf(h.asText());
        if (j >= 0) {
          out.add(j);
        }
      }
    } catch (CliException e) {
      return out;
    }
    return out;
  }

  private static int member(BitSet side, SplittableRandom pick) {
    int[] m = side.stream().toArray();
    return m[pick.nextInt(m.length)];
  }
}
