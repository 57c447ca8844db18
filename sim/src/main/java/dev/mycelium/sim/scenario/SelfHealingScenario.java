package dev.mycelium.sim.scenario;

import com.typesafe.config.Config;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code self-healing}: the reference test protocol for replication, on a whole network. Every
 * node writes fragments that are placed on R holders; then one node loses 5 to 10% of its
 * fragments, serves 1,000 lookups during the loss (none may fail; lost ones come back flagged
 * BLANK and queue their repair), and repair cycles fetch everything back from the holders.
 * Measured: the share restored byte-identical (must be 100%), the time to full repair,
 * fragments by state over time, bytes moved; optionally the same node then loses its whole
 * store but its identity and restores from its holders.
 *
 * <p>The loss is the one each substrate can inject: on simulated stores half of the lost
 * fragments are marked BLANK and half get a flipped byte; on a real node, whose fragments are
 * private and sealed, a bit of each lost fragment is flipped in its Chronicle file while it is
 * stopped, as bit rot would.
 */
final class SelfHealingScenario implements ClusterScenario {
  @Override
  public List<String> nodeSettings(Config config) {
    return List.of("replication.factor = " + config.getInt("self-healing.replication-factor"));
  }

  @Override
  public void run(Cluster c) {
    ScenarioContext ctx = c.ctx();
    var conf = ctx.config().getConfig("self-healing");
    int factor = conf.getInt("replication-factor");
    int perNode = conf.getInt("fragments-per-node");
    int victimFragments = conf.getInt("victim-fragments");
    int textBytes = conf.getInt("text-bytes");
    double lossMin = conf.getDouble("loss-min");
    double lossMax = conf.getDouble("loss-max");
    int lookups = conf.getInt("lookups");
    long lookupWindow = conf.getLong("lookup-window-ms");
    long replicateMax = conf.getLong("replicate-max-ms");
    long repairMax = conf.getLong("repair-max-ms");
    long sample = conf.getLong("sample-interval-ms");
    boolean wipe = conf.getBoolean("wipe");
    if (lossMin < 0 || lossMax > 1 || lossMin > lossMax) {
      throw new IllegalArgumentException("self-healing.loss-min and loss-max must satisfy "
          + "0 <= loss-min <= loss-max <= 1, got " + lossMin + " and " + lossMax);
    }
    if (victimFragments < 1 || lookups < 0 || sample < 1 || lookupWindow < 1) {
      throw new IllegalArgumentException("self-healing needs victim-fragments >= 1, "
          + "lookups >= 0, sample-interval-ms >= 1 and lookup-window-ms >= 1");
    }
    Cluster.Replication store = c.replicating(factor);
    SplittableRandom pick = ctx.random("self-healing");
    int victim = c.randomLive(pick);

    // Every node writes; the victim writes more so that 5-10% of its fragments is many.
    List<Integer> all = new ArrayList<>();
    List<Integer> mine = new ArrayList<>();
    for (int i = 0; i < c.size(); i++) {
      if (!c.isLive(i)) {
        continue;
      }
      int count = i == victim ? victimFragments : perNode;
      for (int k = 0; k < count; k++) {
        int f = store.write(i, textBytes, pick);
        all.add(f);
        if (i == victim) {
          mine.add(f);
        }
      }
    }
    OptionalLong bytesBefore = store.networkBytes();
    Cluster.Placement placed = store.awaitPlaced(replicateMax);
    Map<String, Object> replication = Report.row("owners", c.liveCount(), "fragments",
        all.size(), "replication factor", factor, "text bytes", textBytes,
        "time to replicate ms", placed.millis());
    placed.minCopies().ifPresent(v -> replication.putAll(Report.row("min copies", v,
        "mean copies", placed.meanCopies().orElse(0))));
    since(store, bytesBefore).ifPresent(v -> replication.put("placement bytes", v));
    placed.fewestHolders().ifPresent(v -> replication.put("fewest holders of an owner", v));
    replication.put("fragments are", store.sealed() ? "private, sealed" : "shared");
    ctx.report().put("replication", replication);

    int lose = (int) Math.round(mine.size() * (lossMin + pick.nextDouble() * (lossMax - lossMin)));
    lose = Math.max(1, Math.min(mine.size(), lose));
    List<Integer> shuffled = new ArrayList<>(mine);
    Collections.shuffle(shuffled, new Random(pick.nextLong()));
    List<Integer> lostList = List.copyOf(shuffled.subList(0, lose));
    Set<Integer> lost = new HashSet<>(lostList);
    Cluster.Damage damage = store.damage(victim, lostList);
    long tLoss = c.now();
    OptionalLong bytesAtLoss = store.networkBytes();
    ctx.report().put("loss", Report.row("node", victim, "own fragments", mine.size(),
        "lost", lose, "share lost", lose / (double) mine.size(), "marked blank",
        damage.blanked(), "bytes corrupted", damage.corrupted()));

    // Lookups spread over the lookup window; a BLANK answer queues the repair at once.
    int[] outcome = new int[3]; // failures, blank-flagged, present and identical
    for (int q = 0; q < lookups; q++) {
      int f = mine.get(pick.nextInt(mine.size()));
      long at = tLoss + (q * lookupWindow) / Math.max(1, lookups);
      c.at(at, () -> {
        switch (store.lookup(victim, f)) {
          case BLANK -> {
            outcome[1]++;
            if (!lost.contains(f)) {
              outcome[0]++;
            }
          }
          case INTACT -> outcome[2]++;
          case FAILED, WRONG -> outcome[0]++;
        }
      });
    }
    // At the end of the window the node checks everything (its scrubber) and queues the rest.
    long tScrub = tLoss + lookupWindow;
    List<OptionalInt> scrubbed = new ArrayList<>();
    c.at(tScrub, () -> scrubbed.add(store.scrub(victim)));
    List<Map<String, Object>> states = new ArrayList<>();
    List<double[]> series = new ArrayList<>();
    long repairedAt = -1;
    long t = tLoss;
    while (t < tScrub + repairMax) {
      t += sample;
      c.runUntil(t, "repairing");
      boolean allBack = back(store, victim, mine.size(), lose, t, tLoss, states, series);
      // Not before the window ends: the lookups and the scrub are still due.
      if (t > tScrub && allBack) {
        repairedAt = t;
        break;
      }
    }
    int identical = store.identical(victim);
    Cluster.Repairs repairs = store.repairs(victim);
    ctx.report().put("lookups during loss", Report.row("lookups", lookups, "window ms",
        lookupWindow, "failures", outcome[0], "blank-flagged", outcome[1],
        "present and identical", outcome[2]));
    Map<String, Object> repair = Report.row("found by lookups and scrub", lose);
    scrubbed.stream().findFirst().orElse(OptionalInt.empty())
        .ifPresent(v -> repair.put("found by scrub", v));
    repair.putAll(Report.row("repairs done", repairs.done(), "repairs failed", repairs.failed(),
        "restored byte-identical", identical, "share restored", identical / (double) mine.size(),
        "time to full repair ms", repairedAt < 0 ? -1 : repairedAt - tLoss,
        "time after scrub ms", repairedAt < 0 ? -1 : repairedAt - tScrub,
        "bytes fetched by the node", repairs.bytesMoved()));
    since(store, bytesAtLoss).ifPresent(v -> repair.put("replication bytes on the network", v));
    ctx.report().put("repair", repair);
    ctx.report().finding(String.format(Locale.ROOT, "Node %d lost %d of its %d fragments "
        + "(%.1f%%: %s); %d lookups during the loss: %d failures, %d "
        + "flagged BLANK. %.1f%% restored byte-identical%s; the node fetched %,d bytes.",
        victim, lose, mine.size(), 100.0 * lose / mine.size(), damage.how(), lookups,
        outcome[0], outcome[1], 100.0 * identical / mine.size(), repairedAt < 0
            ? " (not complete within " + repairMax / 1000 + " s)"
            : String.format(Locale.ROOT, " %.1f s after the loss", (repairedAt - tLoss) / 1e3),
        repairs.bytesMoved()));

    if (wipe) {
      c.runUntil(t + 1_000, "repairing");
      OptionalLong bytesAtWipe = store.networkBytes();
      String gone = store.wipe(victim);
      long tWipe = c.now();
      long restoredAt = -1;
      t = tWipe;
      while (t < tWipe + repairMax) {
        t += sample;
        c.runUntil(t, "restoring");
        if (back(store, victim, mine.size(), 0, t, tLoss, states, series)) {
          restoredAt = t;
          break;
        }
      }
      int again = store.identical(victim);
      Map<String, Object> restore = Report.row("own fragments", mine.size(),
          "restored byte-identical", again, "share restored", again / (double) mine.size(),
          "time to restore ms", restoredAt < 0 ? -1 : restoredAt - tWipe,
          "bytes fetched by the node", store.repairs(victim).bytesMoved());
      since(store, bytesAtWipe).ifPresent(v -> restore.put("replication bytes on the network",
          v));
      ctx.report().put("wipe and restore", restore);
      ctx.report().finding(String.format(Locale.ROOT, "After losing %s the node "
          + "restored %.1f%% of its fragments byte-identical from its holders%s.", gone,
          100.0 * again / mine.size(), restoredAt < 0 ? " (not complete within "
              + repairMax / 1000 + " s)" : String.format(Locale.ROOT, " in %.1f s",
                  (restoredAt - tWipe) / 1e3)));
    }
    if (!c.simulated()) {
      ctx.report().finding("On real nodes the fragments are private and sealed before they "
          + "leave their owner, the loss is a bit flipped in the node's Chronicle file while it "
          + "was stopped (found by the hash check of a read or of the scrubber, on the node's "
          + "own schedule, so no scrub count), lookups read the fragment through the HTTP API, "
          + "and the counts by state come from GET /v1/repair, where a damaged fragment not "
          + "yet read is still PRESENT: the node counts as repaired once nothing is BLANK or "
          + "LOST and it has done as many repairs as fragments were damaged. Replication bytes "
          + "on the network are not counted.");
    }
    ctx.report().put("fragments by state", states);
    ctx.report().plot(plot(victim, series));
    c.traffic("");
  }

