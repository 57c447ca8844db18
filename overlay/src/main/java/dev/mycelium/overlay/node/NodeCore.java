package dev.mycelium.overlay.node;

import com.google.protobuf.ByteString;
import dev.mycelium.model.FragmentId;
import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.Effect;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.OverlayNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.node.Routes.Owner;
import dev.mycelium.overlay.replica.Candidate;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaEffect;
import dev.mycelium.overlay.search.NetworkSearch;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One node, as one pure state machine: the overlay ({@link OverlayNode}: membership, failure
 * detection, broadcast, peer scores), replication ({@link ReplicaCore}), network search ({@link
 * NetworkSearch}) and shared knowledge ({@link SharedKnowledgeCore}) behind one router ({@link
 * Routes}), with one family of effects coming out ({@link NodeEffect}).
 *
 * <p>Why one composition: the daemon and the simulator must run the same node, not each its own
 * selection and wiring of cores. Everything that ties the cores together lives here and
 * nowhere else: each inbound envelope goes to the one core that owns its type, after the
 * overlay's admission (bans, token buckets); overlay events reach replication and shared
 * knowledge; replication's broadcasts go out through the overlay; every core's penalties
 * lower the one score table; replication gets the active view as placement candidates.
 *
 * <p>Time and randomness come in as arguments ({@code now} on every call; the cores were built
 * with their random streams), and {@link #nextDeadline()} says when the core must next be
 * woken with {@link #tick}, so a driver schedules exactly that instead of ticking blindly.
 * Replication, search and shared knowledge are attached once the node has what they need
 * (stores, an index); until then their messages are dropped by the router, never penalized.
 * Not thread-safe: one driver thread per node.
 */
public final class NodeCore {
  /**
   * How often the room for replicas is read and, when it changed, advertised: every 4 s, the
   * cadence the daemon had when it read it every 20 ticks of 200 ms, now kept in time since
   * ticks come only when there is work.
   */
  static final long CAPACITY_EVERY_MILLIS = 4_000;

  /**
   * Replication and how to drive it.
   *
   * @param core the replication core (built over this node's stores)
   * @param tickMillis the shortest time between two replication ticks. Replication is ticked
   *     at its own deadline ({@link ReplicaCore#nextDeadline()}), or when the active view
   *     changed, but never sooner than this after its last tick: its per-tick budgets (repairs,
   *     streams) count ticks, so this bounds their rate, and the puts written meanwhile leave
   *     in one batch per holder
   * @param restore whether to run a restore once neighbours are up (empty store, no manifest)
   * @param idleAfterMillis quiet this long (no puts or deletes) and the node counts as idle,
   *     so repairs take the larger budget; {@code Long.MAX_VALUE} for never
   * @param capacity what to advertise as room for replicas, read every {@value
   *     #CAPACITY_EVERY_MILLIS} ms; null to advertise nothing from here
   */
  public record ReplicaPart(ReplicaCore core, long tickMillis, boolean restore,
      long idleAfterMillis, Supplier<Capacity> capacity) {
    public ReplicaPart {
      Objects.requireNonNull(core, "replica core");
      if (tickMillis < 1) {
        throw new IllegalArgumentException("replica tick must be >= 1 ms, got " + tickMillis);
      }
      if (idleAfterMillis < 0) {
        throw new IllegalArgumentException("idle-after must be >= 0 ms, got " + idleAfterMillis);
      }
    }
  }

  /** A search this node started: its request ID (to match the completion) and the effects. */
  public record SearchStarted(ByteString requestId, List<NodeEffect> effects) {}

  private final OverlayNode overlay;
  private Routes routes = new Routes(EnumSet.of(Owner.OVERLAY));

  private ReplicaPart replicaPart;
  private ReplicaCore replica;
  private long lastReplicaTick;
  // The active view changed since the last replication tick: placement's candidates are stale.
  private boolean peersChanged;
  private boolean restorePending;
  private long lastWriteMillis;
  private long replicaTicks;
  private long nextCapacityAt = Long.MAX_VALUE;
  private Capacity advertised;

  private NetworkSearch search;
  private SharedKnowledgeCore shared;
  private long penalties;

  /** @param overlay the node's overlay, not yet started */
  public NodeCore(OverlayNode overlay) {
    this.overlay = Objects.requireNonNull(overlay, "overlay");
  }

  // ---- attaching the cores above the overlay ----

  /**
   * Starts replication: its messages are routed from now on, its restore topic subscribed. A
   * second call replaces the core (a node whose disk was wiped restarts replication over empty
   * stores while its overlay runs on).
   */
  public List<NodeEffect> attachReplica(long now, ReplicaPart part) {
    if (!part.core().id().equals(overlay.id())) {
      throw new IllegalArgumentException("the replica core belongs to "
          + part.core().id().shortString() + ", not to this node " + overlay.id().shortString());
    }
    this.replicaPart = part;
    this.replica = part.core();
    this.restorePending = part.restore();
    this.lastWriteMillis = now;
    // The first tick, one spacing from now, reads the candidates (and starts the restore).
    this.lastReplicaTick = now;
    this.peersChanged = true;
    this.replicaTicks = 0;
    this.nextCapacityAt = part.capacity() == null ? Long.MAX_VALUE : now + part.tickMillis();
    this.advertised = null;
    overlay.subscribe(ReplicaCore.RESTORE_TOPIC);
    routes = routes.with(Owner.REPLICA);
    return List.of();
  }

  /** Starts network search: search requests and responses are routed from now on. */
  public void attachSearch(NetworkSearch core) {
    if (search != null) {
      throw new IllegalStateException("network search is already attached");
    }
    this.search = Objects.requireNonNull(core, "network search");
    routes = routes.with(Owner.SEARCH);
  }

  /** Starts shared knowledge: its topics are subscribed, deliveries on them are ingested. */
  public void attachShared(SharedKnowledgeCore core) {
    if (shared != null) {
      throw new IllegalStateException("shared knowledge is already attached");
    }
    this.shared = Objects.requireNonNull(core, "shared knowledge");
    for (String t : core.overlayTopics()) {
      overlay.subscribe(t);
    }
  }

  // ---- overlay inputs ----

  /** Starts the periodic work without a seed (the first node of a network). */
  public List<NodeEffect> start(long now) {
    return run(now).overlay(overlay.start(now)).done();
  }

  /** Joins the network through any of the seeds. */
  public List<NodeEffect> join(long now, List<PeerAddress> seeds) {
    return run(now).overlay(overlay.join(now, seeds)).done();
  }

  /** Leaves gracefully: peers mark this node left, not dead. */
  public List<NodeEffect> leave(long now) {
    return run(now).overlay(overlay.leave(now)).done();
  }

  /** Broadcasts a payload to every node subscribed to the topic. */
  public List<NodeEffect> broadcast(long now, String topic, ByteString payload, int priority) {
    return run(now).overlay(overlay.broadcast(now, topic, payload, priority)).done();
  }

  /** Broadcasts a payload that travels at most {@code ttl} hops. */
  public List<NodeEffect> broadcast(long now, String topic, ByteString payload, int priority,
      int ttl) {
    return run(now).overlay(overlay.broadcast(now, topic, payload, priority, ttl)).done();
  }

  public void subscribe(String topic) {
    overlay.subscribe(topic);
  }

  /** Advertises new capacity to active neighbours. */
  public List<NodeEffect> setCapacity(long now, Capacity capacity) {
    advertised = capacity;
    return run(now).overlay(overlay.setCapacity(now, capacity)).done();
  }

  /** Lowers a peer's score for something the driver found bad. */
  public List<NodeEffect> penalize(long now, NodeId peer, double points, String why) {
    Run r = run(now);
    r.penalize(peer, points, why);
    return r.done();
  }

  /** The transport could not parse a frame from this peer. */
  public List<NodeEffect> onMalformed(long now, NodeId from, String why) {
    return run(now).overlay(overlay.onMalformed(now, from, why)).done();
  }

  /** The transport lost its link to this peer. */
  public List<NodeEffect> onLinkLost(long now, NodeId peer) {
    return run(now).overlay(overlay.onLinkLost(now, peer)).done();
  }

  /**
   * One message from an authenticated peer. Overlay messages go to the overlay (which admits
   * them itself); every other message is admitted by the overlay's defences first and then
   * handed to the one running core that owns its type ({@link Routes}), or dropped and counted
   * there.
   */
  public List<NodeEffect> onMessage(long now, NodeId from, Envelope env) {
    return onMessage(now, now, from, env);
  }

  /**
   * As {@link #onMessage(long, NodeId, Envelope)}, for a message that arrived at {@code
   * arrived} and waited for the driver until {@code now}: the flood defence counts it at its
   * arrival, so a driver that fell behind does not take its own backlog for a peer's flood.
   */
  public List<NodeEffect> onMessage(long now, long arrived, NodeId from, Envelope env) {
    Run r = run(now);
    Optional<Owner> owner = Routes.owner(env.getBodyCase());
    if (owner.isPresent() && owner.get() == Owner.OVERLAY) {
      routes.route(env);
      return r.overlay(overlay.onMessage(now, arrived, from, env)).done();
    }
    OverlayNode.Admission a = overlay.admit(now, arrived, from, env.getSerializedSize());
    r.overlay(a.effects());
    if (!a.accepted()) {
      return r.done();
    }
    Optional<Owner> to = routes.route(env);
    if (to.isEmpty()) {
      return r.done();
    }
    if (to.get() == Owner.REPLICA) {
      r.replica(replica.onMessage(now, from, env));
    } else if (env.hasSearchRequest()) {
      r.search(search.onRequest(now, from, env.getSearchRequest(), overlay.activeView()));
    } else if (env.getSearchResponse().getHitsCount() == 0) {
      r.search(search.onResponse(now, from, env.getSearchResponse()));
    } else {
      r.out.add(new NodeEffect.CheckHits(from, env.getSearchResponse()));
    }
    return r.done();
  }

  // ---- time ----

  /**
   * Runs whatever is due at {@code now}: the overlay's periodic work, replication's tick, the
   * capacity advert, the deadlines of searches in progress. Calling it early does no harm and
   * nothing.
   */
  public List<NodeEffect> tick(long now) {
    Run r = run(now);
    if (now >= overlay.nextDeadline()) {
      r.overlay(overlay.tick(now));
    }
    if (now >= replicaDue()) {
      replicaTick(r);
    }
    if (now >= nextCapacityAt) {
      nextCapacityAt = now + CAPACITY_EVERY_MILLIS;
      Capacity c = replicaPart.capacity().get();
      if (!c.equals(advertised)) {
        advertised = c;
        r.overlay(overlay.setCapacity(now, c));
      }
    }
    if (search != null && search.nextDeadline() <= now) {
      r.search(search.tick(now));
    }
    return r.done();
  }

  /**
   * The latest time by which {@link #tick} must be called, {@link Long#MAX_VALUE} when nothing
   * waits: the earliest of the overlay's deadline ({@link OverlayNode#nextDeadline()}: a probe
   * round, a timeout, a shuffle, batched announcements), replication's ({@link
   * ReplicaCore#nextDeadline()}, or at once when the active view changed, spaced by the part's
   * {@code tickMillis}), the next capacity advert and the nearest search deadline. Any input
   * may bring it nearer (a put, a message), so a driver re-reads it after every call.
   */
  public long nextDeadline() {
    long next = Math.min(overlay.nextDeadline(), Math.min(replicaDue(), nextCapacityAt));
    if (search != null) {
      next = Math.min(next, search.nextDeadline());
    }
    return next;
  }

  /** When replication must next be ticked, {@link Long#MAX_VALUE} when it is not attached. */
  private long replicaDue() {
    if (replica == null) {
      return Long.MAX_VALUE;
    }
    long due = peersChanged ? lastReplicaTick : replica.nextDeadline();
    return Math.max(due, lastReplicaTick + replicaPart.tickMillis());
  }

  private void replicaTick(Run r) {
    long now = r.now;
    lastReplicaTick = now;
    peersChanged = false;
    replicaTicks++;
    replica.setIdle(now - lastWriteMillis >= replicaPart.idleAfterMillis());
    List<Candidate> candidates = Candidate.fromOverlay(overlay, now);
    r.replica(replica.updatePeers(now, candidates));
    if (restorePending && !candidates.isEmpty()) {
      restorePending = false;
      r.replica(replica.restore(now));
    }
    r.replica(replica.tick(now));
  }

  /** Replication ticks since replication was attached (for tests and measurements). */
  public long replicaTicks() {
    return replicaTicks;
  }

  // ---- replication inputs ----

  /** A new own fragment is durable in the local store: replicate it. */
  public List<NodeEffect> replicaPut(long now, FragmentId id) {
    lastWriteMillis = now;
    return replicate(now, c -> c.put(now, id));
  }

  /** An own fragment was deleted: spread its tombstone. */
  public List<NodeEffect> replicaDelete(long now, FragmentId id, SignedTombstone tombstone) {
    lastWriteMillis = now;
    return replicate(now, c -> c.delete(now, id, tombstone));
  }

  /**
   * Any other call on the replication core (BLANK findings, fetch-now, restore), its effects
   * carried into the node's one family. Nothing when replication is not attached.
   */
  public List<NodeEffect> replicate(long now, Function<ReplicaCore, List<ReplicaEffect>> call) {
    if (replica == null) {
      return List.of();
    }
    return run(now).replica(call.apply(replica)).done();
  }

  /** Anti-entropy with every partner and a replication tick, now ({@code repair run}). */
  public List<NodeEffect> repairNow(long now) {
    if (replica == null) {
      return List.of();
    }
    Run r = run(now);
    r.replica(replica.antiEntropyNow(now));
    replicaTick(r);
    return r.done();
  }

  // ---- search inputs ----

  /**
   * Starts a search of the active view.
   *
   * @throws IllegalStateException when network search is not attached
   * @throws IllegalArgumentException when hops, budget or k are out of the core's limits
   */
  public SearchStarted startSearch(long now, NetworkSearchRequest query, int hops,
      long budgetMillis) {
    if (search == null) {
      throw new IllegalStateException("network search is not running on this node");
    }
    NetworkSearch.Started s = search.start(now, query, hops, budgetMillis, overlay.activeView());
    Run r = run(now);
    r.search(s.actions());
    return new SearchStarted(s.requestId(), r.done());
  }

  /** The driver's local search for a peer's request ({@link NodeEffect.SearchLocally}) is done. */
  public List<NodeEffect> onLocalResult(long now, ByteString requestId,
      List<NetworkSearchHit> hits) {
    if (search == null) {
      return List.of();
    }
    return run(now).search(search.onLocalResult(now, requestId, hits)).done();
  }

  /**
   * The driver checked a response's hits ({@link NodeEffect.CheckHits}).
   *
   * @param clean the response with only the hits that passed
   * @param rejections why each dropped hit failed; each costs the sender
   *     {@link #FORGED_HIT_PENALTY}
   */
  public List<NodeEffect> onCheckedResponse(long now, NodeId from, NetworkSearchResponse clean,
      List<String> rejections) {
    if (search == null) {
      return List.of();
    }
    Run r = run(now);
    for (String why : rejections) {
      r.penalize(from, FORGED_HIT_PENALTY, "forged search hit: " + why);
    }
    return r.search(search.onResponse(now, from, clean)).done();
  }

  /** Score points a peer loses for a search hit that does not check. */
  public static final double FORGED_HIT_PENALTY = 10.0;

  // ---- shared knowledge inputs ----

  /** Publishes one of this node's shared fragments (its signed bytes) on its topic. */
  public List<NodeEffect> publishShared(long now, String topic, ByteString signedFragment,
      int priority, int ttl) {
    if (shared == null) {
      return List.of();
    }
    shared.notePublished();
    return run(now).overlay(overlay.broadcast(now, SharedKnowledgeCore.TOPIC_PREFIX + topic,
        signedFragment, priority, ttl)).done();
  }

  /** A shared fragment from this origin did not check: distrust the origin, lower its score. */
  public List<NodeEffect> onSharedRejected(long now, NodeId origin, String why) {
    if (shared == null) {
      return List.of();
    }
    shared.rejected(origin);
    Run r = run(now);
    r.penalize(origin, SharedKnowledgeCore.FORGED_PENALTY, "bad shared fragment: " + why);
    return r.done();
  }

  // ---- state ----

  public NodeId id() {
    return overlay.id();
  }

  public PeerAddress self() {
    return overlay.self();
  }

  public OverlayNode overlay() {
    return overlay;
  }

  /** The replication core, if attached. */
  public Optional<ReplicaCore> replica() {
    return Optional.ofNullable(replica);
  }

  /** The network search core, if attached. */
  public Optional<NetworkSearch> search() {
    return Optional.ofNullable(search);
  }

  /** The shared knowledge core, if attached. */
  public Optional<SharedKnowledgeCore> shared() {
    return Optional.ofNullable(shared);
  }

  public Routes routes() {
    return routes;
  }

  /** Penalties any core asked for since start. */
  public long penalties() {
    return penalties;
  }

  // ---- carrying each core's output into the node's effects ----

  private Run run(long now) {
    return new Run(now);
  }

  /** The effects of one call, with the cross-core consequences applied as they are produced. */
  private final class Run {
    final long now;
    final List<NodeEffect> out = new ArrayList<>();
    private boolean replicaRan;

    Run(long now) {
      this.now = now;
    }

    /**
     * The call's effects, ending with replication's status when the call reached it: status
     * pages read that snapshot, and replication now ticks only when it has work, so a tick
     * alone would leave them stale for as long as it sleeps.
     */
    List<NodeEffect> done() {
      if (replicaRan) {
        out.add(new NodeEffect.ReplicaStatusUpdated(replica.status()));
      }
      return out;
    }

    Run overlay(List<Effect> effects) {
      for (Effect e : effects) {
        if (e instanceof Effect.Send s) {
          out.add(new NodeEffect.Send(s.to(), null, s.envelope()));
        } else if (e instanceof Effect.Connect c) {
          out.add(new NodeEffect.Connect(c.address()));
        } else if (e instanceof Effect.Disconnect d) {
          out.add(new NodeEffect.Disconnect(d.peer()));
        } else if (e instanceof Effect.Report r) {
          out.add(new NodeEffect.OverlayReport(r.event()));
          onOverlayEvent(r.event());
        }
      }
      return this;
    }

    private void onOverlayEvent(OverlayEvent ev) {
      if (replica != null) {
        peersChanged |= ev instanceof OverlayEvent.PeerUp || ev instanceof OverlayEvent.PeerDown
            || ev instanceof OverlayEvent.Dead || ev instanceof OverlayEvent.Left
            || ev instanceof OverlayEvent.Banned;
        replica(replica.onOverlayEvent(now, ev));
      }
      if (shared != null && ev instanceof OverlayEvent.Delivered d) {
        shared.onDelivered(d).ifPresent(out::add);
      }
    }

    Run replica(List<ReplicaEffect> effects) {
      replicaRan = true;
      for (ReplicaEffect e : effects) {
        if (e instanceof ReplicaEffect.Send s) {
          out.add(new NodeEffect.Send(s.to(), s.address(), s.envelope()));
        } else if (e instanceof ReplicaEffect.Broadcast b) {
          overlay(overlay.broadcast(now, b.topic(), b.payload(), b.priority()));
        } else if (e instanceof ReplicaEffect.Penalize p) {
          penalize(p.peer(), p.points(), p.reason());
        } else if (e instanceof ReplicaEffect.Report r) {
          out.add(new NodeEffect.ReplicaReport(r.event()));
        }
      }
      return this;
    }

    Run search(List<NetworkSearch.Action> actions) {
      for (NetworkSearch.Action a : actions) {
        if (a instanceof NetworkSearch.Action.Send s) {
          out.add(new NodeEffect.Send(s.to(), null, s.envelope()));
        } else if (a instanceof NetworkSearch.Action.SearchLocally l) {
          out.add(new NodeEffect.SearchLocally(l.requestId(), l.request()));
        } else if (a instanceof NetworkSearch.Action.Completed c) {
          out.add(new NodeEffect.SearchCompleted(c.requestId(), c.outcome()));
        } else if (a instanceof NetworkSearch.Action.Penalize p) {
          penalize(p.peer(), p.points(), p.why());
        }
      }
      return this;
    }

    void penalize(NodeId peer, double points, String why) {
      penalties++;
      out.add(new NodeEffect.Penalized(peer, points, why));
      overlay(overlay.penalize(now, peer, points, why));
    }
  }
}
