package dev.mycelium.sim.scenario;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaStatus;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code self-healing}: the reference test protocol for replication, on a whole simulated
 * network. Every node writes fragments that the replication core places on R holders; then
 * one node loses 5 to 10% of its fragments (half marked BLANK, half with a flipped byte that a
 * read detects), serves 1,000 lookups during the loss (none may fail; lost ones come back
 * flagged BLANK and queue their repair), and repair cycles fetch everything back from the
 * holders. Measured: the share restored byte-identical (must be 100%), the time to full repair,
 * fragments by state over time, bytes moved; optionally the same node then loses its whole
 * disk and restores from its holders.
 */
final class SelfHealingScenario implements Scenario {
  @Override
  public void run(ScenarioContext ctx) {
    var c = ctx.config().getConfig("self-healing");
    int factor = c.getInt("replication-factor");
    int perNode = c.getInt("fragments-per-node");
    int victimFragments = c.getInt("victim-fragments");
    int textBytes = c.getInt("text-bytes");
    double lossMin = c.getDouble("loss-min");
    double lossMax = c.getDouble("loss-max");
    int lookups = c.getInt("lookups");
    long lookupWindow = c.getLong("lookup-window-ms");
    long replicateMax = c.getLong("replicate-max-ms");
    long repairMax = c.getLong("repair-max-ms");
    long sample = c.getLong("sample-interval-ms");
    boolean wipe = c.getBoolean("wipe");
    if (lossMin < 0 || lossMax > 1 || lossMin > lossMax) {
      throw new IllegalArgumentException("self-healing.loss-min and loss-max must satisfy "
          + "0 <= loss-min <= loss-max <= 1, got " + lossMin + " and " + lossMax);
    }
    if (victimFragments < 1 || lookups < 0 || sample < 1 || lookupWindow < 1) {
      throw new IllegalArgumentException("self-healing needs victim-fragments >= 1, "
          + "lookups >= 0, sample-interval-ms >= 1 and lookup-window-ms >= 1");
    }
    OverlaySim sim = ctx.newReplicatingSim(factor);
    Metrics m = new Metrics(sim);
    long t0 = ctx.grow(sim);
    SplittableRandom pick = ctx.random("self-healing");
    int victim = ScenarioContext.liveNode(sim, pick);

    // Every node writes; the victim writes more so that 5-10% of its fragments is many.
    List<FragmentId> all = new ArrayList<>();
    List<Fragment> mine = new ArrayList<>();
    int serial = 0;
    for (int i = 0; i < sim.size(); i++) {
      if (!sim.isLive(i)) {
        continue;
      }
      int count = i == victim ? victimFragments : perNode;
      for (int k = 0; k < count; k++) {
        Fragment f = Replicas.newFragment(sim, i, serial++, textBytes, pick, t0);
        if (!sim.put(i, f)) {
          throw new IllegalStateException("node " + i + " is up but refused a put");
        }
        all.add(f.id());
        if (i == victim) {
          mine.add(f);
        }
      }
    }
    long bytesBefore = sim.applicationBytesSent();
    long t = t0;
    Map<FragmentId, Integer> copies = Replicas.liveCopies(sim, all);
    while (t < t0 + replicateMax && minOf(copies) < factor) {
      t += 1_000;
      ctx.run(sim, t, "replicating");
      copies = Replicas.liveCopies(sim, all);
    }
    long replicatedMs = t - t0;
    int minCopies = minOf(copies);
    double meanCopies = copies.values().stream().mapToInt(Integer::intValue).average().orElse(0);
    long placementBytes = sim.applicationBytesSent() - bytesBefore;
    ctx.report().put("replication", Report.row("owners", sim.liveCount(), "fragments",
        all.size(), "replication factor", factor, "text bytes", textBytes,
        "time to replicate ms", replicatedMs, "min copies", minCopies, "mean copies",
        meanCopies, "placement bytes", placementBytes));

    // The loss: half of the lost fragments lose their bytes, half rot on disk.
    InMemoryFragmentStore store = sim.store(victim);
    int lose = (int) Math.round(mine.size() * (lossMin + pick.nextDouble() * (lossMax - lossMin)));
    lose = Math.max(1, Math.min(mine.size(), lose));
    List<Fragment> shuffled = new ArrayList<>(mine);
    Collections.shuffle(shuffled, new java.util.Random(pick.nextLong()));
    Set<FragmentId> lost = new LinkedHashSet<>();
    int blanked = 0;
    int corrupted = 0;
    for (int k = 0; k < lose; k++) {
      FragmentId id = shuffled.get(k).id();
      lost.add(id);
      if (k % 2 == 0) {
        store.markBlank(id);
        blanked++;
      } else {
        store.corruptForTest(id);
        corrupted++;
      }
    }
    long tLoss = t;
    ReplicaStatus before = sim.replica(victim).status();
    long bytesAtLoss = sim.applicationBytesSent();
    ctx.report().put("loss", Report.row("node", victim, "own fragments", mine.size(),
        "lost", lose, "share lost", lose / (double) mine.size(), "marked blank", blanked,
        "bytes corrupted", corrupted));

    // 1,000 lookups spread over the lookup window; a BLANK answer queues the repair at once.
    int[] outcome = new int[3]; // failures, blank-flagged, present and identical
    for (int q = 0; q < lookups; q++) {
      Fragment f = mine.get(pick.nextInt(mine.size()));
      long at = tLoss + (q * lookupWindow) / Math.max(1, lookups);
      sim.at(at, () -> {
        Optional<StoredFragment> got = store.get(f.id());
        if (got.isEmpty()) {
          outcome[0]++;
        } else if (got.get().state() == FragmentState.BLANK) {
          outcome[1]++;
          if (!lost.contains(f.id()) || got.get().fragment().isPresent()) {
            outcome[0]++;
          }
          sim.onBlank(victim, f.id());
        } else if (got.get().state() == FragmentState.PRESENT && got.get().fragment()
            .map(x -> x.signed().equals(f.signed())).orElse(false)) {
          outcome[2]++;
        } else {
          outcome[0]++;
        }
      });
    }
    // At the end of the window the node checks everything (its scrubber) and queues the rest.
    long tScrub = tLoss + lookupWindow;
    int[] scrubbed = new int[1];
    sim.at(tScrub, () -> {
      for (Fragment f : mine) {
        if (store.check(f.id()) != FragmentState.PRESENT) {
          scrubbed[0]++;
          sim.onBlank(victim, f.id());
        }
      }
    });
    List<Map<String, Object>> states = new ArrayList<>();
    List<double[]> series = new ArrayList<>();
    long repairedAt = -1;
    t = tLoss;
    while (t < tScrub + repairMax) {
      t += sample;
      ctx.run(sim, t, "repairing");
      int restored = sampleStates(store, mine, t, tLoss, states, series);
      if (t > tScrub && restored == mine.size()) {
        repairedAt = t;
        break;
      }
    }
    int identical = identical(store, mine);
    ReplicaStatus after = sim.replica(victim).status();
    long repairBytes = sim.applicationBytesSent() - bytesAtLoss;
    ctx.report().put("lookups during loss", Report.row("lookups", lookups, "window ms",
        lookupWindow, "failures", outcome[0], "blank-flagged", outcome[1],
        "present and identical", outcome[2]));
    ctx.report().put("repair", Report.row("found by lookups and scrub", lose,
        "found by scrub", scrubbed[0], "repairs done", after.repairsDone() - before.repairsDone(),
        "repairs failed", after.repairsFailed() - before.repairsFailed(),
        "restored byte-identical", identical, "share restored", identical / (double) mine.size(),
        "time to full repair ms", repairedAt < 0 ? -1 : repairedAt - tLoss,
        "time after scrub ms", repairedAt < 0 ? -1 : repairedAt - tScrub,
        "bytes fetched by the node", after.bytesMoved() - before.bytesMoved(),
        "replication bytes on the network", repairBytes));
    ctx.report().finding(String.format(Locale.ROOT, "Node %d lost %d of its %d fragments "
        + "(%.1f%%: %d blanked, %d corrupted); %d lookups during the loss: %d failures, %d "
        + "flagged BLANK. %.1f%% restored byte-identical%s; the node fetched %,d bytes.",
        victim, lose, mine.size(), 100.0 * lose / mine.size(), blanked, corrupted, lookups,
        outcome[0], outcome[1], 100.0 * identical / mine.size(), repairedAt < 0
            ? " (not complete within " + repairMax / 1000 + " s)"
            : String.format(Locale.ROOT, " %.1f s after the loss", (repairedAt - tLoss) / 1e3),
        after.bytesMoved() - before.bytesMoved()));

    if (wipe) {
      long tWipe = t + 1_000;
      ctx.run(sim, tWipe, "repairing");
      long bytesAtWipe = sim.applicationBytesSent();
      sim.wipeDisk(victim, tWipe);
      ctx.run(sim, tWipe, "wipe");
      InMemoryFragmentStore fresh = sim.store(victim);
      long restoredAt = -1;
      t = tWipe;
      while (t < tWipe + repairMax) {
        t += sample;
        ctx.run(sim, t, "restoring");
        int restored = sampleStates(fresh, mine, t, tLoss, states, series);
        if (restored == mine.size()) {
          restoredAt = t;
          break;
        }
      }
      int back = identical(fresh, mine);
      ReplicaCore core = sim.replica(victim);
      ctx.report().put("wipe and restore", Report.row("own fragments", mine.size(),
          "restored byte-identical", back, "share restored", back / (double) mine.size(),
          "time to restore ms", restoredAt < 0 ? -1 : restoredAt - tWipe,
          "bytes fetched by the node", core == null ? 0 : core.status().bytesMoved(),
          "replication bytes on the network", sim.applicationBytesSent() - bytesAtWipe));
      ctx.report().finding(String.format(Locale.ROOT, "After losing its whole disk the node "
          + "restored %.1f%% of its fragments byte-identical from its holders%s.",
          100.0 * back / mine.size(), restoredAt < 0 ? " (not complete within "
              + repairMax / 1000 + " s)" : String.format(Locale.ROOT, " in %.1f s",
                  (restoredAt - tWipe) / 1e3)));
    }
    ctx.report().put("fragments by state", states);
    double[] x = series.stream().mapToDouble(v -> v[0]).toArray();
    ctx.report().plot(new Plot("fragments-by-state.png", "Fragments of node " + victim
        + " by state", "seconds since the loss", "fragments", false, false, List.of(
            new Plot.Series("present and intact", x,
                series.stream().mapToDouble(v -> v[1]).toArray(), true),
            new Plot.Series("blank or missing", x,
                series.stream().mapToDouble(v -> v[2]).toArray(), true),
            new Plot.Series("present but corrupt (not yet read)", x,
                series.stream().mapToDouble(v -> v[3]).toArray(), true))));
    ctx.traffic(m, "");
  }

