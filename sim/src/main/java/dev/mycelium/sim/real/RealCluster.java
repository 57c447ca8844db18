package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.scenario.Cluster;
import dev.mycelium.sim.scenario.Metrics;
import dev.mycelium.sim.scenario.Reach;
import dev.mycelium.sim.scenario.ScenarioContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * The real substrate of a {@link Cluster}: node processes on loopback ({@link RealNetwork}),
 * driven through their HTTP API on the wall clock. A broadcast is a shared fragment put on its
 * origin; while the scenario waits, every running node is polled for each open broadcast, so a
 * node's time is the first poll that found the fragment (an upper bound, one poll sweep
 * coarse). What real nodes cannot show (payload copies, injected latency, loss on broadcast
 * traffic alone) is reported as absent. Verdicts are read the same way: once recording, every
 * answering node's peers are polled at each step, and a verdict is a change between two polls.
 */
final class RealCluster implements Cluster, AutoCloseable {
  private final RealContext ctx;
  private final RealNetwork net;
  private final long pollMillis;
  private final long watchMillis;
  private final Map<String, Watch> watches = new LinkedHashMap<>();
  private final ExecutorService pool;
  private final SplittableRandom lossSeeds;
  private boolean grown;
  private boolean lossSet;
  private int broadcasts;
  private long sweeps;
  private long sweepMillis;
  private final PriorityQueue<Due> due = new PriorityQueue<>(
      Comparator.comparingLong(Due::at).thenComparingLong(Due::order));
  private long scheduled;
  private final Map<Integer, Map<Integer, Seen>> seen = new HashMap<>();
  private final Map<Opinion, List<Metrics.Verdict>> verdicts = new EnumMap<>(Opinion.class);
  private boolean recording;
  private long peerPolls;
  private long peerPollMillis;

  /** An action due at a time; ties run in the order they were scheduled. */
  private record Due(long at, long order, Runnable action) {}

  /** What one node last said of one peer: its detector state and whether it is a neighbour. */
  private record Seen(String state, boolean active, boolean linked) {}

  private static final Seen UNSEEN = new Seen("", false, false);

  /** One broadcast: when it is due, and when each node was first seen holding it. */
  private static final class Watch {
    final String label;
    final int origin;
    final long due;
    long putAt = -1;
    /** When the polling for it started, or started again after a heal. */
    long watchFrom;
    String id;
    boolean failed;
    boolean closed;
    long[] seen = new long[0];

    Watch(String label, int origin, long due) {
      this.label = label;
      this.origin = origin;
      this.due = due;
    }
  }

  RealCluster(RealContext ctx) {
    this.ctx = ctx;
    this.net = ctx.net();
    this.pollMillis = ctx.config().getLong("real.poll-ms");
    this.watchMillis = ctx.config().getLong("real.watch-ms");
    this.pool = Executors.newFixedThreadPool(8);
    this.lossSeeds = ctx.random("loss seeds");
  }

  @Override
  public ScenarioContext ctx() {
    return ctx.base();
  }

  @Override
  public boolean simulated() {
    return false;
  }

  @Override
  public void fresh() {
    if (!grown) {
      ctx.grow();
      grown = true;
      return;
    }
    watches.values().forEach(w -> w.closed = true);
    if (lossSet) {
      loss(0, false);
      lossSet = false;
    }
    BitSet up = net.up();
    int killed = 0;
    SplittableRandom r = ctx.random("rejoin");
    for (int i = 0; i < net.size(); i++) {
      if (!up.get(i)) {
        net.restart(i, List.of(randomLive(r)));
        killed++;
      }
    }
    if (killed == 0) {
      return;
    }
    long back = ctx.waitFor(() -> {
      List<Integer> comps = net.graph().componentSizes();
      return comps.size() == 1 && comps.get(0) == net.size();
    }, REJOIN_TIMEOUT_MILLIS, "rejoining");
    ctx.report().finding(String.format(Locale.ROOT, "Before the next phase the %d killed "
        + "nodes restarted on their files; all %d nodes were one component again after %s.",
        killed, net.size(), back < 0 ? "more than " + REJOIN_TIMEOUT_MILLIS + " ms"
            : back + " ms"));
  }

  /** How long killed nodes may take to restart and rejoin before a phase. */
  private static final long REJOIN_TIMEOUT_MILLIS = 60_000;

