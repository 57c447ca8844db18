package dev.mycelium.node.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.StoreStats;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.node.NodeCore;
import dev.mycelium.overlay.node.NodeEffect;
import dev.mycelium.overlay.replica.HeldReplicas;
import dev.mycelium.overlay.replica.OwnFragments;
import dev.mycelium.overlay.replica.RepairScheduler;
import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaEvent;
import dev.mycelium.overlay.replica.ReplicaLimits;
import dev.mycelium.overlay.replica.ReplicaStatus;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replication's face to the rest of the daemon: a thin facade over the node's one driver
 * ({@link PeerService}), which runs the replication core ({@link ReplicaCore}) inside the node
 * core ({@code NodeCore}) on its loop and carries out its effects. This class owns no thread
 * and applies no effect: it attaches the core, turns puts, deletes, BLANK findings, reads and
 * {@code repair run} into inputs, and listens to the core's reports to feed the {@link
 * RepairLedger} (which logs every repair and loss), writes waiting for holders and reads
 * waiting for a copy.
 */
public final class ReplicaService implements RepairControl, BlankReadHook, ReplicationHooks,
    AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaService.class);

  /**
   * What the service needs to start.
   *
   * @param config the core's settings
   * @param keys this node's identity
   * @param peers the running peer service
   * @param own the core's port to this node's fragments
   * @param held the core's port to the replicas held for others
   * @param ownStats counts of the node's own store
   * @param heldStats counts of the replica store
   * @param ownCopy reads an own fragment back from the store (to answer a waiting read)
   * @param restored told of every own fragment a repair put back (to index it)
   * @param deleted told of every own fragment a tombstone from a holder deleted
   * @param tick the shortest time between two replication ticks (the core is ticked at its own
   *     deadline, never sooner than this after its last tick)
   * @param restore whether to run a restore (the node starts with an empty store)
   */
  public record Parts(ReplicaConfig config, OwnerKeys keys, PeerService peers, OwnFragments own,
      HeldReplicas held, Supplier<StoreStats> ownStats, Supplier<StoreStats> heldStats,
      Function<FragmentId, Optional<SignedFragment>> ownCopy, Consumer<FragmentId> restored,
      Consumer<FragmentId> deleted, Duration tick, boolean restore) {}

  private final Parts parts;
  private final PeerService peers;
  private final RepairLedger ledger;
  private final NodeId self;
  private volatile boolean closed;
  /** Checks incoming replicas on every core, for the core on the driver's thread. */
  private final ParallelReplicaVerifier verifier = ParallelReplicaVerifier.forThisMachine();
  /** Own fragments that turned LOST and are not back yet, for searches (read anywhere). */
  private final Set<FragmentId> lost = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile int holderCount;
  /** Holders that confirmed recent puts, readable from request threads without waiting. */
  private final Map<FragmentId, Set<NodeId>> recentConfirmed =
      new java.util.LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<FragmentId, Set<NodeId>> e) {
          return size() > 4096;
        }
      };
  /**
   * The core's snapshot as of the last step that reached it (a tick or an input), so that
   * status pages, metrics and benches never wait behind a long queue of replication work.
   */
  private volatile ReplicaStatus snapshot;

  // Touched only on the driver's loop.
  private final Map<FragmentId, List<Waiter>> writes = new HashMap<>();
  private final Map<FragmentId, List<CompletableFuture<Optional<Fetched>>>> reads =
      new HashMap<>();
  private boolean manualRequested;
  private RepairScheduler.Cycle lastSeenCycle;

  /** A write waiting for {@code w} holders to confirm. */
  private record Waiter(int w, CompletableFuture<Set<NodeId>> done) {}

  private ReplicaService(Parts parts, RepairLedger ledger) {
    this.parts = parts;
    this.peers = parts.peers();
    this.ledger = ledger;
    this.self = parts.keys().nodeId();
  }

  /**
   * Builds the replication core (it loads the digests of what the stores hold), attaches it
   * to the node's driver and starts listening to its reports.
   */
  public static ReplicaService start(Parts parts, RepairLedger ledger) {
    ReplicaService s = new ReplicaService(parts, ledger);
    long tick = Math.max(1, parts.tick().toMillis());
    // Built here, not on the driver's loop: loading the digests reads both stores.
    // Request IDs are an HMAC under this key: a peer cannot guess another peer's request.
    byte[] requestKey = new byte[32];
    new java.security.SecureRandom().nextBytes(requestKey);
    ReplicaCore core = new ReplicaCore(parts.config(), ReplicaLimits.DEFAULTS, parts.keys(),
        parts.peers().self(), parts.own(), parts.held(), new SplittableRandom(), requestKey,
        s.verifier, now());
    s.snapshot = core.status();
    parts.peers().attachReplica(new NodeCore.ReplicaPart(core, tick, parts.restore(),
        IDLE_AFTER_MILLIS, s::capacity), s::report, s::observe);
    ReplicaStatus st = s.coreStatus();
    LOG.info("replication running: factor {}, {} own entries, {} held for {} owners{}",
        parts.config().replicationFactor(), st.ownEntries(), st.heldEntries(), st.heldOwners(),
        parts.restore() ? "; the store is empty, a restore runs once neighbours are up" : "");
    return s;
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  // ---- inputs ----

  /**
   * Quiet this long (no writes or deletes from the node's user) and the node counts as idle:
   * repairs then take the larger per-tick budget, so they catch up while nobody is waiting.
   */
  static final long IDLE_AFTER_MILLIS = 10_000;

  static boolean idle(long now, long lastWriteMillis) {
    return now - lastWriteMillis >= IDLE_AFTER_MILLIS;
  }

  /** Mirrors the core's repair cycles into the ledger, so the surfaces report them. */
  private void observe(ReplicaStatus st) {
    if (closed) {
      return;
    }
    snapshot = st;
    ledger.queue(st.queueLength());
    holderCount = st.holders().size();
    ledger.replicated(st.replicatedBytes());
    RepairScheduler.Cycle last = st.lastCycle();
    if (last != null && !last.equals(lastSeenCycle)) {
      lastSeenCycle = last;
      String trigger = manualRequested ? "manual" : st.restoring() ? "restore" : "schedule";
      manualRequested = false;
      ledger.cycleFinished(new RepairStatus.Cycle(trigger, last.startedAt(), last.endedAt(),
          last.repaired(), last.failed()));
    }
    ledger.running(st.currentCycle() != null);
  }

  /** The room for replicas this node advertises to its neighbours. */
  private Capacity capacity() {
    StoreStats held = parts.heldStats().get();
    long free = Math.max(0, held.capacityEntries() - held.entries());
    float load = (float) Math.min(1.0, Math.max(0.0, held.fillRatio()));
    return new Capacity(free, load);
  }

  private void submit(BiFunction<NodeCore, Long, List<NodeEffect>> input) {
    if (closed) {
      return;
    }
    try {
      peers.drive(input);
    } catch (IllegalStateException e) {
      // The peer service is stopping: the step is dropped, as any work after close is.
    }
  }

  @Override
  public void stored(FragmentId id) {
    submit((c, now) -> c.replicaPut(now, id));
  }

  @Override
  public CompletableFuture<Set<NodeId>> awaitConfirmed(FragmentId id, int w) {
    CompletableFuture<Set<NodeId>> done = new CompletableFuture<>();
    submit((c, now) -> {
      Set<NodeId> already = c.replica().orElseThrow().confirmations(id);
      if (already.size() >= w) {
        done.complete(already);
      } else {
        writes.computeIfAbsent(id, k -> new ArrayList<>()).add(new Waiter(w, done));
      }
      return List.of();
    });
    // A waiter that gave up (timed out, cancelled) leaves the map, so writes whose holders
    // never confirm do not pile up.
    done.whenComplete((s, e) -> {
      if (e != null) {
        submit((c, now) -> {
          List<Waiter> ws = writes.get(id);
          if (ws != null && ws.removeIf(x -> x.done() == done) && ws.isEmpty()) {
            writes.remove(id);
          }
          return List.of();
        });
      }
    });
    return done;
  }

  @Override
  public Set<NodeId> confirmed(FragmentId id) {
    synchronized (recentConfirmed) {
      Set<NodeId> s = recentConfirmed.get(id);
      return s == null ? Set.of() : s;
    }
  }

  @Override
  public List<NodeId> holders() {
    return snapshot.holders();
  }

  @Override
  public void deleted(FragmentId id, SignedTombstone tombstone) {
    submit((c, now) -> c.replicaDelete(now, id, tombstone));
  }

  @Override
  public void blank(FragmentId id) {
    submit((c, now) -> c.replicate(now, r -> r.onBlank(now, id)));
  }

  /**
   * A replica held for {@code owner} failed its check in the replica store (a read or the
   * storage scrubber turned it BLANK): fetch it again from the owner's other holders.
   */
  public void heldBlank(FragmentId id, NodeId owner) {
    submit((c, now) -> c.replicate(now, r -> r.onHeldBlank(now, id, owner)));
  }

  @Override
  public CompletableFuture<Optional<Fetched>> fetchOne(FragmentId id, Optional<NodeId> owner) {
    CompletableFuture<Optional<Fetched>> f = new CompletableFuture<>();
    if (owner.isPresent() && !owner.get().equals(self)) {
      // Another owner's fragment: this node keeps no holders for it.
      f.complete(Optional.empty());
      return f;
    }
    submit((c, now) -> {
      reads.computeIfAbsent(id, k -> new ArrayList<>()).add(f);
      return c.replicate(now, r -> r.fetchNow(now, id, now + r.config().fetchTimeoutMillis()));
    });
    return f;
  }

  /**
   * Whether a copy of a fragment missing here can be had now: it is one of this node's own, it
   * has holders, and its repair has not given up (LOST). For searches, which show substitutes
   * only for hits whose copy cannot be had; answered without waiting for the loop.
   */
  public boolean copyReachable(FragmentId id) {
    return holderCount > 0 && !lost.contains(id) && parts.own().state(id) != null;
  }

  @Override
  public boolean runNow() {
    boolean running = snapshot.currentCycle() != null;
    submit((c, now) -> {
      manualRequested = true;
      return c.repairNow(now);
    });
    return !running;
  }

  @Override
  public RepairStatus status() {
    ReplicaStatus st = coreStatus();
    List<String> holders = new ArrayList<>();
    st.holders().forEach(h -> holders.add(h.toString()));
    return ledger.status(parts.ownStats().get(), parts.heldStats().get())
        .withPlacement(holders, st.manifestVersion(), st.streamBacklog(), st.restoring());
  }

  /**
   * The core's own snapshot (holders, manifest version, stream backlog, counters) as of the
   * last step that reached it, and never waiting for the replication thread. Between steps
   * nothing changes in the core, so it is as fresh as the driver's queue is short.
   */
  public ReplicaStatus coreStatus() {
    return snapshot;
  }

  // ---- reports (on the driver's loop) ----

  private void report(ReplicaEvent ev) {
    if (closed) {
      return;
    }
    if (ev instanceof ReplicaEvent.WriteAcked a) {
      synchronized (recentConfirmed) {
        recentConfirmed.put(a.id(), Set.copyOf(a.confirmed()));
      }
      List<Waiter> ws = writes.get(a.id());
      if (ws != null) {
        ws.removeIf(w -> a.confirmed().size() >= w.w() && w.done().complete(
            Set.copyOf(a.confirmed())));
        if (ws.isEmpty()) {
          writes.remove(a.id());
        }
      }
    } else if (ev instanceof ReplicaEvent.Repaired r) {
      ledger.repaired(r.id(), r.from(), r.bytes(), !r.own());
      if (r.own()) {
        lost.remove(r.id());
        parts.restored().accept(r.id());
        completeReads(r.id(), r.from());
      }
    } else if (ev instanceof ReplicaEvent.RepairFailed f) {
      ledger.failed(f.id(), f.from(), f.reason() + " (attempt " + f.attempts() + ")");
    } else if (ev instanceof ReplicaEvent.Lost l) {
      ledger.lost(l.id(), parts.config().maxAttempts(), !l.owner().equals(self));
      if (l.owner().equals(self)) {
        lost.add(l.id());
      }
      completeReads(l.id(), null);
    } else if (ev instanceof ReplicaEvent.FetchTimedOut t) {
      completeReads(t.id(), null);
    } else if (ev instanceof ReplicaEvent.ForgedReplica f) {
      LOG.warn("rejected a forged or altered replica of {} from {}: {}", f.id(),
          f.from().shortString(), f.reason());
    } else if (ev instanceof ReplicaEvent.ScrubFailed f) {
      LOG.warn("held replica {} of {} failed its scrub ({}); pulling it from another holder",
          f.id(), f.owner().shortString(), f.reason());
    } else if (ev instanceof ReplicaEvent.TombstoneApplied t) {
      if (t.owner().equals(self)) {
        parts.deleted().accept(t.id());
      }
      LOG.info("fragment {} stays deleted: tombstone from {}", t.id(), t.from().shortString());
    } else if (ev instanceof ReplicaEvent.HoldersChanged h) {
      LOG.info("holders now {} (manifest version {}; added {}, removed {})",
          shortIds(h.holders()), h.version(), shortIds(h.added()), shortIds(h.removed()));
    } else if (ev instanceof ReplicaEvent.Released r) {
      LOG.info("owner {} no longer places replicas here (manifest version {}); released",
          r.owner().shortString(), r.version());
    } else if (ev instanceof ReplicaEvent.RestoreStarted s) {
      LOG.info("restore started: {} neighbours asked who holds this node's fragments",
          s.neighboursAsked());
    } else if (ev instanceof ReplicaEvent.RestoreOffered o) {
      LOG.info("holder {} offers {} entries for restore (manifest version {})",
          o.holder().shortString(), o.held(), o.manifestVersion());
    } else if (ev instanceof ReplicaEvent.WriteRefused w) {
      LOG.info("holder {} refused a replica of {}", w.holder().shortString(), w.id());
    }
  }

  private void completeReads(FragmentId id, NodeId from) {
    List<CompletableFuture<Optional<Fetched>>> waiting = reads.remove(id);
    if (waiting == null) {
      return;
    }
    Optional<Fetched> got = from == null
        ? Optional.empty()
        : parts.ownCopy().apply(id).map(f -> new Fetched(f, from));
    for (CompletableFuture<Optional<Fetched>> f : waiting) {
      f.complete(got);
    }
  }

  private static String shortIds(List<NodeId> ids) {
    List<String> out = new ArrayList<>();
    ids.forEach(i -> out.add(i.shortString()));
    return out.toString();
  }

  // ---- fault injectors, for integration tests only ----

  /**
   * Fault injector for tests: from now on every replica this node serves in a fetch reply
   * leaves with one bit of its owner signature flipped, as a holder that forges or alters what
   * it keeps would send it. The fetching side must reject it, penalize this node and repair
   * from another holder. Never enabled outside tests.
   */
  void forgeFetchReplies(boolean on) {
    peers.tamperOutbound(on ? ReplicaService::forged : null);
  }

  private static Envelope forged(Envelope env) {
    if (env.getBodyCase() != Envelope.BodyCase.REPLICA_FETCH_REPLY
        || env.getReplicaFetchReply().getReplicasCount() == 0) {
      return env;
    }
    var reply = env.getReplicaFetchReply().toBuilder();
    for (int i = 0; i < reply.getReplicasCount(); i++) {
      byte[] sig = reply.getReplicas(i).getSignature().toByteArray();
      sig[sig.length / 2] ^= 0x01;
      reply.setReplicas(i, reply.getReplicas(i).toBuilder()
          .setSignature(com.google.protobuf.ByteString.copyFrom(sig)));
    }
    return env.toBuilder().setReplicaFetchReply(reply).build();
  }

  /**
   * Stops listening: reports and inputs from now on are dropped. The core itself stops with
   * the peer service; the stores are closed by the node after both.
   */
  @Override
  public void close() {
    closed = true;
    verifier.close();
  }
}