  private static int minOf(Map<FragmentId, Integer> copies) {
    return copies.values().stream().mapToInt(Integer::intValue).min().orElse(0);
  }

  /**
   * Counts the node's fragments by what a reader would get, without touching the store's
   * state (a corrupt fragment not yet read still says PRESENT there). Returns the intact count.
   */
  private static int sampleStates(InMemoryFragmentStore store, List<Fragment> mine, long t,
      long tLoss, List<Map<String, Object>> rows, List<double[]> series) {
    var stats = store.stats().byState();
    int intact = identical(store, mine);
    long present = stats.getOrDefault(FragmentState.PRESENT, 0L);
    int corrupt = (int) Math.max(0, present - intact);
    int missing = mine.size() - intact - corrupt;
    double s = (t - tLoss) / 1000.0;
    rows.add(Report.row("time s", s, "intact", intact, "blank or missing", missing,
        "corrupt unread", corrupt));
    series.add(new double[] {s, intact, missing, corrupt});
    return intact;
  }

  /** Own fragments held PRESENT with exactly the bytes that were written. */
  private static int identical(InMemoryFragmentStore store, List<Fragment> mine) {
    int n = 0;
    for (Fragment f : mine) {
      if (store.keptBytesForTest(f.id()).map(b -> b.equals(f.signed())).orElse(false)) {
        n++;
      }
    }
    return n;
  }
}