  @Override
  public void growWithCheckpoints(int checkpoints, IntConsumer atCheckpoint) {
    if (grown) {
      throw new IllegalStateException("real nodes grow once per run");
    }
    int n = ctx.nodes();
    List<Integer> marks = new ArrayList<>();
    for (int c = 1; c <= checkpoints; c++) {
      marks.add((int) Math.round(n * (double) c / checkpoints));
    }
    ctx.growTo(n, joined -> {
      if (marks.contains(joined) && joined < n) {
        atCheckpoint.accept(joined);
      }
    });
    ctx.sleep(ctx.config().getLong("real.settle-ms"), "settling");
    grown = true;
    atCheckpoint.accept(n);
  }

  @Override
  public long now() {
    return net.millis();
  }

  @Override
  public void runUntil(long time, String phase) {
    do {
      pump(phase);
      RealContext.pause(Math.min(time - now(), untilNextDue(pollMillis)));
    } while (now() < time);
    pump(phase);
  }

  @Override
  public long waitFor(BooleanSupplier done, long timeoutMillis, String phase) {
    long start = now();
    while (true) {
      pump(phase);
      if (done.getAsBoolean()) {
        return now() - start;
      }
      long left = start + timeoutMillis - now();
      if (left <= 0) {
        return -1;
      }
      RealContext.pause(Math.min(left, untilNextDue(pollMillis)));
    }
  }

  /**
   * Runs the actions and puts that are due, polls the open broadcasts (and the peers, when
   * recording verdicts) once, samples traffic and shows progress.
   */
  private void pump(String phase) {
    while (!due.isEmpty() && due.peek().at() <= now()) {
      due.poll().action().run();
    }
    for (Watch w : watches.values()) {
      if (w.putAt < 0 && !w.failed && now() >= w.due) {
        put(w);
      }
    }
    sweep();
    if (recording) {
      pollPeers();
    }
    ctx.tick(phase);
  }

  private long untilNextDue(long atMost) {
    long next = due.isEmpty() ? atMost : Math.min(atMost, due.peek().at() - now());
    for (Watch w : watches.values()) {
      if (w.putAt < 0 && !w.failed) {
        next = Math.min(next, w.due - now());
      }
    }
    return Math.max(0, next);
  }

  /** Puts a broadcast's fragment; one that does not answer in time is reported as not sent. */
  private void put(Watch w) {
    w.putAt = now();
    w.watchFrom = w.putAt;
    w.seen = new long[net.size()];
    Arrays.fill(w.seen, -1);
    w.id = ctx.tryPut(w.origin, ctx.text(w.label, 200), true);
    if (w.id == null) {
      w.failed = true;
    } else {
      // The origin holds it once the put has answered: it stores before it publishes.
      w.seen[w.origin] = now() - w.putAt;
    }
  }

  /**
   * Asks every running node that has not yet shown an open broadcast whether it holds it, a
   * few requests at a time, so that one slow node does not hold up the others' readings.
   */
  private void sweep() {
    long start = now();
    List<Callable<Void>> asks = new ArrayList<>();
    for (Watch w : watches.values()) {
      if (w.id == null || w.closed) {
        continue;
      }
      if (start - w.watchFrom > watchMillis) {
        continue;
      }
      for (int i = 0; i < w.seen.length; i++) {
        if (w.seen[i] < 0 && net.answers(i)) {
          int node = i;
          asks.add(() -> {
            if (ctx.has(node, w.id)) {
              w.seen[node] = now() - w.putAt;
            }
            return null;
          });
        }
      }
    }
    if (asks.isEmpty()) {
      return;
    }
    askAll(asks);
    sweeps++;
    sweepMillis += now() - start;
  }

  /** Sends the requests a few at a time and waits for all of them. */
  private void askAll(List<Callable<Void>> asks) {
    try {
      for (Future<Void> f : pool.invokeAll(asks)) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("polling the nodes failed: " + e.getCause(), e.getCause());
    }
  }

  @Override
  public int size() {
    return net.size();
  }

  @Override
  public boolean isLive(int i) {
    return net.isUp(i);
  }

  @Override
  public int liveCount() {
    return net.up().cardinality();
  }

  @Override
  public int randomLive(SplittableRandom random) {
    int[] live = net.up().stream().filter(net::answers).toArray();
    if (live.length == 0) {
      throw new IllegalStateException("no running node left");
    }
    return live[random.nextInt(live.length)];
  }

  @Override
  public GraphStats graph() {
    return net.graph();
  }

  @Override
  public int[] knownBy() {
    return net.knownBy();
  }

