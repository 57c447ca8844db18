package dev.mycelium.sim.scenario;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaStatus;
import dev.mycelium.sim.engine.OverlaySim;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SplittableRandom;

/**
 * The stores of a simulated replicating network: shared fragments on in-memory stores, seen
 * exactly (every node's copies, the bytes a store keeps) without disturbing them. Loss is
 * injected through the store's test hooks, and a read that finds a fragment BLANK queues its
 * repair as a node's read path does.
 */
final class SimReplication implements Cluster.Replication {
  private final ScenarioContext ctx;
  private final OverlaySim sim;
  private final int factor;
  private final long grownAt;
  private final List<Fragment> written = new ArrayList<>();
  private final List<Integer> owners = new ArrayList<>();
  /** Each node's repair counters at its last damage; none after a wipe, which starts anew. */
  private final Map<Integer, ReplicaStatus> since = new HashMap<>();

  SimReplication(ScenarioContext ctx, OverlaySim sim, int factor, long grownAt) {
    this.ctx = ctx;
    this.sim = sim;
    this.factor = factor;
    this.grownAt = grownAt;
  }

  @Override
  public boolean sealed() {
    return false;
  }

  /** Fragments are stamped with the time the network finished growing. */
  @Override
  public int write(int owner, int textBytes, SplittableRandom random) {
    Fragment f = Replicas.newFragment(sim, owner, written.size(), textBytes, random, grownAt);
    if (!sim.put(owner, f)) {
      throw new IllegalStateException("node " + owner + " is up but refused a put");
    }
    written.add(f);
    owners.add(owner);
    return written.size() - 1;
  }

  /** Counts every node's copies once per simulated second; never -1, as it was before. */
  @Override
  public Cluster.Placement awaitPlaced(long timeoutMillis) {
    List<FragmentId> all = written.stream().map(Fragment::id).toList();
    long t = grownAt;
    Map<FragmentId, Integer> copies = Replicas.liveCopies(sim, all);
    while (t < grownAt + timeoutMillis && minOf(copies) < factor) {
      t += 1_000;
      ctx.run(sim, t, "replicating");
      copies = Replicas.liveCopies(sim, all);
    }
    return new Cluster.Placement(t - grownAt, OptionalInt.of(minOf(copies)),
        OptionalDouble.of(copies.values().stream().mapToInt(Integer::intValue).average()
            .orElse(0)), OptionalInt.empty());
  }

  private static int minOf(Map<FragmentId, Integer> copies) {
    return copies.values().stream().mapToInt(Integer::intValue).min().orElse(0);
  }

  /** Even positions in {@code lost} lose their bytes, odd ones rot. */
  @Override
  public Cluster.Damage damage(int node, List<Integer> lost) {
    InMemoryFragmentStore store = sim.store(node);
    int blanked = 0;
    int corrupted = 0;
    for (int k = 0; k < lost.size(); k++) {
      FragmentId id = written.get(lost.get(k)).id();
      if (k % 2 == 0) {
        store.markBlank(id);
        blanked++;
      } else {
        store.corruptForTest(id);
        corrupted++;
      }
    }
    since.put(node, sim.replica(node).status());
    return new Cluster.Damage(blanked, corrupted,
        String.format(Locale.ROOT, "%d blanked, %d corrupted", blanked, corrupted));
  }

  @Override
  public Cluster.Lookup lookup(int node, int fragment) {
    Fragment f = written.get(fragment);
    Optional<StoredFragment> got = sim.store(node).get(f.id());
    if (got.isEmpty()) {
      return Cluster.Lookup.FAILED;
    }
    if (got.get().state() == FragmentState.BLANK) {
      sim.onBlank(node, f.id());
      return got.get().fragment().isPresent() ? Cluster.Lookup.WRONG : Cluster.Lookup.BLANK;
    }
    boolean same = got.get().state() == FragmentState.PRESENT
        && got.get().fragment().map(x -> x.signed().equals(f.signed())).orElse(false);
    return same ? Cluster.Lookup.INTACT : Cluster.Lookup.WRONG;
  }

  @Override
  public OptionalInt scrub(int node) {
    InMemoryFragmentStore store = sim.store(node);
    int found = 0;
    for (Fragment f : own(node)) {
      if (store.check(f.id()) != FragmentState.PRESENT) {
        found++;
        sim.onBlank(node, f.id());
      }
    }
    return OptionalInt.of(found);
  }

  /**
   * Reads the bytes the store keeps instead of reading through it, so a corrupt fragment
   * stays unread: it counts as PRESENT but not intact, the rest as BLANK.
   */
  @Override
  public Optional<Cluster.Tally> tally(int node) {
    List<Fragment> mine = own(node);
    int intact = identical(node);
    long present = sim.store(node).stats().byState().getOrDefault(FragmentState.PRESENT, 0L);
    int corrupt = (int) Math.max(0, present - intact);
    return Optional.of(new Cluster.Tally(intact + corrupt, mine.size() - intact - corrupt, 0,
        OptionalInt.of(intact)));
  }

  @Override
  public Cluster.Repairs repairs(int node) {
    ReplicaCore core = sim.replica(node);
    if (core == null) {
      return new Cluster.Repairs(0, 0, 0);
    }
    ReplicaStatus now = core.status();
    ReplicaStatus from = since.get(node);
    return from == null ? new Cluster.Repairs(now.repairsDone(), now.repairsFailed(),
        now.bytesMoved()) : new Cluster.Repairs(now.repairsDone() - from.repairsDone(),
            now.repairsFailed() - from.repairsFailed(), now.bytesMoved() - from.bytesMoved());
  }

  @Override
  public int identical(int node) {
    InMemoryFragmentStore store = sim.store(node);
    int n = 0;
    for (Fragment f : own(node)) {
      if (store.keptBytesForTest(f.id()).map(b -> b.equals(f.signed())).orElse(false)) {
        n++;
      }
    }
    return n;
  }

  @Override
  public String wipe(int node) {
    sim.wipeDisk(node, sim.now());
    ctx.run(sim, sim.now(), "wipe");
    since.remove(node);
    return "its whole disk";
  }

  @Override
  public OptionalLong networkBytes() {
    return OptionalLong.of(sim.applicationBytesSent());
  }

  private List<Fragment> own(int node) {
    List<Fragment> mine = new ArrayList<>();
    for (int k = 0; k < written.size(); k++) {
      if (owners.get(k) == node) {
        mine.add(written.get(k));
      }
    }
    return mine;
  }
}
