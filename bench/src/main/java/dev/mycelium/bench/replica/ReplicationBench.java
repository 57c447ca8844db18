package dev.mycelium.bench.replica;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.replica.Candidate;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaEffect;
import dev.mycelium.overlay.replica.ReplicaSealer;
import dev.mycelium.overlay.replica.StoreOwnFragments;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * How fast the replication core moves an owner's fragments to a new holder, in one process with
 * no network: the CPU cost of the protocol itself (the owner reads and signs each replica, the
 * holder verifies and stores it, acks travel back). An owner with n shared fragments places them
 * on three holders; then one holder dies and the owner streams everything to its replacement.
 * Wall-clock rates depend on the machine's load, so the re-replication rate is also given per
 * CPU-second of the single thread that runs every core here; the network adds to the cost, never
 * subtracts.
 *
 * <p>Usage: {@code ReplicationBench [n] [seed]}, defaults 20000 and 1.
 */
public final class ReplicationBench {
  private ReplicationBench() {}

  private static final FragmentCodec CODEC = new FragmentCodec(FragmentLimits.DEFAULTS);

  private static OwnerKeys keys(int n) {
    byte[] s = new byte[32];
    s[0] = (byte) n;
    s[30] = 3;
    return OwnerKeys.fromSeed(s);
  }

  private record Msg(NodeId from, NodeId to, Envelope env) {}

  /** Runs the measurement; see the class comment for the arguments. */
  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    long seed = args.length > 1 ? Long.parseLong(args[1]) : 1;
    long now = 1_700_000_000_000L;
    OwnerKeys ownerKeys = keys(1);
    InMemoryFragmentStore store = new InMemoryFragmentStore(CODEC);
    SplittableRandom r = new SplittableRandom(seed);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 1024; i++) {
      text.append((char) ('a' + r.nextInt(26)));
    }
    float[] vector = new float[384];
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      vector[i % 384] = (float) r.nextDouble();
      store.put(CODEC.create(ownerKeys, now + i, text.toString(), vector, Map.of(),
          Visibility.SHARED));
    }
    long t1 = System.nanoTime();
    ReplicaConfig config = ReplicaConfig.DEFAULTS;
    Map<NodeId, ReplicaCore> cores = new HashMap<>();
    PeerAddress ownerAddress = new PeerAddress(ownerKeys.nodeId(), "10.0.0.1", 7000);
    ReplicaCore owner = new ReplicaCore(config, ownerKeys, ownerAddress,
        new StoreOwnFragments(store, CODEC, ownerKeys.nodeId(), ReplicaSealer.sharedOnly(ownerKeys)),
        new InMemoryHeldReplicas(), new SplittableRandom(seed), now);
    cores.put(owner.id(), owner);
    List<Candidate> peers = new ArrayList<>();
    for (int i = 2; i <= 5; i++) {
      OwnerKeys k = keys(i);
      PeerAddress a = new PeerAddress(k.nodeId(), "10.0.0." + i, 7000);
      InMemoryFragmentStore own = new InMemoryFragmentStore(CODEC);
      cores.put(k.nodeId(), new ReplicaCore(config, k, a,
          new StoreOwnFragments(own, CODEC, k.nodeId(), ReplicaSealer.sharedOnly(k)),
          new InMemoryHeldReplicas(), new SplittableRandom(seed + i), now));
      peers.add(new Candidate(a, new Capacity(1_000_000, 0.1f), 0));
    }
    // Three candidates first; the fourth is the spare that replaces the dead holder.
    List<Candidate> firstView = peers.subList(0, 3);
    ArrayDeque<Msg> queue = new ArrayDeque<>();
    long t2 = System.nanoTime();
    enqueue(queue, owner.id(), owner.updatePeers(now, firstView));
    now = pump(cores, queue, owner, now);
    long t3 = System.nanoTime();
    NodeId dead = owner.holders().get(0);
    cores.remove(dead);
    List<Candidate> secondView = new ArrayList<>(peers);
    secondView.removeIf(c -> c.id().equals(dead));
    java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
    long c4 = cpu.getCurrentThreadCpuTime();
    long t4 = System.nanoTime();
    enqueue(queue, owner.id(), owner.onOverlayEvent(now, new OverlayEvent.Dead(dead, 1)));
    enqueue(queue, owner.id(), owner.updatePeers(now, secondView));
    now = pump(cores, queue, owner, now);
    long t5 = System.nanoTime();
    long c5 = cpu.getCurrentThreadCpuTime();
    NodeId replacement = owner.holders().stream()
        .filter(h -> !firstView.stream().anyMatch(c -> c.id().equals(h))).findFirst()
        .orElseThrow();
    long held = cores.get(replacement).status().heldEntries();
    System.out.printf(Locale.ROOT, "fragments: %d (1 KiB text, 384-dim vector, shared)%n", n);
    System.out.printf(Locale.ROOT, "create+sign+store at the owner: %,.0f fragments/s%n",
        n / ((t1 - t0) / 1e9));
    System.out.printf(Locale.ROOT, "initial placement on 3 holders: %,.0f replicas/s (%,.0f fragments/s)%n",
        3.0 * n / ((t3 - t2) / 1e9), n / ((t3 - t2) / 1e9));
    System.out.printf(Locale.ROOT, "re-replication to the replacement: %,.0f fragments/s wall clock,"
        + " %,.0f per CPU-second (%d of %d held, %.1f s)%n",
        n / ((t5 - t4) / 1e9), n / ((c5 - c4) / 1e9), held, n, (t5 - t4) / 1e9);
  }

  private static void enqueue(ArrayDeque<Msg> q, NodeId from, List<ReplicaEffect> effects) {
    for (ReplicaEffect e : effects) {
      if (e instanceof ReplicaEffect.Send s) {
        q.add(new Msg(from, s.to(), s.envelope()));
      }
    }
  }

  /** Ticks every 100 virtual ms and delivers everything until the owner has nothing to stream. */
  private static long pump(Map<NodeId, ReplicaCore> cores, ArrayDeque<Msg> q, ReplicaCore owner,
      long now) {
    do {
      now += 100;
      for (ReplicaCore c : cores.values()) {
        enqueue(q, c.id(), c.tick(now));
      }
      while (!q.isEmpty()) {
        Msg m = q.poll();
        ReplicaCore to = cores.get(m.to);
        if (to != null) {
          enqueue(q, m.to, to.onMessage(now, m.from, m.env));
        }
      }
    } while (owner.status().streamBacklog() > 0);
    return now;
  }
}
