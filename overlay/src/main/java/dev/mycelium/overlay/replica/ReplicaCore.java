package dev.mycelium.overlay.replica;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.overlay.replica.ReplicaContext.Out;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.RestoreQuery;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * One node's replication: the owner role (place its fragments on R holders under a signed
 * manifest, replace a holder that dies or leaves and stream it everything, push deletes as
 * tombstones, restore everything after a wipe) and the holder role (keep verified replicas for
 * other owners, acknowledge, serve fetches, scrub), joined by anti-entropy between everyone who
 * keeps an owner's digest and by a throttled, backed-off repair queue.
 *
 * <p>The mechanisms are those of DESIGN.md, "Fragments, replication and repair": placement by
 * weighted rendezvous hashing ({@link Placement}), per-owner XOR digests compared top-down
 * ({@link OwnerDigest}), repair with exponential back-off and jitter ({@link RepairScheduler}).
 *
 * <p>Like every core it is pure: it never reads a clock, starts a thread or opens a socket. Each
 * call takes {@code now} and returns the {@link ReplicaEffect}s to carry out, in order, and
 * {@link #nextDeadline()} says when it must next be ticked, so that a node with nothing to do
 * sleeps until its next anti-entropy round or scrub step; local data is reached only through
 * the {@link OwnFragments} and {@link HeldReplicas} ports. The daemon and the simulator drive
 * the same code. Not thread-safe: one driver thread per node.
 *
 * <p>This class hands each input to the room that holds its concept ({@link OwnerRole},
 * {@link HolderRole}, {@link AntiEntropy}, {@link RepairFetches}, {@link Restore}), which share
 * one {@link ReplicaContext}; the order of the steps in {@link #tick} is part of the behaviour.
 */
public final class ReplicaCore {
  /** The overlay broadcast topic of restore queries; the driver subscribes every node to it. */
  public static final String RESTORE_TOPIC = "mycelium.replica.restore";
  /** Broadcast priority of restore queries (they are rare and matter). */
  public static final int RESTORE_PRIORITY = 8;

  /** Most tombstones in one ReplicaDelete (owners send at most 256). */
  static final int MAX_DELETE_TOMBSTONES = 1024;
  /** IDs learned from a peer's digest, waiting to be fetched and verified before they count. */
  static final int MAX_PENDING_PROBES = 4096;
  /** Of those, most in flight at once. */
  static final int MAX_PROBES_IN_FLIGHT = 2048;

  private final ReplicaContext ctx;
  private final OwnerRole owner;
  private final HolderRole holder;
  private final AntiEntropy antiEntropy;
  private final RepairFetches fetches;
  private final Restore restore;
  // The latest time any call brought, and the time of the last tick: what is due "at once"
  // is due at the former; what fell due by the latter that tick has seen.
  private long lastCall;
  private long lastTick = Long.MIN_VALUE;

  /**
   * A core for one node, loading what the ports already hold (digests, manifests, BLANK own
   * fragments to repair).
   *
   * @param keys this node's identity: it signs manifests; its node ID is the owner ID
   * @param self this node's advertised address (sent in manifests and restore queries)
   */
  public ReplicaCore(ReplicaConfig config, OwnerKeys keys, PeerAddress self, OwnFragments own,
      HeldReplicas held, RandomGenerator random, long now) {
    this(config, ReplicaLimits.DEFAULTS, keys, self, own, held, random, keyFrom(random),
        ReplicaVerifier.IN_ORDER, now);
  }

  /**
   * A core with explicit limits and request key.
   *
   * @param limits what other nodes may make this one hold
   * @param requestKey at least 32 secret bytes (the daemon draws them from a SecureRandom at
   *     start): request IDs are an HMAC under it, so a peer cannot guess the ID of a put or
   *     fetch sent to another peer and answer it
   * @param verifier checks the replicas of a put in one batch (the daemon's spreads them over
   *     its cores; {@link ReplicaVerifier#IN_ORDER} checks them on the calling thread)
   */
  public ReplicaCore(ReplicaConfig config, ReplicaLimits limits, OwnerKeys keys, PeerAddress self,
      OwnFragments own, HeldReplicas held, RandomGenerator random, byte[] requestKey,
      ReplicaVerifier verifier, long now) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(limits, "limits");
    if (requestKey == null || requestKey.length < 32) {
      throw new IllegalArgumentException("the request key needs at least 32 bytes");
    }
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(self, "self address");
    if (!self.id().equals(keys.nodeId())) {
      throw new IllegalArgumentException("the self address names node " + self.id().shortString()
          + " but the keys belong to " + keys.nodeId().shortString());
    }
    Objects.requireNonNull(own, "own fragments port");
    Objects.requireNonNull(held, "held replicas port");
    Objects.requireNonNull(random, "random generator");
    Objects.requireNonNull(verifier, "replica verifier");
    this.ctx = new ReplicaContext(config, limits, keys, self, own, held,
        new RepairScheduler(config, random), requestKey, verifier);
    this.holder = new HolderRole(ctx);
    this.fetches = new RepairFetches(ctx, holder);
    this.restore = new Restore(ctx, fetches);
    this.owner = new OwnerRole(ctx, holder, restore, now);
    this.antiEntropy = new AntiEntropy(ctx, holder, owner, fetches, restore, random, now);
    this.lastCall = now;
    owner.load(now);
    holder.load(now);
  }

  /** A request key from the core's seeded generator: for simulations and tests. */
  private static byte[] keyFrom(RandomGenerator random) {
    byte[] k = new byte[32];
    random.nextBytes(k);
    return k;
  }

  // ---- inputs from the driver ----

  /**
   * The owner's placement candidates changed (its active view, capacities, scores). Places
   * fragments on first call, and tops the holders up to R when candidates appear.
   */
  public List<ReplicaEffect> updatePeers(long now, Collection<Candidate> peers) {
    Out out = begin(now);
    owner.updatePeers(now, peers, out);
    return out.effects;
  }

  /** Overlay events: a holder that is Dead or Left is replaced at once, after PeerDown after a grace. */
  public List<ReplicaEffect> onOverlayEvent(long now, OverlayEvent event) {
    Out out = begin(now);
    if (event instanceof OverlayEvent.Dead d) {
      owner.holderGone(now, d.peer(), out);
    } else if (event instanceof OverlayEvent.Left l) {
      owner.holderGone(now, l.peer(), out);
    } else if (event instanceof OverlayEvent.Banned b) {
      owner.holderGone(now, b.peer(), out);
    } else if (event instanceof OverlayEvent.PeerDown down) {
      owner.peerDown(now, down.peer());
    } else if (event instanceof OverlayEvent.PeerUp up) {
      owner.peerUp(up.peer());
    } else if (event instanceof OverlayEvent.Delivered del && RESTORE_TOPIC.equals(del.topic())) {
      try {
        restore.onQuery(del.origin(), RestoreQuery.parseFrom(del.payload()), out);
      } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
        out.effects.add(new ReplicaEffect.Penalize(del.origin(), PeerScores.MALFORMED,
            "malformed restore query"));
      }
    }
    return out.effects;
  }

  /** The node reports whether it is idle: repairs run faster while it is. */
  public void setIdle(boolean idle) {
    fetches.setIdle(idle);
  }

  /**
   * A new own fragment is durable in the local store: replicate it to the holders. Each holder's
   * confirmation comes back as {@link ReplicaEvent.WriteAcked}.
   */
  public List<ReplicaEffect> put(long now, FragmentId id) {
    Out out = begin(now);
    owner.put(now, id, out);
    return out.effects;
  }

  /**
   * An own fragment was deleted locally (the store holds the tombstone): push the tombstone to
   * every holder. Holders keep it for {@code tombstoneRetentionMillis} so that none that was away
   * brings the fragment back.
   */
  public List<ReplicaEffect> delete(long now, FragmentId id, SignedTombstone tombstone) {
    Out out = begin(now);
    owner.delete(now, id, tombstone, out);
    return out.effects;
  }

  /**
   * An own fragment failed its check (a read or the scrubber turned it BLANK): queue its repair.
   */
  public List<ReplicaEffect> onBlank(long now, FragmentId id) {
    Out out = begin(now);
    fetches.onBlank(now, id);
    return out.effects;
  }

  /**
   * A replica held for {@code owner} failed its check in the store (a read or the storage
   * scrubber turned it BLANK): drop the claim to hold it and fetch it again from the owner's
   * other holders. An ID this node does not list as held for that owner is ignored.
   */
  public List<ReplicaEffect> onHeldBlank(long now, FragmentId id, NodeId owner) {
    Out out = begin(now);
    holder.onHeldBlank(now, id, owner, out);
    return out.effects;
  }

  /**
   * A read hit a BLANK own fragment: ask one holder at once, outside the repair throttle. The
   * outcome is {@link ReplicaEvent.Repaired} for that ID, or {@link ReplicaEvent.FetchTimedOut}
   * once {@code deadline} has passed (the fragment then stays in the repair queue).
   */
  public List<ReplicaEffect> fetchNow(long now, FragmentId id, long deadline) {
    Out out = begin(now);
    fetches.fetchNow(now, id, deadline, out);
    return out.effects;
  }

  /**
   * This node starts with its identity and an empty store: ask the neighbours who holds its
   * fragments, and the whole network by broadcast if none answers within
   * {@code restoreBroadcastDelayMillis}. Holders answer with the manifest; anti-entropy against
   * an empty digest then pulls everything back. Placement waits meanwhile, so that the old
   * holders are found before new ones are chosen.
   */
  public List<ReplicaEffect> restore(long now) {
    Out out = begin(now);
    restore.start(now, owner.candidateIds(), out);
    return out.effects;
  }

  /**
   * Runs whatever is due at {@code now}, in a fixed order. Call it at {@link #nextDeadline()};
   * an early call does no harm. The per-tick budgets ({@code repairsPerTick}, {@code
   * streamPerTick}) count ticks, so the driver bounds their rate by how closely it lets ticks
   * follow each other.
   */
  public List<ReplicaEffect> tick(long now) {
    Out out = begin(now);
    lastTick = now;
    owner.flushPuts(now, out);
    fetches.expireFetches(now, out);
    owner.expirePuts(now);
    holder.expireTombstones(now);
    restore.tick(now, out);
    owner.ensurePlacement(now, out);
    owner.streamTick(now, out);
    fetches.repairTick(now, out);
    restore.ageVouches(now);
    fetches.probeTick(now, out);
    holder.scrubTick(now, out);
    antiEntropy.tick(now, out);
    return out.effects;
  }

  /**
   * The latest time by which {@link #tick} must be called: the earliest time at which any room
   * has due work (puts to send, streams and repairs to start, probes to send, fetches, puts
   * and tombstones to expire, restore timers, holder checks, the scrub's next step, the next
   * anti-entropy round). Work that waits only for the next tick (puts just written, the rest
   * of a stream or of the repair queue beyond a tick's budget) is due at the time of the latest
   * call, so a driver that asks right after a call must space its ticks itself. Never {@link
   * Long#MAX_VALUE}: anti-entropy always has a next round. Re-read it after every call, since
   * any input may bring work nearer.
   */
  public long nextDeadline() {
    long due = Math.min(Math.min(owner.nextDeadline(lastTick), holder.nextDeadline()),
        Math.min(Math.min(fetches.nextDeadline(), restore.nextDeadline(lastTick)),
            antiEntropy.nextDeadline()));
    return Math.max(due, lastCall);
  }

  /** The effects of a call at {@code now}, which is remembered as the latest time seen. */
  private Out begin(long now) {
    lastCall = Math.max(lastCall, now);
    return new Out();
  }

  /** Runs an anti-entropy round with every partner now (tests, and {@code repair run}). */
  public List<ReplicaEffect> antiEntropyNow(long now) {
    Out out = begin(now);
    antiEntropy.runNow(now, out);
    return out.effects;
  }

  /** One replication message (Envelope fields 30-49) from an authenticated, admitted peer. */
  public List<ReplicaEffect> onMessage(long now, NodeId from, Envelope env) {
    Out out = begin(now);
    if (from.equals(ctx.selfId)) {
      return out.effects;
    }
    owner.heard(now, from);
    try {
      switch (env.getBodyCase()) {
        case REPLICA_PUT -> holder.onPut(now, from, env.getReplicaPut(), out);
        case REPLICA_ACK -> owner.onAck(now, from, env.getReplicaAck(), out);
        case REPLICA_DELETE -> holder.onDelete(now, from, env.getReplicaDelete(), out);
        case MANIFEST_UPDATE -> holder.onManifestUpdate(now, from, env.getManifestUpdate(), out);
        case REPLICA_FETCH -> holder.onFetch(now, from, env.getReplicaFetch(), out);
        case REPLICA_FETCH_REPLY ->
            fetches.onFetchReply(now, from, env.getReplicaFetchReply(), out);
        case DIGEST_ROOTS -> antiEntropy.onRoots(from, env.getDigestRoots(), out);
        case DIGEST_NODES -> antiEntropy.onNodes(from, env.getDigestNodes(), out);
        case DIGEST_IDS -> antiEntropy.onIds(now, from, env.getDigestIds(), out);
        case RESTORE_QUERY -> restore.onQuery(from, env.getRestoreQuery(), out);
        case RESTORE_OFFER -> restore.onOffer(now, from, env.getRestoreOffer(), out);
        default -> throw new IllegalArgumentException(
            "not a replication message: " + env.getBodyCase());
      }
    } catch (IllegalArgumentException | InvalidFragmentException e) {
      out.effects.add(new ReplicaEffect.Penalize(from, PeerScores.MALFORMED,
          "malformed " + env.getBodyCase() + ": " + e.getMessage()));
    }
    return out.effects;
  }

  // ---- state for the driver ----

  /** The snapshot behind {@code GET /v1/repair}. */
  public ReplicaStatus status() {
    RepairScheduler.Stats s = ctx.repairs.stats();
    long heldEntries = 0;
    int heldOwners = 0;
    for (Map.Entry<NodeId, OwnerDigest> e : ctx.digests.entrySet()) {
      if (!e.getKey().equals(ctx.selfId) && e.getValue().size() > 0) {
        heldOwners++;
        heldEntries += e.getValue().size();
      }
    }
    return new ReplicaStatus(s.queued(), s.inFlight(), s.lost(), s.repairsDone(),
        s.repairsFailed(), s.bytesMoved(), s.lastCycle(), s.currentCycle(), holders(),
        ctx.ownManifest == null ? 0 : ctx.ownManifest.version(), ctx.digest(ctx.selfId).size(),
        heldOwners, heldEntries, owner.backlog(), owner.replicatedBytes(), ctx.forgedReplicas,
        holder.scrubFailures(), restore.active());
  }

  /**
   * IDs learned from a partner's digest that wait to be fetched and verified, or are being
   * fetched (never more than {@link #MAX_PENDING_PROBES} plus {@link #MAX_PROBES_IN_FLIGHT}).
   */
  public int pendingProbes() {
    return fetches.pendingProbes();
  }

  /** This node's holders, in manifest order (empty before placement). */
  public List<NodeId> holders() {
    return ctx.ownManifest == null ? List.of() : ctx.ownManifest.holderIds();
  }

  /** This node's current manifest, if it has placed anything. */
  public Optional<Manifest> manifest() {
    return Optional.ofNullable(ctx.ownManifest);
  }

  /** The manifest this node keeps for another owner, if it holds for it. */
  public Optional<Manifest> manifestOf(NodeId owner) {
    return Optional.ofNullable(
        owner.equals(ctx.selfId) ? ctx.ownManifest : ctx.heldManifests.get(owner));
  }

  /** The holders that confirmed a recent put (the last 4096 puts are remembered). */
  public Set<NodeId> confirmations(FragmentId id) {
    return owner.confirmations(id);
  }

  /** Where a fragment's repair stands here, or null when it is not queued. */
  public RepairScheduler.Phase repairPhase(FragmentId id) {
    return ctx.repairs.phase(id);
  }

  /**
   * The digest this node keeps for an owner (its own under its own node ID); an empty one, not
   * kept, when it keeps none.
   */
  public OwnerDigest digestOf(NodeId owner) {
    return ctx.digestOf(owner);
  }

  /** The DigestRoots message for these owners (public for the bench and tests). */
  public Envelope rootsFor(Collection<NodeId> owners) {
    return ctx.rootsFor(owners);
  }

  /** This node's ID, which is also its owner ID. */
  public NodeId id() {
    return ctx.selfId;
  }

  /** The configuration this core runs with. */
  public ReplicaConfig config() {
    return ctx.config;
  }
}
