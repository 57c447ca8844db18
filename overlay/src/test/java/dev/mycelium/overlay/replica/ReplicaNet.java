package dev.mycelium.overlay.replica;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * A tiny deterministic network for replication tests: every node runs a {@link ReplicaCore} over
 * in-memory ports, messages arrive after a seeded random latency on a virtual clock, and the
 * overlay is a full mesh (each node's placement candidates are all other live nodes). Nothing
 * here reads the wall clock, so a run replays exactly from its seed.
 *
 * <p>Two ways to drive the cores: every live node ticked every {@link #TICK} ms, or each node
 * ticked only at its core's {@link ReplicaCore#nextDeadline()}, never sooner than {@link #TICK}
 * after its last tick, as {@code NodeCore} spaces them.
 */
final class ReplicaNet {
  static final FragmentCodec CODEC = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  static final long TICK = 100;

  final class Node {
    final OwnerKeys keys;
    final PeerAddress address;
    InMemoryFragmentStore store;
    InMemoryHeldReplicas held;
    ReplicaCore core;
    boolean up = true;
    /** How this node seals its own fragments; shared-only unless a test installs another. */
    ReplicaSealer sealer;
    /** Rewrites what this node sends (a forging holder); null passes everything. */
    BiFunction<NodeId, Envelope, Envelope> tamper;
    final List<ReplicaEvent> events = new ArrayList<>();
    long lastTick = Long.MIN_VALUE / 2;
    long ticks;

    Node(int n) {
      byte[] seed = new byte[32];
      seed[0] = (byte) n;
      seed[1] = (byte) (n >> 8);
      seed[31] = 42;
      keys = OwnerKeys.fromSeed(seed);
      address = new PeerAddress(keys.nodeId(), "10.0.0." + n, 7000);
      sealer = ReplicaSealer.sharedOnly(keys);
      fresh();
    }

    /** Starts the node over empty stores with the same identity (a wiped disk). */
    void fresh() {
      store = new InMemoryFragmentStore(CODEC, Long.MAX_VALUE, () -> now);
      held = new InMemoryHeldReplicas();
      core = new ReplicaCore(config, keys, address,
          new StoreOwnFragments(store, CODEC, keys.nodeId(), sealer),
          held, new SplittableRandom(seed ^ address.hashCode()), now);
    }

    /** Restarts the node over the stores it has (a process restart, disk intact). */
    void restart() {
      core = new ReplicaCore(config, keys, address,
          new StoreOwnFragments(store, CODEC, keys.nodeId(), sealer),
          held, new SplittableRandom(seed ^ address.hashCode() ^ now), now);
    }

    NodeId id() {
      return keys.nodeId();
    }

    /** Stores a new shared fragment locally and replicates it. */
    Fragment write(int n) {
      return write(n, Visibility.SHARED);
    }

    Fragment write(int n, Visibility visibility) {
      Fragment f = CODEC.create(keys, 1_700_000_000_000L + n, "note " + n + " of " + address.host(),
          new float[] {n, 1, 2, 3}, Map.of("n", Integer.toString(n)), visibility);
      store.put(f);
      apply(this, core.put(now, f.id()));
      return f;
    }

    <T extends ReplicaEvent> List<T> events(Class<T> type) {
      return events.stream().filter(type::isInstance).map(type::cast).toList();
    }
  }

  private record Delivery(long at, long seq, NodeId from, NodeId to, Envelope env) {}

  final ReplicaConfig config;
  final boolean atDeadlines;
  final long seed;
  final SplittableRandom random;
  final Map<NodeId, Node> nodes = new LinkedHashMap<>();
  final List<ReplicaEffect.Penalize> penalties = new ArrayList<>();
  private final PriorityQueue<Delivery> queue = new PriorityQueue<>(
      (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
  long now = 1_700_000_000_000L;
  private long seq;
  long messages;
  long bytes;

  ReplicaNet(ReplicaConfig config, long seed, int size) {
    this(config, seed, size, false);
  }

  /** @param atDeadlines whether nodes are ticked at their deadlines instead of every tick */
  ReplicaNet(ReplicaConfig config, long seed, int size, boolean atDeadlines) {
    this.config = config;
    this.atDeadlines = atDeadlines;
    this.seed = seed;
    this.random = new SplittableRandom(seed);
    for (int i = 1; i <= size; i++) {
      Node n = new Node(i);
      nodes.put(n.id(), n);
    }
    refreshViews();
  }

  List<Node> list() {
    return new ArrayList<>(nodes.values());
  }

  Node node(NodeId id) {
    return nodes.get(id);
  }

  /** Every live node sees every other live node as a candidate. */
  void refreshViews() {
    for (Node n : nodes.values()) {
      if (!n.up) {
        continue;
      }
      List<Candidate> c = new ArrayList<>();
      for (Node m : nodes.values()) {
        if (m != n && m.up) {
          c.add(new Candidate(m.address, new Capacity(100_000, 0.2f), 0));
        }
      }
      apply(n, n.core.updatePeers(now, c));
    }
  }

  /** The node crashes: the others' failure detectors declare it dead. */
  void kill(Node dead) {
    dead.up = false;
    for (Node n : nodes.values()) {
      if (n.up) {
        apply(n, n.core.onOverlayEvent(now, new OverlayEvent.Dead(dead.id(), 1)));
      }
    }
    refreshViews();
  }

  /** Messages to and from the node are dropped, and nobody is told (a partition). */
  void partition(Node n) {
    n.up = false;
  }

  void heal(Node n) {
    n.up = true;
  }

  void apply(Node from, List<ReplicaEffect> effects) {
    for (ReplicaEffect e : effects) {
      if (e instanceof ReplicaEffect.Send s) {
        Envelope env = from.tamper == null ? s.envelope() : from.tamper.apply(s.to(), s.envelope());
        messages++;
        bytes += env.getSerializedSize();
        queue.add(new Delivery(now + 2 + random.nextInt(20), seq++, from.id(), s.to(), env));
      } else if (e instanceof ReplicaEffect.Broadcast b) {
        for (Node n : nodes.values()) {
          if (n != from && n.up && from.up) {
            apply(n, n.core.onOverlayEvent(now, new OverlayEvent.Delivered(
                com.google.protobuf.ByteString.copyFrom(new byte[32]), from.id(), b.topic(),
                b.priority(), b.payload())));
          }
        }
      } else if (e instanceof ReplicaEffect.Penalize p) {
        penalties.add(p);
      } else if (e instanceof ReplicaEffect.Report r) {
        from.events.add(r.event());
      }
    }
  }

  /** Runs the clock forward, ticking the live nodes every tick or at their deadlines. */
  void run(long millis) {
    if (atDeadlines) {
      runAtDeadlines(now + millis);
      return;
    }
    long end = now + millis;
    long nextTick = now + TICK;
    while (now < end) {
      long nextAt = queue.isEmpty() ? Long.MAX_VALUE : queue.peek().at;
      if (nextAt <= nextTick && nextAt <= end) {
        deliverNext();
      } else {
        now = Math.min(nextTick, end);
        if (now == nextTick) {
          for (Node n : nodes.values()) {
            if (n.up) {
              apply(n, n.core.tick(now));
            }
          }
          nextTick += TICK;
        }
      }
    }
  }

  /** Delivers the next message in flight, unless its sender or receiver is cut off. */
  private void deliverNext() {
    Delivery d = queue.poll();
    now = Math.max(now, d.at);
    Node from = nodes.get(d.from);
    Node to = nodes.get(d.to);
    if (to != null && to.up && from.up) {
      apply(to, to.core.onMessage(now, d.from, d.env));
    }
  }

  /** When a node is next woken: at its core's deadline, spaced by a tick from its last. */
  private static long wakeAt(Node n) {
    return Math.max(n.core.nextDeadline(), n.lastTick + TICK);
  }

  private void runAtDeadlines(long end) {
    while (true) {
      Node next = null;
      long at = Long.MAX_VALUE;
      for (Node n : nodes.values()) {
        if (n.up && wakeAt(n) < at) {
          at = wakeAt(n);
          next = n;
        }
      }
      long deliverAt = queue.isEmpty() ? Long.MAX_VALUE : queue.peek().at;
      if (Math.min(at, deliverAt) > end) {
        break;
      }
      if (deliverAt <= at) {
        deliverNext();
      } else {
        now = Math.max(now, at);
        next.lastTick = now;
        next.ticks++;
        apply(next, next.core.tick(now));
      }
    }
    now = end;
  }
}
