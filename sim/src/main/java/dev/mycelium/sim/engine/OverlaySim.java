package dev.mycelium.sim.engine;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.node.NodeCore;
import dev.mycelium.overlay.node.NodeEffect;
import dev.mycelium.overlay.node.SharedKnowledgeCore;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaEffect;
import dev.mycelium.overlay.replica.ReplicaEvent;
import dev.mycelium.overlay.replica.ReplicaSealer;
import dev.mycelium.overlay.replica.StoreOwnFragments;
import dev.mycelium.overlay.search.NetworkSearch;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Many {@link NodeCore}s on one {@link Simulator} and one {@link NetworkModel}: the same
 * composed node the daemon runs (overlay, and on request replication and network search),
 * driven by virtual time. Each node is woken exactly at its core's {@link
 * NodeCore#nextDeadline()}, as the daemon's driver wakes it. Messages travel as objects (their serialized
 * size is counted, not produced as bytes on a socket), so a thousand nodes run in seconds.
 *
 * <p>Randomness: a root {@link SplittableRandom} from the seed gives, in node index order, one
 * stream per node (for the node's core) and one per node for its outgoing links; a restarted
 * node gets a fresh split of its own stream. Node IDs are derived from the seed and the index.
 * So a run replays exactly from its seed.
 *
 * <p>Node faults: crash (state lost, in-flight messages to it dropped), restart (a fresh core
 * with the same ID rejoins through the seeds), graceful leave, pause (deliveries and timers
 * queue and run when the pause ends, as after a long GC pause), slow processing (messages wait
 * in a queue and each takes a fixed time), and disk wipes and bit flips, which the overlay
 * keeps no disk state for and which are reported to listeners so that simulated stores apply
 * them.
 *
 * <p>Replication (optional, {@link #withReplication}): each node's core also holds a {@link
 * ReplicaCore} over an in-memory fragment store and replica store; the node core routes its
 * messages and events to it as it does in the daemon. Node IDs are
 * then Ed25519 keys derived from the seed, because a replica core's ID is its owner key. A crash
 * drops both cores and keeps the stores (the disk survives); a disk wipe empties them, and the
 * node restores from its holders when it next boots.
 */
public final class OverlaySim {
  /** What a simulated node is doing. */
  public enum Status { NOT_STARTED, UP, PAUSED, CRASHED }

  private final class SimNode {
    final int index;
    final PeerAddress address;
    final SplittableRandom coreStream;
    final SplittableRandom linkRandom;
    NodeCore core;
    long wakeAt = Long.MAX_VALUE;
    Status status = Status.NOT_STARTED;
    int epoch;
    final List<Runnable> deferred = new ArrayList<>();
    boolean tickDeferred;
    long bytesSent;
    long messagesSent;
    long messagesReceived;
    long slowUntil;
    long perMessageMillis;
    long busyUntil;
    OwnerKeys keys;
    InMemoryFragmentStore store;
    InMemoryHeldReplicas held;
    boolean needsRestore;

    SimNode(int index, PeerAddress address, SplittableRandom coreStream,
        SplittableRandom linkRandom) {
      this.index = index;
      this.address = address;
      this.coreStream = coreStream;
      this.linkRandom = linkRandom;
    }
  }

  private final Simulator sim = new Simulator();
  private final long seed;
  private final OverlayConfig config;
  private final NetworkModel network;
  private final List<SimNode> nodes = new ArrayList<>();
  private final Map<NodeId, Integer> indexOf = new HashMap<>();
  private final List<SimListener> listeners = new ArrayList<>();
  private final List<String> subscriptions = new ArrayList<>();
  private long trace = 17;
  private long messagesDelivered;
  private long wakeUps;
  private final Map<NodeId, Long> penalized = new HashMap<>();
  private long messagesSent;
  private long bytesSent;
  private int live;
  private ReplicaConfig replicaConfig;
  private FragmentCodec codec;
  private long replicaTickMillis;
  private long applicationBytes;
  private long applicationMessages;
  private int searchMaxHops;
  private IntFunction<List<String>> sharedTopics;
  private SharedIngest sharedIngest;
  private long searchLocalMillis;
  private BiFunction<Integer, NetworkSearchRequest, List<NetworkSearchHit>> localSearch =
      (i, q) -> List.of();
  private final Map<ByteString, SearchTrace> searches = new HashMap<>();
  private long searchMessages;
  private long searchBytes;
  private long penalties;
  private final Map<Integer, Outbound> outbound = new HashMap<>();

  /**
   * What a scripted node really sends when its core asks to send {@code env} to {@code to}:
   * a hostile node that runs an honest core and lies by script (drops, rewrites or adds
   * messages). Returns the envelopes to send instead (empty: drop).
   */
  @FunctionalInterface
  public interface Outbound {
    List<Envelope> rewrite(int from, NodeId to, Envelope env);
  }

  public OverlaySim(long seed, int nodeCount, OverlayConfig config, NetworkModel network) {
    this(seed, nodeCount, config, network, false);
  }

  /**
   * A simulation whose nodes also run the replication core with {@code replicaConfig}, over
   * in-memory stores that use {@code codec}; every node subscribes to
   * {@link ReplicaCore#RESTORE_TOPIC}. A node's replication is woken at its own deadline, as
   * in the daemon (a node with nothing to do sleeps until its next anti-entropy round or scrub
   * step), but never sooner than {@code replicaTickMillis} after its last tick: the daemon's
   * {@code replication.tick}, 200 ms by default, within which the per-tick budgets count.
   */
  public static OverlaySim withReplication(long seed, int nodeCount, OverlayConfig config,
      NetworkModel network, ReplicaConfig replicaConfig, FragmentCodec codec,
      long replicaTickMillis) {
    if (replicaTickMillis < 1) {
      throw new IllegalArgumentException("replica tick must be >= 1 ms, got "
          + replicaTickMillis);
    }
    OverlaySim sim = new OverlaySim(seed, nodeCount, config, network, true);
    sim.replicaTickMillis = replicaTickMillis;
    sim.replicaConfig = replicaConfig;
    sim.codec = codec;
    sim.subscribeAll(ReplicaCore.RESTORE_TOPIC);
    return sim;
  }

  private OverlaySim(long seed, int nodeCount, OverlayConfig config, NetworkModel network,
      boolean ownerKeys) {
    if (nodeCount < 1) {
      throw new IllegalArgumentException("a simulation needs at least one node, got " + nodeCount);
    }
    this.seed = seed;
    this.config = config;
    this.network = network;
    SplittableRandom root = new SplittableRandom(seed);
    for (int i = 0; i < nodeCount; i++) {
      OwnerKeys keys = ownerKeys ? OwnerKeys.fromSeed(sha256(seed, i)) : null;
      NodeId id = keys != null ? keys.nodeId() : NodeId.of(sha256(seed, i));
      PeerAddress address = new PeerAddress(id, "sim", 10_000 + i % 50_000);
      SimNode n = new SimNode(i, address, root.split(), root.split());
      n.keys = keys;
      nodes.add(n);
      indexOf.put(id, i);
    }
  }

  private static byte[] sha256(long seed, int i) {
    try {
      return MessageDigest.getInstance("SHA-256")
          .digest(ByteBuffer.allocate(12).putLong(seed).putInt(i).array());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  // ---- setup ----

  public OverlaySim listen(SimListener listener) {
    listeners.add(listener);
    return this;
  }

  /** Every node (and every restarted node) subscribes to this topic. */
  public OverlaySim subscribeAll(String topic) {
    subscriptions.add(topic);
    for (SimNode n : nodes) {
      if (n.core != null) {
        n.core.subscribe(topic);
      }
    }
    return this;
  }

  // ---- node actions, scheduled at virtual times ----

  /** Starts node i without seeds (the first node of a network). */
  public void start(int i, long at) {
    sim.at(at, () -> {
      SimNode n = node(i);
      boot(n);
      apply(n, n.core.start(sim.now()));
    });
  }

  /** Starts node i and joins through the given seed nodes. */
  public void join(int i, long at, List<Integer> seedIndexes) {
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status != Status.UP) {
        boot(n);
      }
      List<PeerAddress> seeds = new ArrayList<>();
      for (int s : seedIndexes) {
        seeds.add(node(s).address);
      }
      apply(n, n.core.join(sim.now(), seeds));
    });
  }

  private void boot(SimNode n) {
    boolean restart = n.status != Status.NOT_STARTED;
    if (n.status == Status.NOT_STARTED || n.status == Status.CRASHED) {
      live++;
    }
    n.epoch++;
    n.slowUntil = 0;
    n.busyUntil = 0;
    if (restart) {
      fault(n, new NodeFault.Restart());
    }
    OverlayNode overlay = new OverlayNode(config, n.address, n.coreStream.split(),
        SimCrypto.signer(n.address.id()), SimCrypto.verifier(), sim.now());
    ReplicaCore replica = replicaConfig != null ? newReplica(n) : null;
    n.core = new NodeCore(overlay);
    n.wakeAt = Long.MAX_VALUE;
    for (String t : subscriptions) {
      n.core.subscribe(t);
    }
    n.status = Status.UP;
    n.deferred.clear();
    n.tickDeferred = false;
    if (replica != null) {
      attachReplica(n, replica);
    }
    if (searchMaxHops > 0) {
      n.core.attachSearch(new NetworkSearch(n.address.id(),
          NetworkSearch.Limits.defaults(searchMaxHops), n.coreStream.split()));
    }
    if (sharedTopics != null) {
      n.core.attachShared(new SharedKnowledgeCore(n.address.id(),
          sharedTopics.apply(n.index), SHARED_DEFAULT_TOPIC));
    }
    reschedule(n);
  }

  /**
   * A fresh replica core over the node's stores (kept across crashes; new and empty on the
   * first boot and after a wipe, in which case the core asks its holders for everything).
   */
  private ReplicaCore newReplica(SimNode n) {
    if (n.store == null) {
      n.store = new InMemoryFragmentStore(codec, Long.MAX_VALUE, sim::now);
      n.held = new InMemoryHeldReplicas();
    }
    return new ReplicaCore(replicaConfig, n.keys, n.address,
        new StoreOwnFragments(n.store, codec, n.keys.nodeId(), ReplicaSealer.sharedOnly(n.keys)),
        n.held, n.coreStream.split(), sim.now());
  }

  /**
   * Attaches (or, after a disk wipe, replaces) the node's replica core: it advertises a fixed
   * room and never counts itself idle, which is about the repair budget only (it repairs at
   * the busy rate, {@code repairsPerTick}, as a node whose user keeps writing would): between
   * its deadlines the node sleeps all the same.
   */
  private void attachReplica(SimNode n, ReplicaCore replica) {
    long now = sim.now();
    apply(n, n.core.attachReplica(now, new NodeCore.ReplicaPart(replica, replicaTickMillis,
        false, Long.MAX_VALUE, null)));
    apply(n, n.core.setCapacity(now, new Capacity(1_000_000, 0.2f)));
    if (n.needsRestore) {
      n.needsRestore = false;
      apply(n, n.core.replicate(now, r -> r.restore(now)));
    }
  }

  /** Wakes node n at its core's deadline {@code at} (unless a nearer wake-up replaced it). */
  private void wake(SimNode n, int epoch, long at) {
    if (n.epoch != epoch || n.status == Status.CRASHED || n.wakeAt != at) {
      return;
    }
    n.wakeAt = Long.MAX_VALUE;
    if (n.status == Status.PAUSED) {
      n.tickDeferred = true;
      return;
    }
    if (n.core.nextDeadline() > sim.now()) {
      // The work this wake-up was for went away (an Ack came before the probe timed out):
      // nothing is due, so only the next deadline is set.
      reschedule(n);
      return;
    }
    wakeUps++;
    apply(n, n.core.tick(sim.now()));
  }

  /** Schedules the node's one wake-up at its core's next deadline, if that moved earlier. */
  private void reschedule(SimNode n) {
    if (n.core == null || n.status != Status.UP) {
      return;
    }
    long at = n.core.nextDeadline();
    if (at >= n.wakeAt) {
      return;
    }
    n.wakeAt = at;
    int epoch = n.epoch;
    sim.at(Math.max(at, sim.now()), () -> wake(n, epoch, at));
  }

  /**
   * Grows the network in waves, for networks too large to grow one node at a time (100,000
   * nodes joining 20 ms apart is half an hour of simulated time with most of the network up):
   * node 0 starts alone at {@code start}; each wave, spread evenly over {@code waveMillis},
   * adds as many nodes as there already are, each joining through up to three nodes of
   * earlier waves (picked from a stream derived from the seed). The network doubles every
   * wave, so it grows in {@code log2(N)} waves and costs about two waves of the whole network.
   * Returns the time at which the last wave ends.
   */
  public long growInWaves(long start, long waveMillis) {
    if (waveMillis < 1) {
      throw new IllegalArgumentException("a wave must last >= 1 ms, got " + waveMillis);
    }
    SplittableRandom pick = new SplittableRandom(seed ^ 0x3A7E5L);
    start(0, start);
    int existing = 1;
    long waveStart = start;
    while (existing < nodes.size()) {
      int count = Math.min(existing, nodes.size() - existing);
      for (int j = 0; j < count; j++) {
        join(existing + j, waveStart + j * waveMillis / count, seedsAmong(pick, existing));
      }
      existing += count;
      waveStart += waveMillis;
    }
    return waveStart;
  }

  /** Up to three distinct nodes among the first {@code n}. */
  private static List<Integer> seedsAmong(SplittableRandom pick, int n) {
    List<Integer> seeds = new ArrayList<>();
    for (int k = 0; k < Math.min(3, n); k++) {
      int s = pick.nextInt(n);
      if (!seeds.contains(s)) {
        seeds.add(s);
      }
    }
    return seeds;
  }

  /**
   * Grows the network one node at a time: node 0 starts alone at {@code start}, node i joins
   * {@code staggerMillis} later than node i-1 through up to three earlier nodes as seeds (picked
   * from a stream derived from the seed).
   */
  public void growAll(long start, long staggerMillis) {
    SplittableRandom pick = new SplittableRandom(seed ^ 0x5EED5EEDL);
    start(0, start);
    for (int i = 1; i < nodes.size(); i++) {
      join(i, start + i * staggerMillis, seedsAmong(pick, i));
    }
  }

  /** Crashes node i: its state is lost and messages to it vanish. */
  public void crash(int i, long at) {
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status == Status.CRASHED || n.status == Status.NOT_STARTED) {
        return;
      }
      stop(n);
      fault(n, new NodeFault.Crash());
    });
  }

  private void stop(SimNode n) {
    n.status = Status.CRASHED;
    n.epoch++;
    n.core = null;
    n.wakeAt = Long.MAX_VALUE;
    n.deferred.clear();
    live--;
  }

  /** Node i leaves gracefully (tells its active view), then is down as after a crash. */
  public void leave(int i, long at) {
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status != Status.UP) {
        return;
      }
      apply(n, n.core.leave(sim.now()));
      stop(n);
      fault(n, new NodeFault.Leave());
    });
  }

  /**
   * From {@code at}, for {@code durationMillis}, node i handles one message at a time and each
   * takes {@code perMessageMillis}: an overloaded node whose answers come late.
   */
  public void slow(int i, long at, long perMessageMillis, long durationMillis) {
    if (perMessageMillis < 0 || durationMillis < 0) {
      throw new IllegalArgumentException("slow needs per-message and duration >= 0 ms");
    }
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status == Status.UP || n.status == Status.PAUSED) {
        n.slowUntil = sim.now() + durationMillis;
        n.perMessageMillis = perMessageMillis;
        fault(n, new NodeFault.Slow(perMessageMillis, durationMillis));
      }
    });
  }

  /**
   * Node i loses its data directory (reported to listeners; the overlay keeps none). With
   * replication its stores are emptied: a running node restarts its replica core over them at
   * once and restores; a down node restores when it boots.
   */
  public void wipeDisk(int i, long at) {
    sim.at(at, () -> {
      SimNode n = node(i);
      fault(n, new NodeFault.DiskWipe());
      if (replicaConfig != null) {
        n.store = null;
        n.held = null;
        n.needsRestore = true;
        if (n.status == Status.UP) {
          attachReplica(n, newReplica(n));
        }
      }
    });
  }

  /** {@code count} bits of node i's store flip (reported to listeners that hold stores). */
  public void flipBits(int i, long at, int count) {
    if (count < 1) {
      throw new IllegalArgumentException("bit flips need count >= 1, got " + count);
    }
    sim.at(at, () -> {
      SimNode n = node(i);
      fault(n, new NodeFault.BitFlips(count, n.linkRandom.nextLong()));
    });
  }

  private void fault(SimNode n, NodeFault f) {
    for (SimListener l : listeners) {
      l.onFault(sim.now(), n.index, f);
    }
  }

  /** Restarts a crashed node with empty state; it rejoins through the seeds. */
  public void restart(int i, long at, List<Integer> seedIndexes) {
    join(i, at, seedIndexes);
  }

  /** Pauses node i for a while: nothing it receives or should do runs until it resumes. */
  public void pause(int i, long at, long durationMillis) {
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status != Status.UP) {
        return;
      }
      n.status = Status.PAUSED;
      fault(n, new NodeFault.Pause(durationMillis));
      int epoch = n.epoch;
      sim.after(durationMillis, () -> resume(n, epoch));
    });
  }

  private void resume(SimNode n, int epoch) {
    if (n.epoch != epoch || n.status != Status.PAUSED) {
      return;
    }
    n.status = Status.UP;
    List<Runnable> backlog = new ArrayList<>(n.deferred);
    n.deferred.clear();
    for (Runnable r : backlog) {
      if (n.status == Status.UP && n.epoch == epoch) {
        r.run();
      }
    }
    if (n.tickDeferred) {
      n.tickDeferred = false;
      apply(n, n.core.tick(sim.now()));
    }
    reschedule(n);
  }

  /** Node i broadcasts. */
  public void broadcast(int i, long at, String topic, ByteString payload, int priority) {
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status == Status.UP) {
        apply(n, n.core.broadcast(sim.now(), topic, payload, priority));
      }
    });
  }

  /**
   * A message from an arbitrary (possibly rogue, possibly unknown) sender to node i, for
   * attacks and garbage. Arrives after one latency draw; loss does not apply.
   */
  public void inject(NodeId from, int to, long at, Envelope envelope) {
    sim.at(at, () -> deliver(node(to), node(to).epoch, from, -1, envelope));
  }

  /**
   * From now on, every message node i's core sends goes through {@code rewrite} first (a
   * hostile node that speaks the protocol but lies by script); null restores honest sending.
   */
  public void intercept(int i, Outbound rewrite) {
    node(i);
    if (rewrite == null) {
      outbound.remove(i);
    } else {
      outbound.put(i, rewrite);
    }
  }

  /**
   * Now: node i sends {@code env} to {@code to} over its links (latency, loss and counting
   * apply, the interceptor does not): a scripted message. Returns false if node i is not up.
   */
  public boolean sendFrom(int i, NodeId to, Envelope env) {
    SimNode n = node(i);
    if (n.status != Status.UP || n.core == null) {
      return false;
    }
    send(n, to, env);
    return true;
  }

  /**
   * Now: runs any call on node i's whole core and carries out its effects (through the
   * interceptor, as the core's own sends), if the node is up.
   */
  public void act(int i, Function<NodeCore, List<NodeEffect>> call) {
    SimNode n = node(i);
    if (n.core != null && n.status == Status.UP) {
      apply(n, call.apply(n.core));
    }
  }

  /** Runs an arbitrary action at a virtual time (for scenario steps and measurements). */
  public void at(long time, Runnable action) {
    sim.at(time, action);
  }

  public void at(long time, Consumer<OverlaySim> action) {
    sim.at(time, () -> action.accept(this));
  }

  // ---- the engine ----

  /** Carries out a node core's effects, as the daemon's driver does, then sets its wake-up. */
  private void apply(SimNode n, List<NodeEffect> effects) {
    long now = sim.now();
    for (NodeEffect e : effects) {
      if (n.core == null) {
        return;
      }
      if (e instanceof NodeEffect.Send s) {
        Outbound o = outbound.get(n.index);
        if (o == null) {
          send(n, s.to(), s.envelope());
        } else {
          for (Envelope env : o.rewrite(n.index, s.to(), s.envelope())) {
            send(n, s.to(), env);
          }
        }
      } else if (e instanceof NodeEffect.OverlayReport r) {
        trace = trace * 31 + (now ^ n.index) * 7 + r.event().getClass().getSimpleName().hashCode();
        for (SimListener l : listeners) {
          l.onEvent(now, n.index, r.event());
        }
      } else if (e instanceof NodeEffect.ReplicaReport r) {
        ReplicaEvent ev = r.event();
        trace = trace * 31 + (now ^ n.index) * 11 + ev.getClass().getSimpleName().hashCode();
        for (SimListener l : listeners) {
          l.onReplicaEvent(now, n.index, ev);
        }
      } else if (e instanceof NodeEffect.Penalized p) {
        penalties++;
        penalized.merge(p.peer(), 1L, Long::sum);
      } else if (e instanceof NodeEffect.SearchLocally l) {
        List<NetworkSearchHit> hits = localSearch.apply(n.index, l.request());
        int epoch = n.epoch;
        sim.after(searchLocalMillis, () -> {
          if (n.epoch == epoch && n.status == Status.UP) {
            apply(n, n.core.onLocalResult(sim.now(), l.requestId(), hits));
          }
        });
      } else if (e instanceof NodeEffect.CheckHits c) {
        // Simulated hits are not signed; every hit passes the check.
        apply(n, n.core.onCheckedResponse(now, c.from(), c.response(), List.of()));
      } else if (e instanceof NodeEffect.IngestShared i) {
        String topic = i.topic().substring(SharedKnowledgeCore.TOPIC_PREFIX.length());
        if (!sharedIngest.ingest(now, n.index, i.origin(), topic, i.payload())) {
          apply(n, n.core.onSharedRejected(now, i.origin(), "does not check"));
        }
      } else if (e instanceof NodeEffect.SearchCompleted c) {
        SearchTrace t = searches.remove(c.requestId());
        if (t != null) {
          t.completedAt = now;
          t.outcome = c.outcome();
          if (t.done != null) {
            t.done.accept(t);
          }
        }
      }
    }
    reschedule(n);
  }

  private void send(SimNode from, NodeId toId, Envelope env) {
    Integer to = indexOf.get(toId);
    int size = env.getSerializedSize();
    from.bytesSent += size;
    from.messagesSent++;
    messagesSent++;
    bytesSent += size;
    if (OverlayNode.isApplication(env)) {
      applicationMessages++;
      applicationBytes += size;
    }
    if (env.hasSearchRequest() || env.hasSearchResponse()) {
      searchMessages++;
      searchBytes += size;
    }
    if (to == null) {
      return;
    }
    for (SimListener l : listeners) {
      l.onSend(sim.now(), from.index, to, env, size);
    }
    SimNode target = nodes.get(to);
    int epoch = target.epoch;
    NodeId fromId = from.address.id();
    for (long delay : network.deliveries(from.index, to, env, from.linkRandom, sim.now())) {
      sim.after(delay, () -> deliver(target, epoch, fromId, from.index, env));
    }
  }

  private void deliver(SimNode n, int epoch, NodeId from, int fromIndex, Envelope env) {
    if (n.epoch != epoch || n.status == Status.CRASHED || n.status == Status.NOT_STARTED) {
      return;
    }
    if (n.status == Status.PAUSED) {
      n.deferred.add(() -> deliver(n, epoch, from, fromIndex, env));
      return;
    }
    if (n.slowUntil > sim.now() && n.perMessageMillis > 0) {
      long done = Math.max(sim.now(), n.busyUntil) + n.perMessageMillis;
      n.busyUntil = done;
      sim.at(done, () -> process(n, epoch, from, fromIndex, env));
      return;
    }
    process(n, epoch, from, fromIndex, env);
  }

  private void process(SimNode n, int epoch, NodeId from, int fromIndex, Envelope env) {
    if (n.epoch != epoch || n.status != Status.UP) {
      if (n.epoch == epoch && n.status == Status.PAUSED) {
        n.deferred.add(() -> process(n, epoch, from, fromIndex, env));
      }
      return;
    }
    messagesDelivered++;
    n.messagesReceived++;
    trace = trace * 31 + sim.now() * 1_000_003L + (long) fromIndex * 8191 + n.index * 131
        + env.getBodyCase().getNumber();
    if (env.hasSearchResponse()) {
      SearchTrace t = searches.get(env.getSearchResponse().getRequestId());
      if (t != null && t.origin == n.index) {
        t.answered(sim.now(), env.getSearchResponse());
      }
    }
    apply(n, n.core.onMessage(sim.now(), from, env));
  }

  // ---- replication ----

  /** Whether the nodes run replica cores ({@link #withReplication}). */
  public boolean replicating() {
    return replicaConfig != null;
  }

  /** The codec of the simulated stores, or null without replication. */
  public FragmentCodec codec() {
    return codec;
  }

  /** The replica core of node i, or null if it is down or replication is off. */
  public ReplicaCore replica(int i) {
    SimNode n = node(i);
    return n.core == null ? null : n.core.replica().orElse(null);
  }

  /** The whole node core of node i, or null if it is not running. */
  public NodeCore nodeCore(int i) {
    return node(i).core;
  }

  // ---- shared knowledge ----

  /** The topic of a shared fragment whose metadata names none. */
  public static final String SHARED_DEFAULT_TOPIC = "general";

  /** What a node does with a shared fragment its core hands it to check and keep. */
  public interface SharedIngest {
    /** Returns false when the fragment does not check (its origin is then distrusted). */
    boolean ingest(long now, int node, NodeId origin, String topic, ByteString payload);
  }

  /**
   * Every node (booted from now on) also runs shared knowledge, receiving the topics {@code
   * topics} gives for its index; what the daemon would check and store goes to {@code ingest}.
   */
  public OverlaySim withSharedKnowledge(IntFunction<List<String>> topics,
      SharedIngest ingest) {
    this.sharedTopics = Objects.requireNonNull(topics, "topics");
    this.sharedIngest = Objects.requireNonNull(ingest, "ingest");
    return this;
  }

  /** Node i publishes a shared fragment (its bytes) on a topic, as a user's put would. */
  public void publishShared(int i, long at, String topic, ByteString payload, int ttl) {
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status == Status.UP) {
        apply(n, n.core.publishShared(sim.now(), topic, payload, 1, ttl));
      }
    });
  }

  // ---- network search ----

  /**
   * Every node (booted from now on) also runs the network search core with this hop limit.
   * A peer's request is answered from {@code localSearch} (node index, request: that node's
   * shared hits) after {@code localMillis} of simulated search time. Hits are not signed: the
   * driver's check passes them all.
   */
  public OverlaySim withNetworkSearch(int maxHops, long localMillis,
      BiFunction<Integer, NetworkSearchRequest, List<NetworkSearchHit>> localSearch) {
    if (maxHops < 1 || localMillis < 0) {
      throw new IllegalArgumentException("network search needs max hops >= 1 and a local "
          + "search time >= 0 ms, got " + maxHops + " and " + localMillis);
    }
    this.searchMaxHops = maxHops;
    this.searchLocalMillis = localMillis;
    this.localSearch = Objects.requireNonNull(localSearch, "local search");
    return this;
  }

  /**
   * One network search from a node: when it started, when each answer of a neighbour reached
   * the origin and how many distinct hits had arrived by then, and the outcome.
   */
  public static final class SearchTrace {
    final int origin;
    final long startedAt;
    final Consumer<SearchTrace> done;
    long completedAt = -1;
    NetworkSearch.Outcome outcome;
    private final Set<ByteString> seen = new HashSet<>();
    private final List<long[]> arrivals = new ArrayList<>();

    SearchTrace(int origin, long startedAt, Consumer<SearchTrace> done) {
      this.origin = origin;
      this.startedAt = startedAt;
      this.done = done;
    }

    void answered(long now, NetworkSearchResponse r) {
      for (NetworkSearchHit h : r.getHitsList()) {
        seen.add(h.getFragment().getSignature().concat(h.getFragment().getBody()));
      }
      arrivals.add(new long[] {now - startedAt, seen.size()});
    }

    public int origin() {
      return origin;
    }

    public long startedAt() {
      return startedAt;
    }

    /** Milliseconds from start to the outcome, or -1 while running. */
    public long millisToComplete() {
      return completedAt < 0 ? -1 : completedAt - startedAt;
    }

    /** The outcome, or null while running. */
    public NetworkSearch.Outcome outcome() {
      return outcome;
    }

    /** Milliseconds from start until {@code k} distinct hits had reached the origin, or -1. */
    public long millisToHit(int k) {
      for (long[] a : arrivals) {
        if (a[1] >= k) {
          return a[0];
        }
      }
      return -1;
    }
  }

  /**
   * Starts a network search from node i at {@code at}; {@code done} receives the trace when
   * the origin's core completes it (never if the node goes down first).
   */
  public void search(int i, long at, NetworkSearchRequest query, int hops, long budgetMillis,
      Consumer<SearchTrace> done) {
    sim.at(at, () -> {
      SimNode n = node(i);
      if (n.status != Status.UP || n.core == null) {
        return;
      }
      SearchTrace t = new SearchTrace(i, sim.now(), done);
      NodeCore.SearchStarted s = n.core.startSearch(sim.now(), query, hops, budgetMillis);
      searches.put(s.requestId(), t);
      apply(n, s.effects());
    });
  }

  /** Search requests and answers handed to the network. */
  public long searchMessagesSent() {
    return searchMessages;
  }

  /** Bytes of search requests and answers handed to the network. */
  public long searchBytesSent() {
    return searchBytes;
  }

  /** Penalties any node's core gave any peer (honest runs should have none but attacks). */
  /** How many times each peer was penalized by any node. */
  public Map<NodeId, Long> penalizedPeers() {
    return Map.copyOf(penalized);
  }

  public long penalties() {
    return penalties;
  }

  /** Node i's own-fragment store (kept while it is down), or null before its first boot. */
  public InMemoryFragmentStore store(int i) {
    return node(i).store;
  }

  /** Node i's store of replicas held for others, or null before its first boot. */
  public InMemoryHeldReplicas held(int i) {
    return node(i).held;
  }

  /** Node i's owner keys (replication only). */
  public OwnerKeys keys(int i) {
    return node(i).keys;
  }

  /**
   * Now: node i (up, replicating) stores {@code f} locally and replicates it. Call from an
   * action scheduled with {@link #at}. Returns false if the node is not up.
   */
  public boolean put(int i, Fragment f) {
    SimNode n = node(i);
    if (n.core == null || n.core.replica().isEmpty() || n.status != Status.UP) {
      return false;
    }
    n.store.put(f);
    apply(n, n.core.replicaPut(sim.now(), f.id()));
    return true;
  }

  /** Now: a read on node i found its own fragment {@code id} BLANK; the core queues a repair. */
  public void onBlank(int i, FragmentId id) {
    drive(i, r -> r.onBlank(sim.now(), id));
  }

  /** Now: runs any call on node i's replica core and carries out its effects (if it is up). */
  public void drive(int i, Function<ReplicaCore, List<ReplicaEffect>> call) {
    SimNode n = node(i);
    if (n.core != null && n.status == Status.UP) {
      apply(n, n.core.replicate(sim.now(), call));
    }
  }

  /** Bytes of application (replication) envelopes handed to the network. */
  public long applicationBytesSent() {
    return applicationBytes;
  }

  public long applicationMessagesSent() {
    return applicationMessages;
  }

  // ---- running and looking ----

  public void runUntil(long time) {
    sim.runUntil(time);
  }

  public void runFor(long millis) {
    sim.runFor(millis);
  }

  public long now() {
    return sim.now();
  }

  public long seed() {
    return seed;
  }

  public int size() {
    return nodes.size();
  }

  public OverlayConfig config() {
    return config;
  }

  public NetworkModel network() {
    return network;
  }

  /** The overlay of node i, or null if it is not running. */
  public OverlayNode core(int i) {
    SimNode n = node(i);
    return n.core == null ? null : n.core.overlay();
  }

  public Status status(int i) {
    return node(i).status;
  }

  public NodeId id(int i) {
    return node(i).address.id();
  }

  /** The address node i listens on (what it tells peers in Join, Neighbor and shuffles). */
  public PeerAddress address(int i) {
    return node(i).address;
  }

  /** The index of a node ID, or -1. */
  public int indexOf(NodeId id) {
    Integer i = indexOf.get(id);
    return i == null ? -1 : i;
  }

  /** Active view of node i as indexes (empty if the node is down). */
  public int[] activeView(int i) {
    SimNode n = node(i);
    if (n.core == null) {
      return new int[0];
    }
    List<NodeId> view = n.core.overlay().activeView();
    int[] out = new int[view.size()];
    for (int k = 0; k < out.length; k++) {
      out[k] = indexOf(view.get(k));
    }
    return out;
  }

  /** Passive view of node i as indexes (empty if the node is down). */
  public int[] passiveView(int i) {
    SimNode n = node(i);
    if (n.core == null) {
      return new int[0];
    }
    List<NodeId> view = n.core.overlay().passiveView();
    int[] out = new int[view.size()];
    for (int k = 0; k < out.length; k++) {
      out[k] = indexOf(view.get(k));
    }
    return out;
  }

  /** Nodes that are up or paused (a paused node is alive, only late). */
  public int liveCount() {
    return live;
  }

  public boolean isLive(int i) {
    Status s = node(i).status;
    return s == Status.UP || s == Status.PAUSED;
  }

  public long bytesSent(int i) {
    return node(i).bytesSent;
  }

  public long messagesSent(int i) {
    return node(i).messagesSent;
  }

  public long totalMessagesSent() {
    return messagesSent;
  }

  public long totalBytesSent() {
    return bytesSent;
  }

  public long totalMessagesDelivered() {
    return messagesDelivered;
  }

  public long eventsProcessed() {
    return sim.eventsProcessed();
  }

  /** Times a node core was woken at its deadline ({@code NodeCore#tick}), over all nodes. */
  public long wakeUps() {
    return wakeUps;
  }

  /**
   * A digest of everything that happened (deliveries, reported events and their times): two
   * runs with one seed and one scenario end with the same value.
   */
  public long traceHash() {
    return trace;
  }

  private SimNode node(int i) {
    if (i < 0 || i >= nodes.size()) {
      throw new IllegalArgumentException("no node " + i + " (there are " + nodes.size() + ")");
    }
    return nodes.get(i);
  }
}