  @Override
  public void loss(double rate, boolean broadcastOnly) {
    if (broadcastOnly) {
      throw new IllegalArgumentException("real nodes cannot drop broadcast traffic alone: their "
          + "fault API drops every frame a node receives; set broadcast.loss-applies-to = all");
    }
    BitSet up = net.up();
    for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
      setLoss(i, rate, lossSeeds.nextLong());
    }
    lossSet = rate > 0;
  }

  private void setLoss(int i, double rate, long seed) {
    setFault(i, "loss rate", () -> net.loss(i, rate, seed));
  }

  /**
   * Changes one of node {@code i}'s injected faults, trying again when a loaded node does not
   * answer in time (a change replaces the setting, so asking twice is harmless).
   */
  private void setFault(int i, String what, Runnable change) {
    for (int attempt = 1; ; attempt++) {
      try {
        change.run();
        return;
      } catch (CliException e) {
        if (attempt == 3) {
          throw new IllegalStateException("node " + i + " did not take its " + what + " after "
              + "3 tries: " + e.getMessage(), e);
        }
      }
    }
  }

  /**
   * Summed over the nodes that answer; a node that does not answer in time adds nothing, so
   * this is a lower bound.
   */
  @Override
  public long droppedByLoss() {
    return sumOfAnswers("/v1/debug/faults", "dropped");
  }

  /** Cuts through each node's fault API (PUT /v1/debug/faults). */
  @Override
  public void partition(BitSet a, BitSet b, boolean bothWays) {
    List<Integer> sideA = a.stream().boxed().toList();
    List<Integer> sideB = b.stream().boxed().toList();
    for (int i : sideA) {
      cut(i, sideB);
    }
    if (bothWays) {
      for (int j : sideB) {
        cut(j, sideA);
      }
    } else {
      ctx.report().finding("On real nodes a one-way cut blocks both directions: a node that "
          + "cuts a peer drops their shared TCP link and refuses the peer's dials, so the "
          + "other side loses the link too. Only the simulated network can drop one direction "
          + "of a link alone.");
    }
  }

  /**
   * Lifts the cut on every node that answers. A heal can carry broadcasts across that the cut
   * held back, so every broadcast of this phase is polled for again, for {@code real.watch-ms}
   * from the heal.
   */
  @Override
  public long heal(long at) {
    if (now() < at) {
      runUntil(at, "healing");
    }
    for (int i = 0; i < net.size(); i++) {
      if (net.answers(i)) {
        cut(i, List.of());
      }
    }
    long healed = now();
    watches.values().forEach(w -> w.watchFrom = healed);
    return healed;
  }

  private void cut(int i, List<Integer> others) {
    setFault(i, "partition", () -> net.partition(i, others));
  }

  @Override
  public String broadcast(int origin, long at, String label) {
    String key = label + "#" + (broadcasts++);
    watches.put(key, new Watch(key, origin, at));
    return key;
  }

  @Override
  public Reach reach(String label) {
    Watch w = watches.get(label);
    if (w == null) {
      throw new IllegalArgumentException("no broadcast " + label);
    }
    long[] seen = Arrays.copyOf(w.seen, net.size());
    for (int i = w.seen.length; i < seen.length; i++) {
      seen[i] = -1;
    }
    return new Reach(!w.failed, seen);
  }

  @Override
  public OptionalDouble copies(String label) {
    return OptionalDouble.empty();
  }

  @Override
  public void traffic(String label) {
    ctx.traffic(label);
  }

  @Override
  public void measureMemory() {
    // The nodes run in their own processes; their memory is theirs to report.
  }

  @Override
  public void nodeLoss(int i, double rate) {
    setLoss(i, rate, lossSeeds.nextLong());
  }

  @Override
  public void pause(int i, long at, long millis) {
    at(at, () -> {
      if (net.isUp(i)) {
        net.pause(i);
      }
    });
    at(at + millis, () -> {
      if (net.isUp(i)) {
        net.resume(i);
      }
    });
  }

  /** A real process has no hook between frames to delay, and starving its CPU slows them all. */
  @Override
  public boolean slow(int i, long at, long perMessageMillis, long millis) {
    return false;
  }

  /** At once when it is due and nothing scheduled is due before it; else in its turn. */
  @Override
  public void crash(int i, long at) {
    if (at <= now() && (due.isEmpty() || due.peek().at() > at)) {
      net.kill(i);
    } else {
      at(at, () -> net.kill(i));
    }
  }

  @Override
  public void at(long time, Runnable action) {
    due.add(new Due(time, scheduled++, action));
  }

  @Override
  public int[] activeHolders(int peer) {
    pollPeers();
    return net.up().stream().filter(o -> o != peer && seen.getOrDefault(o, Map.of())
        .getOrDefault(peer, UNSEEN).active()).toArray();
  }

  @Override
  public void recordVerdicts() {
    pollPeers();
    recording = true;
  }

  @Override
  public Optional<List<Metrics.Verdict>> verdicts(Opinion kind) {
    return Optional.of(verdicts.getOrDefault(kind, List.of()));
  }

  /** Asks every answering node for its peers and, when recording, notes what changed. */
  private void pollPeers() {
    long start = now();
    List<Callable<Void>> asks = new ArrayList<>();
    BitSet up = net.up();
    for (int o = up.nextSetBit(0); o >= 0; o = up.nextSetBit(o + 1)) {
      if (!net.answers(o)) {
        continue;
      }
      int observer = o;
      asks.add(() -> {
        try {
          JsonNode peers = net.api(observer).get("/v1/peers").path("peers");
          synchronized (this) {
            heard(observer, peers, now());
          }
        } catch (CliException e) {
          // A node that does not answer in time keeps what it said last.
        }
        return null;
      });
    }
    askAll(asks);
    peerPolls++;
    peerPollMillis += now() - start;
  }

  /** Node {@code o}'s peers at {@code time}; a peer it no longer lists is no neighbour. */
  private void heard(int o, JsonNode peers, long time) {
    Map<Integer, Seen> before = seen.computeIfAbsent(o, k -> new HashMap<>());
    Set<Integer> listed = new HashSet<>();
    for (JsonNode p : peers) {
      int j = net.indexOf(p.path("node_id").asText());
      if (j < 0) {
        continue;
      }
      listed.add(j);
      boolean active = "ACTIVE".equals(p.path("view").asText());
      changed(o, j, time, new Seen(p.path("state").isNull() ? "" : p.path("state").asText(),
          active, active && p.path("connected").asBoolean()));
    }
    for (int j : new ArrayList<>(before.keySet())) {
      if (!listed.contains(j)) {
        changed(o, j, time, new Seen(before.get(j).state(), false, false));
      }
    }
  }

  private void changed(int o, int j, long time, Seen now) {
    Seen was = seen.get(o).getOrDefault(j, UNSEEN);
    seen.get(o).put(j, now);
    if (!recording) {
      return;
    }
    // A peer declared dead between two polls was suspected first, whether or not a poll saw it.
    boolean suspectedBefore = was.state().equals("SUSPECT") || was.state().equals("DEAD");
    boolean suspectedNow = now.state().equals("SUSPECT") || now.state().equals("DEAD");
    say(suspectedNow && !suspectedBefore, Opinion.SUSPECTED, o, j, time);
    say(now.state().equals("DEAD") && !was.state().equals("DEAD"), Opinion.DEAD, o, j, time);
    say(was.state().equals("SUSPECT") && now.state().equals("ALIVE"), Opinion.REFUTED, o, j,
        time);
    say(was.active() && !now.active(), Opinion.LEFT_VIEW, o, j, time);
    say(!was.active() && now.active(), Opinion.ENTERED_VIEW, o, j, time);
    say(was.linked() && !now.linked(), Opinion.LINK_LOST, o, j, time);
  }

  private void say(boolean when, Opinion kind, int node, int peer, long time) {
    if (when) {
      verdicts.computeIfAbsent(kind, k -> new ArrayList<>())
          .add(new Metrics.Verdict(time, node, peer));
    }
  }

  /** Says how the real measurements were taken, and stops the poller. */
  @Override
  public void close() {
    pool.shutdownNow();
    if (!restartMillis.isEmpty()) {
      ctx.report().finding(String.format(Locale.ROOT, "A real node that comes back restarts "
          + "on its own files, so it rejoins through the peers it saved (peers.json) as well as "
          + "through the seeds it is given, where a simulated node comes back with empty "
          + "overlay state. A restart takes real time, and one thread drives the network, so "
          + "while a node restarts no other node leaves and no reading is taken: here %d "
          + "restarts until ready took median %.1f s, at most %.1f s (a JVM start, and after a "
          + "SIGKILL the recovery of the stores that were not closed cleanly).",
          restartMillis.size(), ScenarioContext.percentile(restartMillis, 50) / 1000.0,
          ScenarioContext.percentile(restartMillis, 100) / 1000.0));
    }
    if (recording) {
      ctx.report().finding(String.format(Locale.ROOT, "Verdicts on real nodes are changes "
          + "between two readings of a node's GET /v1/peers, every running node polled every "
          + "%d ms or less (a poll of all of them took %d ms on average): a state held for less "
          + "than one poll can be missed, a verdict's time is that of the first poll that "
          + "showed it, and a refutation is a peer seen SUSPECT and then ALIVE.", pollMillis,
          peerPolls == 0 ? 0 : peerPollMillis / peerPolls));
    }
    if (!watches.isEmpty()) {
      ctx.report().finding(String.format(Locale.ROOT, "Broadcast times on real nodes are upper"
          + " bounds: a node counts from the poll that first found the shared fragment "
          + "PRESENT; every running node was polled for every open broadcast in sweeps every "
          + "%d ms or less (a sweep took %d ms on average). The links are loopback TCP without"
          + " added delay, so the times measure the nodes' processing and Plumtree's timers, "
          + "not propagation delay as the simulated 20-80 ms links do. Payload copies are not"
          + " counted: the nodes do not export how many copies Plumtree sends.", pollMillis,
          sweeps == 0 ? 0 : sweepMillis / sweeps));
    }
  }

  /** The processes as {@link #fresh()} leaves them; the factor comes from the node settings. */
  @Override
  public Replication replicating(int factor) {
    fresh();
    return new RealReplication(ctx, this, factor);
  }

  // ---- nodes leaving and returning, and fragments replicated among them ----

  /** How long each {@link #restart} took until the node answered. */
  private final List<Long> restartMillis = new ArrayList<>();

  @Override
  public void leave(int i) {
    net.stop(i);
  }

  @Override
  public void restart(int i, List<Integer> seeds) {
    long begun = now();
    net.restart(i, seeds.stream().distinct().toList());
    restartMillis.add(now() - begun);
  }

  /** A private fragment, of text unique in the run; {@code random} is not needed. */
  @Override
  public Optional<String> write(int owner, int serial, int textBytes, SplittableRandom random) {
    return Optional.ofNullable(ctx.tryPut(owner, ctx.text("fragment " + serial + " of node "
        + owner, textBytes), false));
  }

  @Override
  public boolean readable(int owner, String id) {
    return ctx.has(owner, id);
  }

  @Override
  public Optional<Map<String, Integer>> liveCopies(Collection<String> ids) {
    return Optional.empty();
  }

  /**
   * From every answering node's {@code GET /v1/repair} (held PRESENT); a node that does not
   * answer in time adds nothing, so this is a lower bound.
   */
  @Override
  public long heldReplicas() {
    return sumOfAnswers("/v1/repair", "held", "PRESENT");
  }

  /**
   * The number at {@code field} in every answering node's answer to {@code GET route}, summed;
   * a node that does not answer in time is left out.
   */
  private long sumOfAnswers(String route, String... field) {
    long sum = 0;
    for (int i = 0; i < net.size(); i++) {
      if (net.answers(i)) {
        try {
          JsonNode n = net.api(i).get(route);
          for (String f : field) {
            n = n.path(f);
          }
          sum += n.asLong();
        } catch (CliException e) {
          // Left out of the sum.
        }
      }
    }
    return sum;
  }

  /** From the owner's {@code GET /v1/repair}. */
  @Override
  public List<Integer> holders(int owner) {
    if (!net.answers(owner)) {
      return List.of();
    }
    List<Integer> out = new ArrayList<>();
    try {
      for (JsonNode h : net.api(owner).get("/v1/repair").path("holders")) {
        int j = net.indexOf(h.asText());
        if (j >= 0) {
          out.add(j);
        }
      }
    } catch (CliException e) {
      return List.of();
    }
    return out;
  }

  /** From every running node's {@code GET /v1/peers}, asked one after the other. */
  @Override
  public ViewReading readViews() {
    RealNetwork.Views v = net.views();
    int answered = 0;
    int entries = 0;
    int stale = 0;
    int empty = 0;
    for (int i = v.up().nextSetBit(0); i >= 0; i = v.up().nextSetBit(i + 1)) {
      if (v.activeEntries()[i] != null) {
        answered++;
        if (v.activeEntries()[i].length == 0) {
          empty++;
        }
        for (int j : v.activeEntries()[i]) {
          entries++;
          if (!v.up().get(j)) {
            stale++;
          }
        }
      }
    }
    return new ViewReading(v.graph(), answered, entries, stale, empty);
  }
}