  private static OptionalLong since(Cluster.Replication store, OptionalLong before) {
    OptionalLong now = store.networkBytes();
    return before.isPresent() && now.isPresent()
        ? OptionalLong.of(now.getAsLong() - before.getAsLong()) : OptionalLong.empty();
  }

  /**
   * Samples the node's fragments by state into the table and the plot, and says whether all of
   * them are back: intact where the substrate sees the bytes, otherwise nothing BLANK or LOST
   * and at least as many repairs as fragments {@code damaged} (damage not yet read counts as
   * PRESENT).
   */
  private static boolean back(Cluster.Replication store, int node, int own, int damaged, long t,
      long tLoss, List<Map<String, Object>> rows, List<double[]> series) {
    Optional<Cluster.Tally> tally = store.tally(node);
    if (tally.isEmpty()) {
      return false;
    }
    Cluster.Tally s = tally.get();
    double at = (t - tLoss) / 1000.0;
    if (s.intact().isPresent()) {
      int intact = s.intact().getAsInt();
      int missing = s.blank() + s.lost();
      int corrupt = s.present() - intact;
      rows.add(Report.row("time s", at, "intact", intact, "blank or missing", missing,
          "corrupt unread", corrupt));
      series.add(new double[] {at, intact, missing, corrupt});
      return intact == own;
    }
    long repairs = store.repairs(node).done();
    rows.add(Report.row("time s", at, "present", s.present(), "blank", s.blank(), "lost",
        s.lost(), "repairs done", repairs));
    series.add(new double[] {at, s.present(), s.blank() + s.lost()});
    return s.present() == own && s.blank() == 0 && s.lost() == 0 && repairs >= damaged;
  }

  private static Plot plot(int victim, List<double[]> series) {
    double[] x = series.stream().mapToDouble(v -> v[0]).toArray();
    boolean seesBytes = series.stream().allMatch(v -> v.length == 4);
    List<Plot.Series> lines = new ArrayList<>();
    lines.add(new Plot.Series(seesBytes ? "present and intact" : "present", x,
        series.stream().mapToDouble(v -> v[1]).toArray(), true));
    lines.add(new Plot.Series("blank or missing", x,
        series.stream().mapToDouble(v -> v[2]).toArray(), true));
    if (seesBytes) {
      lines.add(new Plot.Series("present but corrupt (not yet read)", x,
          series.stream().mapToDouble(v -> v[3]).toArray(), true));
    }
    return new Plot("fragments-by-state.png", "Fragments of node " + victim + " by state",
        "seconds since the loss", "fragments", false, false, lines);
  }
}
