package dev.mycelium.sim.scenario;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * The simulated substrate of a {@link Cluster}: an {@link OverlaySim} of the scenario's size on
 * a virtual clock, observed exactly through {@link Metrics}. Each {@link #fresh()} builds a new
 * simulation from the same seed, so every phase of a scenario starts from the same network.
 */
final class SimCluster implements Cluster {
  private final ScenarioContext ctx;
  private OverlaySim sim;
  private Metrics metrics;
  private final List<Integer> cuts = new ArrayList<>();

  SimCluster(ScenarioContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public ScenarioContext ctx() {
    return ctx;
  }

  @Override
  public boolean simulated() {
    return true;
  }

  private void build() {
    use(ctx.newSim());
  }

  private void use(OverlaySim built) {
    sim = built;
    metrics = new Metrics(sim);
    cuts.clear();
  }

  private OverlaySim sim() {
    if (sim == null) {
      throw new IllegalStateException("no network yet: call fresh() or growWithCheckpoints()");
    }
    return sim;
  }

  @Override
  public void fresh() {
    build();
    ctx.grow(sim);
  }

  @Override
  public void growWithCheckpoints(int checkpoints, IntConsumer atCheckpoint) {
    build();
    long interval = ctx.config().getLong("grow.join-interval-ms");
    long settle = ctx.config().getLong("grow.settle-ms");
    int n = ctx.nodes();
    sim.growAll(0, interval);
    for (int c = 1; c <= checkpoints; c++) {
      int joined = (int) Math.round(n * (double) c / checkpoints);
      ctx.run(sim, joined * interval + (c == checkpoints ? settle : 0), "growing " + joined);
      atCheckpoint.accept(joined);
    }
  }

  @Override
  public long now() {
    return sim().now();
  }

  @Override
  public void runUntil(long time, String phase) {
    ctx.run(sim(), time, phase);
  }

  @Override
  public long waitFor(BooleanSupplier done, long timeoutMillis, String phase) {
    long start = now();
    ctx.runUntilOr(sim, start + timeoutMillis, phase, done);
    return done.getAsBoolean() ? now() - start : -1;
  }

  @Override
  public int size() {
    return sim().size();
  }

  @Override
  public boolean isLive(int i) {
    return sim().isLive(i);
  }

  @Override
  public int liveCount() {
    return sim().liveCount();
  }

  @Override
  public int randomLive(SplittableRandom random) {
    return ScenarioContext.liveNode(sim(), random);
  }

  @Override
  public GraphStats graph() {
    return GraphStats.of(sim());
  }

  @Override
  public int[] knownBy() {
    return GraphStats.knownBy(sim());
  }

  @Override
  public void loss(double rate, boolean broadcastOnly) {
    sim().network().loss(rate);
    sim.network().lossAppliesTo(broadcastOnly ? BroadcastScenario::broadcastTraffic : e -> true);
  }

  @Override
  public long droppedByLoss() {
    return sim().network().lostToLoss();
  }

  @Override
  public void partition(BitSet a, BitSet b, boolean bothWays) {
    cuts.add(sim().network().partition(a, b, bothWays));
  }

  @Override
  public long heal(long at) {
    List<Integer> lifted = List.copyOf(cuts);
    cuts.clear();
    var network = sim().network();
    sim.at(at, () -> lifted.forEach(network::heal));
    return at;
  }

  @Override
  public String broadcast(int origin, long at, String label) {
    return ctx.broadcast(sim(), metrics, origin, at, label);
  }

  @Override
  public Reach reach(String label) {
    return metrics.reach(label);
  }

  @Override
  public OptionalDouble copies(String label) {
    return OptionalDouble.of(metrics.copies(label));
  }

  @Override
  public void traffic(String label) {
    ctx.traffic(metrics, label);
  }

  @Override
  public void measureMemory() {
    ctx.measureMemory();
  }

  @Override
  public void nodeLoss(int i, double rate) {
    sim().network().nodeLoss(i, rate);
  }

  @Override
  public void pause(int i, long at, long millis) {
    sim().pause(i, at, millis);
  }

  @Override
  public boolean slow(int i, long at, long perMessageMillis, long millis) {
    sim().slow(i, at, perMessageMillis, millis);
    return true;
  }

  @Override
  public void crash(int i, long at) {
    sim().crash(i, at);
  }

  @Override
  public void at(long time, Runnable action) {
    sim().at(time, action);
  }

  @Override
  public int[] activeHolders(int peer) {
    List<Integer> holders = new ArrayList<>();
    for (int i = 0; i < sim().size(); i++) {
      if (sim.isLive(i) && i != peer) {
        for (int j : sim.activeView(i)) {
          if (j == peer) {
            holders.add(i);
          }
        }
      }
    }
    return holders.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public void recordVerdicts() {
    // Metrics has recorded every verdict since the network was built.
  }

  @Override
  public Optional<List<Metrics.Verdict>> verdicts(Opinion kind) {
    return switch (kind) {
      case SUSPECTED -> Optional.of(metrics.suspected);
      case DEAD -> Optional.of(metrics.dead);
      case REFUTED -> Optional.of(metrics.refuted);
      case LEFT_VIEW -> Optional.of(metrics.down);
      case ENTERED_VIEW -> Optional.of(metrics.up);
      // Simulated nodes exchange messages without connections to lose.
      case LINK_LOST -> Optional.empty();
    };
  }

  /** A new simulation from the same seed, every node running the replication core. */
  @Override
  public Replication replicating(int factor) {
    use(ctx.newReplicatingSim(factor));
    return new SimReplication(ctx, sim, factor, ctx.grow(sim));
  }

  // ---- nodes leaving and returning, and fragments replicated among them ----

  /** Ids of the fragments written, by the string {@link #write} answered. */
  private final Map<String, FragmentId> written = new HashMap<>();

  @Override
  public void leave(int i) {
    sim().leave(i, sim.now());
  }

  @Override
  public void restart(int i, List<Integer> seeds) {
    sim().restart(i, sim.now(), seeds);
  }

  @Override
  public Optional<String> write(int owner, int serial, int textBytes, SplittableRandom random) {
    Fragment f = Replicas.newFragment(sim(), owner, serial, textBytes, random, sim.now());
    if (!sim.put(owner, f)) {
      return Optional.empty();
    }
    written.put(f.id().toString(), f.id());
    return Optional.of(f.id().toString());
  }

  @Override
  public boolean readable(int owner, String id) {
    FragmentId f = written.get(id);
    InMemoryFragmentStore store = sim().store(owner);
    return f != null && sim.isLive(owner) && store != null
        && store.get(f).map(x -> x.state() == FragmentState.PRESENT).orElse(false);
  }

  @Override
  public Optional<Map<String, Integer>> liveCopies(Collection<String> ids) {
    List<FragmentId> fragments = ids.stream().map(written::get).toList();
    Map<FragmentId, Integer> copies = Replicas.liveCopies(sim(), fragments);
    Map<String, Integer> out = new LinkedHashMap<>();
    for (String id : ids) {
      out.put(id, copies.get(written.get(id)));
    }
    return Optional.of(out);
  }

  @Override
  public long heldReplicas() {
    long held = 0;
    for (int i = 0; i < sim().size(); i++) {
      InMemoryHeldReplicas h = sim.held(i);
      if (!sim.isLive(i) || h == null) {
        continue;
      }
      long[] present = {0};
      for (NodeId owner : h.owners()) {
        if (!owner.equals(sim.id(i))) {
          h.forEach(owner, (id, deleted) -> present[0] += deleted ? 0 : 1);
        }
      }
      held += present[0];
    }
    return held;
  }

  @Override
  public List<Integer> holders(int owner) {
    ReplicaCore core = sim().replica(owner);
    return core == null ? List.of() : core.holders().stream().map(sim::indexOf).toList();
  }

  @Override
  public ViewReading readViews() {
    int answered = 0;
    int entries = 0;
    int stale = 0;
    int empty = 0;
    for (int i = 0; i < sim().size(); i++) {
      if (sim.isLive(i)) {
        answered++;
        int[] view = sim.activeView(i);
        if (view.length == 0) {
          empty++;
        }
        for (int j : view) {
          entries++;
          if (j < 0 || !sim.isLive(j)) {
            stale++;
          }
        }
      }
    }
    return new ViewReading(GraphStats.of(sim), answered, entries, stale, empty);
  }
}
