package dev.mycelium.overlay.replica;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.DigestIds;
import dev.mycelium.wire.proto.DigestNodes;
import dev.mycelium.wire.proto.DigestRoots;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.OwnerRoot;
import dev.mycelium.wire.proto.ReplicaAck;
import dev.mycelium.wire.proto.ReplicaDelete;
import dev.mycelium.wire.proto.ReplicaFetch;
import dev.mycelium.wire.proto.ReplicaFetchReply;
import dev.mycelium.wire.proto.ReplicaHolder;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.RestoreOffer;
import dev.mycelium.wire.proto.RestoreQuery;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import dev.mycelium.wire.proto.TombstoneBody;
import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.random.RandomGenerator;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

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
 * call takes {@code now} and returns the {@link ReplicaEffect}s to carry out, in order; local data
 * is reached only through the {@link OwnFragments} and {@link HeldReplicas} ports. The daemon
 * and the simulator drive the same code. Not thread-safe: one driver thread per node.
 */
public final class ReplicaCore {
  /** The overlay broadcast topic of restore queries; the driver subscribes every node to it. */
  public static final String RESTORE_TOPIC = "mycelium.replica.restore";
  /** Broadcast priority of restore queries (they are rare and matter). */
  public static final int RESTORE_PRIORITY = 8;

  private static final int MAX_REPLY_BYTES = 2 * 1024 * 1024;
  private static final int MAX_IDS_PER_MESSAGE = 4096;
  private static final int MAX_PARENTS_PER_MESSAGE = 1024;
  private static final int MAX_CONFIRMATIONS = 4096;
  /** Most replicas in one ReplicaPut (owners send at most {@link #MAX_PUT_BATCH}). */
  static final int MAX_PUT_REPLICAS = 1024;
  /** Most tombstones in one ReplicaDelete (owners send at most 256). */
  static final int MAX_DELETE_TOMBSTONES = 1024;
  /** Most owner roots in one DigestRoots: a node keeps at most this many digests anyway. */
  static final int MAX_ROOTS_PER_MESSAGE = 1024;
  /** Unknown own IDs waiting for a second voucher during a restore. */
  static final int MAX_VOUCHES = 16_384;
  /** IDs learned from a peer's digest, waiting to be fetched and verified before they count. */
  static final int MAX_PENDING_PROBES = 4096;
  /** Of those, most in flight at once. */
  static final int MAX_PROBES_IN_FLIGHT = 2048;
  private static final FragmentCodec TOMBSTONES = new FragmentCodec(FragmentLimits.DEFAULTS);

  private final ReplicaConfig config;
  private final OwnerKeys keys;
  private final PeerAddress self;
  private final NodeId selfId;
  private final OwnFragments own;
  private final HeldReplicas held;
  private final RandomGenerator random;
  private final RepairScheduler repairs;

  private Manifest ownManifest;
  private final Map<NodeId, Manifest> heldManifests = new HashMap<>();
  private final Map<NodeId, OwnerDigest> digests = new HashMap<>();
  private final Map<NodeId, PeerAddress> addresses = new HashMap<>();
  private final Map<NodeId, Candidate> candidates = new LinkedHashMap<>();
  private final Map<NodeId, Long> awaySince = new HashMap<>();
  private final Map<NodeId, Long> lastHeard = new HashMap<>();
  private final long startedAt;
  private final Set<NodeId> departed = new HashSet<>();
  private final Set<NodeId> restorePartners = new LinkedHashSet<>();
  private final Map<Long, Fetch> fetches = new HashMap<>();
  // Unknown own IDs a holder listed during a restore, with who listed them first: a second,
  // distinct holder turns one into a placeholder; alone it ages into a probe.
  private final LinkedHashMap<FragmentId, Vouch> vouches = new LinkedHashMap<>();
  // IDs a participant listed that this node does not know: fetched from that participant and
  // kept only if a replica or tombstone signed by the owner comes back. Never a placeholder.
  private final LinkedHashMap<FragmentId, Probe> probes = new LinkedHashMap<>();
  private int probesInFlight;
  private final Map<Long, Put> puts = new HashMap<>();
  private final Map<FragmentId, Long> fetchNow = new HashMap<>();
  private final LinkedHashMap<FragmentId, Set<NodeId>> confirmations =
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<FragmentId, Set<NodeId>> e) {
          return size() > MAX_CONFIRMATIONS;
        }
      };
  private final Map<NodeId, Stream> streams = new LinkedHashMap<>();
  private final PriorityQueue<Expiry> expiries =
      new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
  private final ArrayDeque<FragmentId> scrubQueue = new ArrayDeque<>();

  private long nextRequest = 1;
  private final Mac requestMac;
  private final ReplicaLimits limits;
  // Replica bytes kept per owner (the entries are the owner's digest size).
  private final Map<NodeId, Long> heldBytes = new HashMap<>();
  // Holders an owner's newer manifest dropped: the only strangers told about the newer one.
  private final Map<NodeId, Set<NodeId>> formerHolders = new HashMap<>();
  // Sealed own replicas: a fetch of the same fragment does not pay for sealing twice.
  private final LinkedHashMap<FragmentId, SignedReplica> sealed =
      new LinkedHashMap<>(16, 0.75f, true);
  private long sealedBytes;
  private long nextAntiEntropy;
  private boolean idle;
  private long restoreStartedAt = -1;
  private boolean restoreBroadcast;
  private boolean restoreOffered;
  private long restoreLastOfferAt = -1;
  // Placeholders a restore may create: as many as the smallest offer said it holds. Every
  // holder keeps all of the owner's fragments, so an honest holder's count bounds the real
  // number, and liars claiming millions cannot raise it; a holder that lost some only means
  // that the rest come back by probe, without a placeholder in the meantime.
  private long restoreHeldMin = Long.MAX_VALUE;
  private long restorePlaceholdersMade;
  private long replicatedBytes;
  // New own fragments waiting for the next tick: one ReplicaPut per holder carries them all,
  // so a burst of writes costs each holder one message per tick instead of one per write
  // (which its flood defence would rightly take for an attack).
  private final List<FragmentId> outgoingIds = new ArrayList<>();
  private final List<SignedReplica> outgoing = new ArrayList<>();
  private int outgoingBytes;
  private long forgedReplicas;
  private long scrubFailures;

  private record Fetch(NodeId peer, NodeId owner, Set<FragmentId> ids, long deadline,
      boolean probe) {
    Fetch(NodeId peer, NodeId owner, Set<FragmentId> ids, long deadline) {
      this(peer, owner, ids, deadline, false);
    }
  }

  private record Vouch(NodeId first, long at) {}

  private record Probe(NodeId owner, NodeId source) {}

  private record Put(NodeId holder, List<FragmentId> ids, boolean report, long deadline) {}

  private record Expiry(long at, NodeId owner, FragmentId id) {}

  private static final class Stream {
    final ArrayDeque<FragmentId> replicas = new ArrayDeque<>();
    final ArrayDeque<FragmentId> tombstones = new ArrayDeque<>();
  }

  /** The effects of one call, in order. */
  private static final class Out {
    final List<ReplicaEffect> effects = new ArrayList<>();

    void report(ReplicaEvent e) {
      effects.add(new ReplicaEffect.Report(e));
    }
  }

  /**
   * A core for one node, loading what the ports already hold (digests, manifests, BLANK own
   * fragments to repair).
   *
   * @param keys this node's identity: it signs manifests; its node ID is the owner ID
   * @param self this node's advertised address (sent in manifests and restore queries)
   */
  public ReplicaCore(ReplicaConfig config, OwnerKeys keys, PeerAddress self, OwnFragments own,
      HeldReplicas held, RandomGenerator random, long now) {
    this(config, ReplicaLimits.DEFAULTS, keys, self, own, held, random, keyFrom(random), now);
  }

  /**
   * A core with explicit limits and request key.
   *
   * @param limits what other nodes may make this one hold
   * @param requestKey at least 32 secret bytes (the daemon draws them from a SecureRandom at
   *     start): request IDs are an HMAC under it, so a peer cannot guess the ID of a put or
   *     fetch sent to another peer and answer it
   */
  public ReplicaCore(ReplicaConfig config, ReplicaLimits limits, OwnerKeys keys, PeerAddress self,
      OwnFragments own, HeldReplicas held, RandomGenerator random, byte[] requestKey, long now) {
    this.config = Objects.requireNonNull(config, "config");
    this.limits = Objects.requireNonNull(limits, "limits");
    if (requestKey == null || requestKey.length < 32) {
      throw new IllegalArgumentException("the request key needs at least 32 bytes");
    }
    try {
      this.requestMac = Mac.getInstance("HmacSHA256");
      this.requestMac.init(new SecretKeySpec(requestKey, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
    this.keys = Objects.requireNonNull(keys, "keys");
    this.self = Objects.requireNonNull(self, "self address");
    this.selfId = keys.nodeId();
    if (!self.id().equals(selfId)) {
      throw new IllegalArgumentException("the self address names node " + self.id().shortString()
          + " but the keys belong to " + selfId.shortString());
    }
    this.own = Objects.requireNonNull(own, "own fragments port");
    this.held = Objects.requireNonNull(held, "held replicas port");
    this.random = Objects.requireNonNull(random, "random generator");
    this.repairs = new RepairScheduler(config, random);
    this.nextAntiEntropy = now + (long) (random.nextDouble() * config.antiEntropyIntervalMillis());
    this.startedAt = now;
    load(now);
  }

  /** A request key from the core's seeded generator: for simulations and tests. */
  private static byte[] keyFrom(RandomGenerator random) {
    byte[] k = new byte[32];
    random.nextBytes(k);
    return k;
  }

  /**
   * An unguessable request ID for a message to {@code to}: the first 8 bytes of an HMAC over a
   * counter and the peer, so that an ID is bound to the peer that must answer it.
   */
  private long requestId(NodeId to) {
    byte[] in = new byte[8 + NodeId.LENGTH];
    long n = nextRequest++;
    for (int i = 0; i < 8; i++) {
      in[i] = (byte) (n >>> (56 - 8 * i));
    }
    System.arraycopy(to.toBytes(), 0, in, 8, NodeId.LENGTH);
    byte[] mac = requestMac.doFinal(in);
    long id = 0;
    for (int i = 0; i < 8; i++) {
      id = id << 8 | (mac[i] & 0xff);
    }
    return id;
  }

  private void load(long now) {
    held.manifest(selfId).ifPresent(s -> {
      try {
        Manifest m = Manifest.verify(s);
        if (m.owner().equals(selfId)) {
          ownManifest = m;
          m.holders().forEach(h -> addresses.put(h.id(), h));
        }
      } catch (IllegalArgumentException e) {
        // A damaged own manifest is rebuilt by placement or restore.
      }
    });
    OwnerDigest mine = digest(selfId);
    List<FragmentId> blank = new ArrayList<>();
    own.forEach((id, state) -> {
      switch (state) {
        case PRESENT -> mine.put(id, false);
        case DELETED -> own.tombstone(id).ifPresent(t -> keepTombstone(now, selfId, id, t, mine));
        case BLANK, LOST -> blank.add(id);
        default -> { }
      }
    });
    for (FragmentId id : blank) {
      repairs.enqueue(now, id, selfId, true, ownSources());
    }
    for (NodeId owner : held.owners()) {
      if (owner.equals(selfId)) {
        continue;
      }
      Optional<SignedManifest> s = held.manifest(owner);
      if (s.isPresent()) {
        try {
          Manifest m = Manifest.verify(s.get());
          heldManifests.put(owner, m);
          m.holders().forEach(h -> addresses.putIfAbsent(h.id(), h));
        } catch (IllegalArgumentException e) {
          // Kept without a manifest: anti-entropy with the owner brings a good one.
        }
      }
      OwnerDigest d = digest(owner);
      long[] bytes = {0};
      held.forEach(owner, (id, deleted) -> {
        if (deleted) {
          held.tombstone(id).ifPresent(t -> keepTombstone(now, owner, id, t, d));
        } else {
          d.put(id, false);
          held.replica(id).ifPresent(r -> bytes[0] += r.getSerializedSize());
        }
      });
      heldBytes.put(owner, bytes[0]);
    }
  }

  // ---- inputs from the driver ----

  /**
   * The owner's placement candidates changed (its active view, capacities, scores). Places
   * fragments on first call, and tops the holders up to R when candidates appear.
   */
  public List<ReplicaEffect> updatePeers(long now, Collection<Candidate> peers) {
    candidates.clear();
    for (Candidate c : peers) {
      if (!c.id().equals(selfId)) {
        candidates.put(c.id(), c);
        addresses.put(c.id(), c.address());
        awaySince.remove(c.id());
      }
    }
    Out out = new Out();
    ensurePlacement(now, out);
    return out.effects;
  }

  /** Overlay events: a holder that is Dead or Left is replaced at once, after PeerDown after a grace. */
  public List<ReplicaEffect> onOverlayEvent(long now, OverlayEvent event) {
    Out out = new Out();
    if (event instanceof OverlayEvent.Dead d) {
      holderGone(now, d.peer(), out);
    } else if (event instanceof OverlayEvent.Left l) {
      holderGone(now, l.peer(), out);
    } else if (event instanceof OverlayEvent.Banned b) {
      holderGone(now, b.peer(), out);
    } else if (event instanceof OverlayEvent.PeerDown down) {
      awaySince.putIfAbsent(down.peer(), now);
    } else if (event instanceof OverlayEvent.PeerUp up) {
      awaySince.remove(up.peer());
      departed.remove(up.peer());
    } else if (event instanceof OverlayEvent.Delivered del && RESTORE_TOPIC.equals(del.topic())) {
      try {
        onRestoreQuery(now, del.origin(), RestoreQuery.parseFrom(del.payload()), out);
      } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
        out.effects.add(new ReplicaEffect.Penalize(del.origin(), PeerScores.MALFORMED,
            "malformed restore query"));
      }
    }
    return out.effects;
  }

  /** The node reports whether it is idle: repairs run faster while it is. */
  public void setIdle(boolean idle) {
    this.idle = idle;
  }

  /**
   * A new own fragment is durable in the local store: replicate it to the holders. Each holder's
   * confirmation comes back as {@link ReplicaEvent.WriteAcked}.
   */
  public List<ReplicaEffect> put(long now, FragmentId id) {
    Out out = new Out();
    FragmentState s = own.state(id);
    if (s != FragmentState.PRESENT) {
      throw new IllegalArgumentException("fragment " + id + " is not PRESENT in the own store ("
          + s + "): store it before replicating it");
    }
    repairs.cancel(now, id);
    Optional<SignedReplica> r = ownReplica(id);
    if (r.isEmpty()) {
      return out.effects; // cannot leave the owner (private, no sealing): not advertised either
    }
    digest(selfId).put(id, false);
    if (ownManifest == null) {
      return out.effects;
    }
    outgoingIds.add(id);
    outgoing.add(r.get());
    outgoingBytes += r.get().getSerializedSize();
    if (outgoing.size() >= MAX_PUT_BATCH || outgoingBytes >= MAX_PUT_BATCH_BYTES) {
      flushPuts(now, out);
    }
    return out.effects;
  }

  /** Most replicas in one ReplicaPut; a batch also leaves early at this many bytes. */
  static final int MAX_PUT_BATCH = 256;
  static final int MAX_PUT_BATCH_BYTES = 1 << 20;

  private void flushPuts(long now, Out out) {
    if (outgoing.isEmpty()) {
      return;
    }
    if (ownManifest != null) {
      List<FragmentId> ids = List.copyOf(outgoingIds);
      for (PeerAddress h : ownManifest.holders()) {
        long req = requestId(h.id());
        puts.put(req, new Put(h.id(), ids, true, now + 3 * config.fetchTimeoutMillis()));
        ReplicaPut put = ReplicaPut.newBuilder().setManifest(ownManifest.signed())
            .addAllReplicas(outgoing).setRequestId(req).build();
        replicatedBytes += outgoingBytes;
        send(out, h.id(), Envelope.newBuilder().setReplicaPut(put).build());
      }
    }
    outgoingIds.clear();
    outgoing.clear();
    outgoingBytes = 0;
  }

  /**
   * An own fragment was deleted locally (the store holds the tombstone): push the tombstone to
   * every holder. Holders keep it for {@code tombstoneRetentionMillis} so that none that was away
   * brings the fragment back.
   */
  public List<ReplicaEffect> delete(long now, FragmentId id, SignedTombstone tombstone) {
    NodeId signer = TOMBSTONES.verifyTombstoneFor(id, tombstone);
    if (!signer.equals(selfId)) {
      throw new IllegalArgumentException("the tombstone for " + id + " is signed by "
          + signer.shortString() + ", not by this node");
    }
    Out out = new Out();
    int waiting = outgoingIds.indexOf(id);
    if (waiting >= 0) {
      outgoingIds.remove(waiting);
      outgoingBytes -= outgoing.remove(waiting).getSerializedSize();
    }
    keepTombstone(now, selfId, id, tombstone, digest(selfId));
    forgetSealed(id);
    repairs.cancel(now, id);
    if (ownManifest != null) {
      Envelope env = Envelope.newBuilder().setReplicaDelete(
          ReplicaDelete.newBuilder().addTombstones(tombstone)).build();
      for (PeerAddress h : ownManifest.holders()) {
        send(out, h.id(), env);
      }
    }
    return out.effects;
  }

  /**
   * An own fragment failed its check (a read or the scrubber turned it BLANK): queue its repair.
   */
  public List<ReplicaEffect> onBlank(long now, FragmentId id) {
    Out out = new Out();
    if (!digest(selfId).containsTombstone(id)) {
      digest(selfId).remove(id);
      repairs.enqueue(now, id, selfId, true, ownSources());
    }
    return out.effects;
  }

  /**
   * A read hit a BLANK own fragment: ask one holder at once, outside the repair throttle. The
   * outcome is {@link ReplicaEvent.Repaired} for that ID, or {@link ReplicaEvent.FetchTimedOut}
   * once {@code deadline} has passed (the fragment then stays in the repair queue).
   */
  public List<ReplicaEffect> fetchNow(long now, FragmentId id, long deadline) {
    Out out = new Out();
    if (!repairs.contains(id)) {
      repairs.enqueue(now, id, selfId, true, ownSources());
    }
    fetchNow.put(id, deadline);
    RepairScheduler.Work w = repairs.claim(id);
    if (w == null) {
      return out.effects;
    }
    long req = requestId(w.source());
    fetches.put(req, new Fetch(w.source(), w.owner(), Set.of(id), Math.min(deadline,
        now + config.fetchTimeoutMillis())));
    send(out, w.source(), Envelope.newBuilder().setReplicaFetch(ReplicaFetch.newBuilder()
        .setRequestId(req).setOwnerId(bytes(w.owner())).setIds(ByteString.copyFrom(id.toBytes())))
        .build());
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
    Out out = new Out();
    restoreStartedAt = now;
    restoreHeldMin = Long.MAX_VALUE;
    restorePlaceholdersMade = 0;
    restoreBroadcast = false;
    restoreOffered = false;
    Envelope q = Envelope.newBuilder().setRestoreQuery(restoreQuery()).build();
    Set<NodeId> asked = new LinkedHashSet<>(candidates.keySet());
    if (ownManifest != null) {
      asked.addAll(ownManifest.holderIds());
    }
    for (NodeId n : asked) {
      send(out, n, q);
    }
    out.report(new ReplicaEvent.RestoreStarted(asked.size()));
    return out.effects;
  }

  /** Periodic work; call every overlay tick (100 ms to 1 s). */
  public List<ReplicaEffect> tick(long now) {
    Out out = new Out();
    flushPuts(now, out);
    expireFetches(now, out);
    expireTombstones(now);
    restoreTick(now, out);
    ensurePlacement(now, out);
    streamTick(now, out);
    repairTick(now, out);
    probeTick(now, out);
    scrubTick(now, out);
    if (now >= nextAntiEntropy) {
      nextAntiEntropy = now + config.antiEntropyIntervalMillis();
      antiEntropy(out);
    }
    return out.effects;
  }

  /** Runs an anti-entropy round with every partner now (tests, and {@code repair run}). */
  public List<ReplicaEffect> antiEntropyNow(long now) {
    Out out = new Out();
    nextAntiEntropy = now + config.antiEntropyIntervalMillis();
    antiEntropy(out);
    return out.effects;
  }

  /** One replication message (Envelope fields 30-49) from an authenticated, admitted peer. */
  public List<ReplicaEffect> onMessage(long now, NodeId from, Envelope env) {
    Out out = new Out();
    if (from.equals(selfId)) {
      return out.effects;
    }
    if (isOwnSource(from)) {
      lastHeard.put(from, now); // only holders are judged by their silence
    }
    try {
      switch (env.getBodyCase()) {
        case REPLICA_PUT -> onPut(now, from, env.getReplicaPut(), out);
        case REPLICA_ACK -> onAck(now, from, env.getReplicaAck(), out);
        case REPLICA_DELETE -> {
          if (env.getReplicaDelete().getTombstonesCount() > MAX_DELETE_TOMBSTONES) {
            throw new IllegalArgumentException("a delete carries "
                + env.getReplicaDelete().getTombstonesCount() + " tombstones, at most "
                + MAX_DELETE_TOMBSTONES);
          }
          for (SignedTombstone t : env.getReplicaDelete().getTombstonesList()) {
            onTombstone(now, from, t, out);
          }
        }
        case MANIFEST_UPDATE -> {
          if (mayRelayManifest(from, env.getManifestUpdate().getManifest())) {
            learnManifest(now, from, Manifest.verify(env.getManifestUpdate().getManifest()), out);
          }
        }
        case REPLICA_FETCH -> onFetch(now, from, env.getReplicaFetch(), out);
        case REPLICA_FETCH_REPLY -> onFetchReply(now, from, env.getReplicaFetchReply(), out);
        case DIGEST_ROOTS -> onRoots(from, env.getDigestRoots(), out);
        case DIGEST_NODES -> onNodes(from, env.getDigestNodes(), out);
        case DIGEST_IDS -> onIds(now, from, env.getDigestIds(), out);
        case RESTORE_QUERY -> onRestoreQuery(now, from, env.getRestoreQuery(), out);
        case RESTORE_OFFER -> onRestoreOffer(now, from, env.getRestoreOffer(), out);
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
    RepairScheduler.Stats s = repairs.stats();
    long heldEntries = 0;
    int heldOwners = 0;
    for (Map.Entry<NodeId, OwnerDigest> e : digests.entrySet()) {
      if (!e.getKey().equals(selfId) && e.getValue().size() > 0) {
        heldOwners++;
        heldEntries += e.getValue().size();
      }
    }
    long backlog = 0;
    for (Stream st : streams.values()) {
      backlog += st.replicas.size() + st.tombstones.size();
    }
    return new ReplicaStatus(s.queued(), s.inFlight(), s.lost(), s.repairsDone(),
        s.repairsFailed(), s.bytesMoved(), s.lastCycle(), s.currentCycle(), holders(),
        ownManifest == null ? 0 : ownManifest.version(), digest(selfId).size(), heldOwners,
        heldEntries, backlog, replicatedBytes, forgedReplicas, scrubFailures,
        restoreStartedAt >= 0);
  }

  /**
   * IDs learned from a partner's digest that wait to be fetched and verified, or are being
   * fetched (never more than {@link #MAX_PENDING_PROBES} plus {@link #MAX_PROBES_IN_FLIGHT}).
   */
  public int pendingProbes() {
    return probes.size() + probesInFlight;
  }

  /** This node's holders, in manifest order (empty before placement). */
  public List<NodeId> holders() {
    return ownManifest == null ? List.of() : ownManifest.holderIds();
  }

  /** This node's current manifest, if it has placed anything. */
  public Optional<Manifest> manifest() {
    return Optional.ofNullable(ownManifest);
  }

  /** The manifest this node keeps for another owner, if it holds for it. */
  public Optional<Manifest> manifestOf(NodeId owner) {
    return Optional.ofNullable(owner.equals(selfId) ? ownManifest : heldManifests.get(owner));
  }

  /** The holders that confirmed a recent put (the last 4096 puts are remembered). */
  public Set<NodeId> confirmations(FragmentId id) {
    Set<NodeId> s = confirmations.get(id);
    return s == null ? Set.of() : Set.copyOf(s);
  }

  /** Where a fragment's repair stands here, or null when it is not queued. */
  public RepairScheduler.Phase repairPhase(FragmentId id) {
    return repairs.phase(id);
  }

  /**
   * The digest this node keeps for an owner (its own under its own node ID); an empty one, not
   * kept, when it keeps none.
   */
  public OwnerDigest digestOf(NodeId owner) {
    OwnerDigest d = digests.get(owner);
    return d != null ? d : new OwnerDigest(config.digestLeafBits());
  }

  /** The digest for an owner, made when first needed (only for owners this node keeps). */
  private OwnerDigest digest(NodeId owner) {
    return digests.computeIfAbsent(owner, k -> new OwnerDigest(config.digestLeafBits()));
  }

  public NodeId id() {
    return selfId;
  }

  public ReplicaConfig config() {
    return config;
  }

  // ---- placement ----

  private List<NodeId> ownSources() {
    Set<NodeId> s = new LinkedHashSet<>();
    if (ownManifest != null) {
      s.addAll(ownManifest.holderIds());
    }
    s.addAll(restorePartners);
    return new ArrayList<>(s);
  }

  private void holderGone(long now, NodeId peer, Out out) {
    if (ownManifest != null && ownManifest.names(peer)) {
      departed.add(peer);
      ensurePlacement(now, out);
    }
  }

  /**
   * A holder that is not a neighbour and has sent nothing for the grace plus three anti-entropy
   * intervals (holders send their roots every interval) is gone: it died while this node was
   * down, so no failure detector ever reported it.
   */
  private boolean silent(long now, NodeId holder) {
    if (candidates.containsKey(holder)) {
      return false;
    }
    long heard = Math.max(startedAt, lastHeard.getOrDefault(holder, startedAt));
    return now - heard > config.holderGraceMillis() + 3 * config.antiEntropyIntervalMillis();
  }

  private boolean restoreHoldsPlacement(long now) {
    return restoreStartedAt >= 0 && !restoreOffered
        && now < restoreStartedAt + 2 * config.restoreBroadcastDelayMillis()
            + config.fetchTimeoutMillis();
  }

  private void ensurePlacement(long now, Out out) {
    if (restoreHoldsPlacement(now) || candidates.isEmpty() && ownManifest == null) {
      return;
    }
    List<NodeId> current = holders();
    List<NodeId> keep = new ArrayList<>();
    for (NodeId h : current) {
      Long away = awaySince.get(h);
      boolean gone = departed.contains(h)
          || away != null && now - away >= config.holderGraceMillis()
          || silent(now, h);
      if (!gone) {
        keep.add(h);
      }
    }
    int r = config.replicationFactor();
    if (keep.size() == current.size() && (current.size() >= r
        || candidates.keySet().stream().allMatch(current::contains))) {
      return;
    }
    List<Candidate> pool = new ArrayList<>();
    for (Candidate c : candidates.values()) {
      if (!departed.contains(c.id())) {
        pool.add(c);
      }
    }
    List<NodeId> next = Placement.refill(selfId, keep, pool, r);
    if (next.equals(current)) {
      return;
    }
    List<PeerAddress> addrs = new ArrayList<>();
    for (NodeId n : next) {
      PeerAddress a = addresses.get(n);
      if (a == null) {
        return; // cannot name a holder we cannot reach; wait for its address
      }
      addrs.add(a);
    }
    long version = Math.max(ownManifest == null ? 1 : ownManifest.version() + 1, now);
    Manifest m = Manifest.sign(keys, version, addrs, r);
    List<NodeId> added = new ArrayList<>(next);
    added.removeAll(current);
    List<NodeId> removed = new ArrayList<>(current);
    removed.removeAll(next);
    ownManifest = m;
    held.putManifest(selfId, m.signed());
    departed.removeAll(removed);
    Envelope update = Envelope.newBuilder().setManifestUpdate(
        ManifestUpdate.newBuilder().setManifest(m.signed())).build();
    Set<NodeId> tell = new LinkedHashSet<>(current);
    tell.addAll(next);
    for (NodeId n : tell) {
      send(out, n, update);
    }
    for (NodeId n : removed) {
      streams.remove(n);
    }
    for (NodeId n : added) {
      lastHeard.put(n, now);
      startStream(n);
    }
    repairs.addSources(now, selfId, ownSources());
    out.report(new ReplicaEvent.HoldersChanged(version, next, added, removed));
  }

  private void startStream(NodeId holder) {
    Stream st = new Stream();
    own.forEach((id, state) -> {
      if (state == FragmentState.PRESENT) {
        st.replicas.add(id);
      } else if (state == FragmentState.DELETED && digest(selfId).containsTombstone(id)) {
        st.tombstones.add(id);
      }
    });
    if (!st.replicas.isEmpty() || !st.tombstones.isEmpty()) {
      streams.put(holder, st);
    }
  }

  private void streamTick(long now, Out out) {
    if (ownManifest == null) {
      streams.clear();
      return;
    }
    int budget = config.streamPerTick();
    for (Iterator<Map.Entry<NodeId, Stream>> it = streams.entrySet().iterator();
        it.hasNext() && budget > 0; ) {
      Map.Entry<NodeId, Stream> e = it.next();
      Stream st = e.getValue();
      while (budget > 0 && !st.replicas.isEmpty()) {
        ReplicaPut.Builder put = ReplicaPut.newBuilder().setManifest(ownManifest.signed());
        List<FragmentId> ids = new ArrayList<>();
        int size = 0;
        while (budget > 0 && !st.replicas.isEmpty() && ids.size() < config.fetchBatch()
            && size < MAX_REPLY_BYTES / 2) {
          FragmentId id = st.replicas.poll();
          budget--;
          Optional<SignedReplica> r = ownReplica(id);
          if (r.isPresent()) {
            put.addReplicas(r.get());
            ids.add(id);
            size += r.get().getSerializedSize();
          }
        }
        if (!ids.isEmpty()) {
          long req = requestId(e.getKey());
          puts.put(req, new Put(e.getKey(), ids, false, now + 3 * config.fetchTimeoutMillis()));
          replicatedBytes += size;
          send(out, e.getKey(), Envelope.newBuilder().setReplicaPut(put.setRequestId(req))
              .build());
        }
      }
      ReplicaDelete.Builder del = ReplicaDelete.newBuilder();
      while (budget > 0 && !st.tombstones.isEmpty() && del.getTombstonesCount() < 256) {
        FragmentId id = st.tombstones.poll();
        budget--;
        own.tombstone(id).ifPresent(del::addTombstones);
      }
      if (del.getTombstonesCount() > 0) {
        send(out, e.getKey(), Envelope.newBuilder().setReplicaDelete(del).build());
      }
      if (st.replicas.isEmpty() && st.tombstones.isEmpty()) {
        it.remove();
      }
    }
  }

  // ---- holder role ----

  private void onPut(long now, NodeId from, ReplicaPut put, Out out) {
    if (!from.equals(claimedOwner(put.getManifest()))) {
      throw new IllegalArgumentException("only an owner may push its replicas");
    }
    if (put.getReplicasCount() > MAX_PUT_REPLICAS) {
      throw new IllegalArgumentException("a put carries " + put.getReplicasCount()
          + " replicas, at most " + MAX_PUT_REPLICAS);
    }
    Manifest m = Manifest.verify(put.getManifest());
    if (!m.owner().equals(from)) {
      throw new IllegalArgumentException("only an owner may push its replicas");
    }
    learnManifest(now, from, m, out);
    Manifest current = heldManifests.get(from);
    boolean holder = current != null && current.names(selfId);
    if (current != null && current.version() > m.version()) {
      // The owner lost its newest manifest (a restore from an older copy): hand it back.
      send(out, from, Envelope.newBuilder().setManifestUpdate(
          ManifestUpdate.newBuilder().setManifest(current.signed())).build());
    }
    ReplicaAck.Builder ack = ReplicaAck.newBuilder().setRequestId(put.getRequestId());
    ByteArrayOutputStream stored = new ByteArrayOutputStream();
    ByteArrayOutputStream refused = new ByteArrayOutputStream();
    for (SignedReplica r : put.getReplicasList()) {
      if (!holder) {
        // Not a holder (no consent, or dropped): nothing is verified or kept, and the owner
        // is told which it should place elsewhere.
        byte[] claimed = claimedId(r);
        if (claimed != null) {
          refused.writeBytes(claimed);
        }
        continue;
      }
      if (r.getSerializedSize() > limits.maxReplicaBytes()) {
        // Too big for this holder, not forged: refused so that the owner places it elsewhere.
        byte[] claimed = claimedId(r);
        if (claimed != null) {
          refused.writeBytes(claimed);
        }
        continue;
      }
      ReplicaCodec.Verified v;
      try {
        v = verifyReplica(r);
      } catch (InvalidFragmentException e) {
        forged(from, null, e.getMessage(), out);
        continue;
      }
      byte[] idBytes = v.id().toBytes();
      if (!holder || !v.owner().equals(from)) {
        refused.writeBytes(idBytes);
        continue;
      }
      OwnerDigest d = digest(from);
      if (d.containsTombstone(v.id()) || d.containsLive(v.id())
          || keepReplica(from, v.id(), r)) {
        if (!d.containsTombstone(v.id())) {
          d.put(v.id(), false);
        }
        repairs.cancel(now, v.id());
        stored.writeBytes(idBytes);
      } else {
        refused.writeBytes(idBytes);
      }
    }
    ack.setStored(ByteString.copyFrom(stored.toByteArray()))
        .setRefused(ByteString.copyFrom(refused.toByteArray()));
    send(out, from, Envelope.newBuilder().setReplicaAck(ack).build());
  }

  private void onAck(long now, NodeId from, ReplicaAck ack, Out out) {
    Put p = puts.get(ack.getRequestId());
    if (p == null || !p.holder.equals(from)) {
      return; // late, or an ack for a put this peer was never sent
    }
    puts.remove(ack.getRequestId());
    for (FragmentId id : ids(ack.getStored())) {
      if (p.report && p.ids.contains(id)) {
        Set<NodeId> c = confirmations.computeIfAbsent(id, k -> new LinkedHashSet<>());
        c.add(from);
        out.report(new ReplicaEvent.WriteAcked(id, from, Set.copyOf(c)));
      }
    }
    boolean refused = false;
    for (FragmentId id : ids(ack.getRefused())) {
      if (p.ids.contains(id)) {
        refused = true;
        out.report(new ReplicaEvent.WriteRefused(id, from));
      }
    }
    // A holder without room is replaced like one that left; the new manifest releases it.
    if (refused && ownManifest != null && ownManifest.names(from)) {
      departed.add(from);
      ensurePlacement(now, out);
    }
  }

  private void onTombstone(long now, NodeId from, SignedTombstone t, Out out) {
    if (!concernsThisNode(t)) {
      return; // not this node's, nor an owner's it holds for: not worth a signature check
    }
    TombstoneBody body = TOMBSTONES.verifyTombstone(t);
    FragmentId id = FragmentId.of(body.getFragmentId().toByteArray());
    NodeId owner = NodeId.fromPublicKey(body.getOwnerPublicKey().toByteArray());
    boolean expired = body.getDeletedAtMillis() + config.tombstoneRetentionMillis() <= now;
    if (owner.equals(selfId)) {
      if (own.state(id) != FragmentState.DELETED) {
        own.applyTombstone(id, t);
        forgetSealed(id);
        out.report(new ReplicaEvent.TombstoneApplied(id, owner, from));
      }
      if (!expired) {
        keepTombstone(now, owner, id, t, digest(selfId));
      } else {
        digest(selfId).remove(id);
      }
      repairs.cancel(now, id);
      return;
    }
    Manifest m = heldManifests.get(owner);
    if (m == null || !m.names(selfId)) {
      return; // not a holder for this owner: nothing to keep out
    }
    OwnerDigest d = digest(owner);
    if (d.containsTombstone(id)) {
      return;
    }
    if (expired) {
      if (d.remove(id)) {
        forgetHeld(owner, id);
      }
    } else {
      if (!d.containsLive(id) && d.size() >= limits.maxEntriesPerOwner()) {
        return; // over the owner's quota: a tombstone for a replica never held is not kept
      }
      forgetBytes(owner, id);
      held.putTombstone(owner, id, t);
      keepTombstone(now, owner, id, t, d);
    }
    boolean wasQueued = repairs.contains(id);
    repairs.succeeded(now, id, 0);
    if (wasQueued || !from.equals(owner)) {
      out.report(new ReplicaEvent.TombstoneApplied(id, owner, from));
    }
  }

  private void keepTombstone(long now, NodeId owner, FragmentId id, SignedTombstone t,
      OwnerDigest d) {
    long deletedAt;
    try {
      deletedAt = TombstoneBody.parseFrom(t.getBody()).getDeletedAtMillis();
    } catch (InvalidProtocolBufferException e) {
      return;
    }
    long expiry = deletedAt + config.tombstoneRetentionMillis();
    if (expiry <= now) {
      d.remove(id);
      return;
    }
    d.put(id, true);
    expiries.add(new Expiry(expiry, owner, id));
  }

  private void expireTombstones(long now) {
    while (!expiries.isEmpty() && expiries.peek().at <= now) {
      Expiry e = expiries.poll();
      OwnerDigest d = digests.get(e.owner);
      if (d != null && d.containsTombstone(e.id) && d.remove(e.id) && !e.owner.equals(selfId)) {
        forgetHeld(e.owner, e.id);
      }
    }
  }

  /**
   * A manifest signed by its owner, relayed by {@code from}. Taken only from the owner itself or
   * from a holder the known manifest names (a stranger replaying an old or foreign manifest
   * changes nothing), and a manifest that names this node for a new owner only while this
   * node holds for fewer than {@code maxHeldOwners}: holding is consent, not an obligation.
   */
  private void learnManifest(long now, NodeId from, Manifest m, Out out) {
    if (m.owner().equals(selfId)) {
      if (m.names(from) || isOwnSource(from)) {
        adoptOwnManifest(now, m);
      }
      return;
    }
    Manifest known = heldManifests.get(m.owner());
    if (!from.equals(m.owner()) && (known == null || !known.names(from))) {
      return;
    }
    if (known != null && known.version() >= m.version()) {
      return;
    }
    if (m.names(selfId) && known == null && heldManifests.size() >= limits.maxHeldOwners()) {
      return; // no consent: the owner's puts are refused and it places elsewhere
    }
    if (known != null) {
      Set<NodeId> dropped = new LinkedHashSet<>(known.holderIds());
      dropped.removeAll(m.holderIds());
      dropped.remove(selfId);
      if (!dropped.isEmpty()) {
        formerHolders.put(m.owner(), dropped); // at most Manifest.MAX_HOLDERS
      }
    }
    if (m.names(selfId)) {
      heldManifests.put(m.owner(), m);
      held.putManifest(m.owner(), m.signed());
      for (PeerAddress h : m.holders()) {
        if (!h.id().equals(selfId)) {
          addresses.put(h.id(), h);
        }
      }
      repairs.addSources(now, m.owner(), heldSources(m.owner()));
    } else if (known != null) {
      heldManifests.remove(m.owner());
      held.dropOwner(m.owner());
      digests.remove(m.owner());
      heldBytes.remove(m.owner());
      formerHolders.remove(m.owner());
      repairs.cancelOwner(now, m.owner());
      out.report(new ReplicaEvent.Released(m.owner(), m.version()));
    }
  }

  private void adoptOwnManifest(long now, Manifest m) {
    if (ownManifest != null && ownManifest.version() >= m.version()) {
      return;
    }
    ownManifest = m;
    held.putManifest(selfId, m.signed());
    for (PeerAddress h : m.holders()) {
      addresses.putIfAbsent(h.id(), h);
    }
    repairs.addSources(now, selfId, ownSources());
  }

  /** Participants of an owner's digest other than this node, holders first, the owner last. */
  private List<NodeId> heldSources(NodeId owner) {
    List<NodeId> out = new ArrayList<>();
    Manifest m = heldManifests.get(owner);
    if (m != null) {
      for (NodeId h : m.holderIds()) {
        if (!h.equals(selfId)) {
          out.add(h);
        }
      }
    }
    out.add(owner);
    return out;
  }

  private void scrubTick(long now, Out out) {
    if (scrubQueue.isEmpty()) {
      for (Map.Entry<NodeId, OwnerDigest> e : digests.entrySet()) {
        if (!e.getKey().equals(selfId)) {
          e.getValue().forEach((id, deleted) -> {
            if (!deleted) {
              scrubQueue.add(id);
            }
          });
        }
      }
    }
    for (int i = 0; i < config.scrubPerTick() && !scrubQueue.isEmpty(); i++) {
      FragmentId id = scrubQueue.poll();
      Optional<NodeId> owner = held.ownerOf(id);
      Optional<SignedReplica> r = held.replica(id);
      if (owner.isEmpty() || r.isEmpty()) {
        continue;
      }
      String bad = check(id, owner.get(), r.get());
      if (bad != null) {
        dropBadCopy(now, owner.get(), id, bad, out);
      }
    }
  }

  private static String check(FragmentId id, NodeId owner, SignedReplica r) {
    try {
      ReplicaCodec.Verified v = ReplicaCodec.verify(id, r);
      return v.owner().equals(owner) ? null : "replica belongs to another owner";
    } catch (InvalidFragmentException e) {
      return e.getMessage();
    }
  }

  private void dropBadCopy(long now, NodeId owner, FragmentId id, String why, Out out) {
    forgetHeld(owner, id);
    digest(owner).remove(id);
    scrubFailures++;
    out.report(new ReplicaEvent.ScrubFailed(id, owner, why));
    repairs.enqueue(now, id, owner, false, heldSources(owner));
  }

  // ---- fetches and repair ----

  private void onFetch(long now, NodeId from, ReplicaFetch f, Out out) {
    NodeId owner = NodeId.of(f.getOwnerId().toByteArray());
    List<FragmentId> ids = ids(f.getIds());
    if (ids.size() > MAX_IDS_PER_MESSAGE) {
      throw new IllegalArgumentException("a fetch asks for at most " + MAX_IDS_PER_MESSAGE
          + " IDs, got " + ids.size());
    }
    boolean mine = owner.equals(selfId);
    if (!entitled(owner, from)) {
      return; // only the owner and its holders may read what is kept for it
    }
    ReplicaFetchReply.Builder reply = ReplicaFetchReply.newBuilder().setRequestId(f.getRequestId());
    ByteArrayOutputStream missing = new ByteArrayOutputStream();
    int size = 0;
    for (FragmentId id : ids) {
      if (size >= MAX_REPLY_BYTES) {
        break; // the rest is left unanswered; the asker asks again
      }
      Optional<SignedTombstone> t = mine ? own.tombstone(id) : heldTombstone(owner, id);
      if (t.isPresent()) {
        reply.addTombstones(t.get());
        size += t.get().getSerializedSize();
        continue;
      }
      Optional<SignedReplica> r = mine ? ownReplica(id) : heldReplica(now, owner, id, out);
      if (r.isPresent()) {
        reply.addReplicas(r.get());
        size += r.get().getSerializedSize();
      } else {
        missing.writeBytes(id.toBytes());
      }
    }
    reply.setMissing(ByteString.copyFrom(missing.toByteArray()));
    Manifest m = mine ? ownManifest : heldManifests.get(owner);
    if (m != null) {
      reply.setManifest(m.signed());
    }
    send(out, from, Envelope.newBuilder().setReplicaFetchReply(reply).build());
  }

  private Optional<SignedTombstone> heldTombstone(NodeId owner, FragmentId id) {
    return digestOf(owner).containsTombstone(id) ? held.tombstone(id) : Optional.empty();
  }

  /** A held replica, checked before it is served: a bad one is dropped and queued for repair. */
  private Optional<SignedReplica> heldReplica(long now, NodeId owner, FragmentId id, Out out) {
    if (!digestOf(owner).containsLive(id)) {
      return Optional.empty();
    }
    Optional<SignedReplica> r = held.replica(id);
    if (r.isEmpty()) {
      digest(owner).remove(id);
      return r;
    }
    String bad = check(id, owner, r.get());
    if (bad != null) {
      dropBadCopy(now, owner, id, bad, out);
      return Optional.empty();
    }
    return r;
  }

  private void onFetchReply(long now, NodeId from, ReplicaFetchReply reply, Out out) {
    Fetch f = fetches.get(reply.getRequestId());
    if (f == null || !f.peer.equals(from)) {
      return; // late (already timed out) or not ours
    }
    fetches.remove(reply.getRequestId());
    if (f.probe) {
      onProbeReply(now, from, f, reply, out);
      return;
    }
    if (reply.hasManifest()) {
      try {
        Manifest m = Manifest.verify(reply.getManifest());
        if (m.owner().equals(f.owner)) {
          learnManifest(now, from, m, out);
        }
      } catch (IllegalArgumentException e) {
        out.effects.add(new ReplicaEffect.Penalize(from, PeerScores.BAD_SIGNATURE,
            "forged manifest: " + e.getMessage()));
      }
    }
    Set<FragmentId> answered = new HashSet<>();
    for (SignedTombstone t : reply.getTombstonesList()) {
      FragmentId id = askedTombstone(f, t);
      if (id != null) {
        answered.add(id);
        onTombstone(now, from, t, out);
        repairs.succeeded(now, id, 0);
        fetchNow.remove(id);
      }
    }
    for (SignedReplica r : reply.getReplicasList()) {
      ReplicaCodec.Verified v;
      try {
        v = verifyAsked(f, r);
      } catch (InvalidFragmentException e) {
        FragmentId guess = guessId(r, f.ids);
        forged(from, guess, e.getMessage(), out);
        if (guess != null) {
          answered.add(guess);
          failAttempt(now, guess, from, "forged: " + e.getMessage(), out);
        }
        continue;
      }
      answered.add(v.id());
      storeRepaired(now, from, v, out);
    }
    for (FragmentId id : ids(reply.getMissing())) {
      if (f.ids.contains(id) && answered.add(id)) {
        failAttempt(now, id, from, "not held there", out);
      }
    }
    for (FragmentId id : f.ids) {
      if (!answered.contains(id)) {
        repairs.deferred(now, id);
      }
    }
  }

  /** The asked-for ID a bad replica claims to be, if its body parses that far. */
  /**
   * The fragment a tombstone in a fetch reply deletes, when the fetch asked for it and the
   * fetch's owner signed it; null otherwise.
   */
  private static FragmentId askedTombstone(Fetch f, SignedTombstone t) {
    TombstoneBody body = TOMBSTONES.verifyTombstone(t);
    FragmentId id = FragmentId.of(body.getFragmentId().toByteArray());
    boolean asked = f.ids.contains(id)
        && NodeId.fromPublicKey(body.getOwnerPublicKey().toByteArray()).equals(f.owner);
    return asked ? id : null;
  }

  /**
   * Verifies a replica in a fetch reply and checks it is one the fetch asked for, of the
   * fetch's owner.
   *
   * @throws InvalidFragmentException when it does not verify or was not asked for
   */
  private ReplicaCodec.Verified verifyAsked(Fetch f, SignedReplica r) {
    ReplicaCodec.Verified v = verifyReplica(r);
    if (!f.ids.contains(v.id())) {
      throw new InvalidFragmentException("id", "replica of " + v.id() + " was not asked for");
    }
    if (!v.owner().equals(f.owner)) {
      throw new InvalidFragmentException("owner", "replica belongs to another owner");
    }
    return v;
  }

  private static FragmentId guessId(SignedReplica r, Set<FragmentId> asked) {
    try {
      byte[] id = dev.mycelium.wire.proto.ReplicaBody.parseFrom(r.getBody()).getFragmentId()
          .toByteArray();
      if (id.length == FragmentId.LENGTH && asked.contains(FragmentId.of(id))) {
        return FragmentId.of(id);
      }
    } catch (InvalidProtocolBufferException e) {
      // Unparseable: the attempt times out and is retried elsewhere.
    }
    return asked.size() == 1 ? asked.iterator().next() : null;
  }

  /** Keeps a verified replica a probe brought for an owner this node holds for. */
  private void storeHeld(long now, NodeId from, ReplicaCodec.Verified v, Out out) {
    Manifest m = heldManifests.get(v.owner());
    if (m == null || !m.names(selfId)) {
      return;
    }
    // The manifest naming this node is the consent: a holder whose owner's first puts never
    // arrived (lost in the owner's restart) has no digest of it yet, and starts one here.
    OwnerDigest d = digest(v.owner());
    if (d.kind(v.id()) != null) {
      return;
    }
    if (keepReplica(v.owner(), v.id(), v.replica())) {
      d.put(v.id(), false);
      out.report(new ReplicaEvent.Repaired(v.id(), v.owner(), false, from, v.size()));
    }
  }

  private void storeRepaired(long now, NodeId from, ReplicaCodec.Verified v, Out out) {
    FragmentId id = v.id();
    boolean mine = v.owner().equals(selfId);
    if (mine) {
      OwnerDigest d = digest(selfId);
      if (d.containsTombstone(id)) {
        repairs.cancel(now, id);
        return;
      }
      if (!own.restore(v)) {
        failAttempt(now, id, from, "the replica could not be opened or stored", out);
        return;
      }
      d.put(id, false);
    } else {
      Manifest m = heldManifests.get(v.owner());
      OwnerDigest d = digest(v.owner());
      if (m == null || !m.names(selfId) || d.containsTombstone(id)) {
        repairs.cancel(now, id);
        return;
      }
      if (!d.containsLive(id)) {
        if (!keepReplica(v.owner(), id, v.replica())) {
          failAttempt(now, id, from, "no room for the replica", out);
          return;
        }
        d.put(id, false);
      }
    }
    boolean queued = repairs.contains(id);
    repairs.succeeded(now, id, v.size());
    fetchNow.remove(id);
    if (queued) {
      out.report(new ReplicaEvent.Repaired(id, v.owner(), mine, from, v.size()));
    }
  }

  private void failAttempt(long now, FragmentId id, NodeId from, String why, Out out) {
    if (!repairs.contains(id)) {
      return;
    }
    boolean lost = repairs.failed(now, id, from);
    out.report(new ReplicaEvent.RepairFailed(id, from, why, attempts(id)));
    if (lost) {
      out.report(new ReplicaEvent.Lost(id, ownerOfRepair(id)));
    }
  }

  private int attempts(FragmentId id) {
    return repairs.attempts(id);
  }

  private NodeId ownerOfRepair(FragmentId id) {
    return repairs.owner(id);
  }

  private void forged(NodeId from, FragmentId id, String why, Out out) {
    forgedReplicas++;
    out.effects.add(new ReplicaEffect.Penalize(from, PeerScores.BAD_SIGNATURE,
        "forged or altered replica: " + why));
    out.report(new ReplicaEvent.ForgedReplica(id, from, why));
  }

  private void expireFetches(long now, Out out) {
    for (Iterator<Map.Entry<Long, Fetch>> it = fetches.entrySet().iterator(); it.hasNext(); ) {
      Fetch f = it.next().getValue();
      if (f.deadline <= now) {
        it.remove();
        if (f.probe) {
          probesInFlight -= f.ids.size();
          continue; // nothing was learned: the claim is simply forgotten
        }
        for (FragmentId id : f.ids) {
          failAttempt(now, id, f.peer, "timed out", out);
        }
      }
    }
    // Acks that never came (a holder died with the put in flight): anti-entropy covers them.
    puts.values().removeIf(p -> p.deadline <= now);
    for (Iterator<Map.Entry<FragmentId, Long>> it = fetchNow.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<FragmentId, Long> e = it.next();
      if (e.getValue() <= now) {
        it.remove();
        out.report(new ReplicaEvent.FetchTimedOut(e.getKey()));
      }
    }
  }

  private void repairTick(long now, Out out) {
    List<RepairScheduler.Work> due = repairs.due(now, idle);
    Map<NodeId, Map<NodeId, List<FragmentId>>> bySource = new LinkedHashMap<>();
    for (RepairScheduler.Work w : due) {
      bySource.computeIfAbsent(w.source(), k -> new LinkedHashMap<>())
          .computeIfAbsent(w.owner(), k -> new ArrayList<>()).add(w.id());
    }
    sendFetches(now, bySource, false, out);
  }

  /**
   * Asks each source for the IDs grouped under it by owner, {@code fetchBatch} IDs a request,
   * and remembers each request until its answer or its deadline.
   */
  private void sendFetches(long now, Map<NodeId, Map<NodeId, List<FragmentId>>> bySource,
      boolean probe, Out out) {
    for (Map.Entry<NodeId, Map<NodeId, List<FragmentId>>> e : bySource.entrySet()) {
      for (Map.Entry<NodeId, List<FragmentId>> byOwner : e.getValue().entrySet()) {
        List<FragmentId> list = byOwner.getValue();
        for (int i = 0; i < list.size(); i += config.fetchBatch()) {
          List<FragmentId> batch = list.subList(i, Math.min(list.size(), i + config.fetchBatch()));
          long req = requestId(e.getKey());
          fetches.put(req, new Fetch(e.getKey(), byOwner.getKey(), new HashSet<>(batch),
              now + config.fetchTimeoutMillis(), probe));
          send(out, e.getKey(), Envelope.newBuilder().setReplicaFetch(ReplicaFetch.newBuilder()
              .setRequestId(req).setOwnerId(bytes(byOwner.getKey())).setIds(concat(batch)))
              .build());
        }
      }
    }
  }

  // ---- anti-entropy ----

  /** For every partner, the owners whose digests both keep. */
  private Map<NodeId, List<NodeId>> partners() {
    Map<NodeId, List<NodeId>> out = new LinkedHashMap<>();
    if (ownManifest != null) {
      for (NodeId h : ownManifest.holderIds()) {
        out.computeIfAbsent(h, k -> new ArrayList<>()).add(selfId);
      }
    }
    for (NodeId p : restorePartners) {
      List<NodeId> l = out.computeIfAbsent(p, k -> new ArrayList<>());
      if (!l.contains(selfId)) {
        l.add(selfId);
      }
    }
    for (Manifest m : heldManifests.values()) {
      if (!m.names(selfId)) {
        continue;
      }
      for (NodeId p : m.participants()) {
        if (!p.equals(selfId)) {
          out.computeIfAbsent(p, k -> new ArrayList<>()).add(m.owner());
        }
      }
    }
    return out;
  }

  private void antiEntropy(Out out) {
    for (Map.Entry<NodeId, List<NodeId>> e : partners().entrySet()) {
      send(out, e.getKey(), rootsFor(e.getValue()));
    }
  }

  /** The DigestRoots message for these owners (public for the bench and tests). */
  public Envelope rootsFor(Collection<NodeId> owners) {
    DigestRoots.Builder b = DigestRoots.newBuilder();
    for (NodeId o : owners) {
      b.addRoots(OwnerRoot.newBuilder().setOwnerId(bytes(o))
          .setRoot(ByteString.copyFrom(digestOf(o).root())));
    }
    return Envelope.newBuilder().setDigestRoots(b).build();
  }

  /**
   * Whether this node keeps the owner's digest for an exchange with {@code peer}: it is the
   * owner, or a holder by the manifest, or the owner itself is asking (a holder that lost
   * everything, manifest included, still answers its owner).
   */
  private boolean participates(NodeId owner, NodeId peer, Out out) {
    if (owner.equals(selfId)) {
      // Only a holder this node chose (its manifest) or one that offered a restore under its
      // signed manifest may talk about its own fragments: anyone else could name made-up IDs.
      return isOwnSource(peer);
    }
    Manifest m = heldManifests.get(owner);
    if (m != null && m.names(selfId)) {
      if (!peer.equals(owner) && !m.names(peer)) {
        // A holder the owner dropped works from an older manifest: tell it. Anyone else is not
        // entitled to this owner's digest or holder list and hears nothing.
        if (formerHolders.getOrDefault(owner, Set.of()).contains(peer)) {
          send(out, peer, Envelope.newBuilder().setManifestUpdate(
              ManifestUpdate.newBuilder().setManifest(m.signed())).build());
        }
        return false;
      }
      return true;
    }
    return peer.equals(owner);
  }

  private void onRoots(NodeId from, DigestRoots roots, Out out) {
    if (roots.getRootsCount() > MAX_ROOTS_PER_MESSAGE) {
      throw new IllegalArgumentException("digest roots carry " + roots.getRootsCount()
          + " owners, at most " + MAX_ROOTS_PER_MESSAGE);
    }
    for (OwnerRoot r : roots.getRootsList()) {
      NodeId owner = NodeId.of(r.getOwnerId().toByteArray());
      if (!participates(owner, from, out)) {
        continue;
      }
      OwnerDigest d = digestOf(owner);
      if (!Arrays.equals(d.root(), r.getRoot().toByteArray())) {
        send(out, from, Envelope.newBuilder().setDigestNodes(DigestNodes.newBuilder()
            .setOwnerId(r.getOwnerId()).setLevel(1).addParents(0)
            .setValues(ByteString.copyFrom(d.children(1, 0)))).build());
      }
    }
  }

  private void onNodes(NodeId from, DigestNodes n, Out out) {
    NodeId owner = NodeId.of(n.getOwnerId().toByteArray());
    if (!participates(owner, from, out)) {
      return;
    }
    OwnerDigest d = digestOf(owner);
    int level = n.getLevel();
    int chunk = OwnerDigest.FANOUT * OwnerDigest.VALUE_BYTES;
    if (level < 1 || level > d.levels()) {
      throw new IllegalArgumentException("digest level " + level + " is outside 1.."
          + d.levels() + " (digest-leaf-bits must match across the network)");
    }
    if (n.getValues().size() != n.getParentsCount() * chunk) {
      throw new IllegalArgumentException("digest nodes carry " + n.getValues().size()
          + " bytes for " + n.getParentsCount() + " parents");
    }
    if (n.getParentsCount() > MAX_PARENTS_PER_MESSAGE) {
      throw new IllegalArgumentException("digest nodes carry " + n.getParentsCount()
          + " parents, at most " + MAX_PARENTS_PER_MESSAGE);
    }
    byte[] values = n.getValues().toByteArray();
    List<Integer> differing = new ArrayList<>();
    for (int i = 0; i < n.getParentsCount(); i++) {
      differing.addAll(d.differingChildren(level, n.getParents(i), values, i * chunk));
    }
    if (differing.isEmpty()) {
      return;
    }
    if (level < d.levels()) {
      for (int i = 0; i < differing.size(); i += MAX_PARENTS_PER_MESSAGE) {
        DigestNodes.Builder b = DigestNodes.newBuilder().setOwnerId(n.getOwnerId())
            .setLevel(level + 1);
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        for (int p : differing.subList(i, Math.min(differing.size(), i + MAX_PARENTS_PER_MESSAGE))) {
          b.addParents(p);
          v.writeBytes(d.children(level + 1, p));
        }
        send(out, from, Envelope.newBuilder().setDigestNodes(
            b.setValues(ByteString.copyFrom(v.toByteArray()))).build());
      }
    } else {
      sendIds(from, owner, d, differing, true, out);
    }
  }

  private void sendIds(NodeId to, NodeId owner, OwnerDigest d, List<Integer> buckets,
      boolean reply, Out out) {
    sendIds(to, owner, d, buckets, reply, (id, deleted) -> true, out);
  }

  private void sendIds(NodeId to, NodeId owner, OwnerDigest d, List<Integer> buckets,
      boolean reply, java.util.function.BiPredicate<FragmentId, Boolean> include, Out out) {
    DigestIds.Builder b = DigestIds.newBuilder().setOwnerId(bytes(owner)).setReply(reply);
    ByteArrayOutputStream live = new ByteArrayOutputStream();
    ByteArrayOutputStream dead = new ByteArrayOutputStream();
    int[] count = {0};
    for (int bucket : buckets) {
      List<FragmentId> liveIds = new ArrayList<>();
      List<FragmentId> deadIds = new ArrayList<>();
      d.forEachIn(bucket, (id, deleted) -> {
        if (include.test(id, deleted)) {
          (deleted ? deadIds : liveIds).add(id);
        }
      });
      for (List<FragmentId> list : List.of(liveIds, deadIds)) {
        for (FragmentId id : list) {
          if (count[0] >= MAX_IDS_PER_MESSAGE) {
            send(out, to, Envelope.newBuilder().setDigestIds(b
                .setLiveIds(ByteString.copyFrom(live.toByteArray()))
                .setDeletedIds(ByteString.copyFrom(dead.toByteArray()))).build());
            b = DigestIds.newBuilder().setOwnerId(bytes(owner)).setReply(reply);
            live.reset();
            dead.reset();
            count[0] = 0;
          }
          (list == liveIds ? live : dead).writeBytes(id.toBytes());
          count[0]++;
        }
      }
      b.addBuckets(bucket);
    }
    send(out, to, Envelope.newBuilder().setDigestIds(b
        .setLiveIds(ByteString.copyFrom(live.toByteArray()))
        .setDeletedIds(ByteString.copyFrom(dead.toByteArray()))).build());
  }

  private void onIds(long now, NodeId from, DigestIds m, Out out) {
    int listed = (m.getLiveIds().size() + m.getDeletedIds().size()) / FragmentId.LENGTH;
    if (listed > MAX_IDS_PER_MESSAGE) {
      throw new IllegalArgumentException("digest IDs carry " + listed + " IDs, at most "
          + MAX_IDS_PER_MESSAGE);
    }
    NodeId owner = NodeId.of(m.getOwnerId().toByteArray());
    if (!participates(owner, from, out)) {
      return;
    }
    OwnerDigest d = digestOf(owner);
    if (m.getBucketsCount() > (1 << d.leafBits())) {
      throw new IllegalArgumentException("digest IDs list " + m.getBucketsCount()
          + " buckets, the digest has " + (1 << d.leafBits()));
    }
    boolean mine = owner.equals(selfId);
    List<FragmentId> theirLive = ids(m.getLiveIds());
    List<FragmentId> theirDead = ids(m.getDeletedIds());
    for (FragmentId id : theirLive) {
      if (d.kind(id) != null) {
        continue;
      }
      FragmentState st = mine ? own.state(id) : null;
      if (st == null) {
        if (mine) {
          learnOwnId(now, from, id);
        } else if (!repairs.contains(id)) {
          probe(owner, from, id);
        }
      } else if ((st == FragmentState.BLANK || st == FragmentState.LOST)
          && !repairs.contains(id)) {
        // Known here already (the owner's own placeholder): the holder is one more source.
        repairs.enqueue(now, id, selfId, true, ownSources());
      }
      // An own fragment deleted long ago (tombstone expired from digests) stays deleted.
    }
    for (FragmentId id : theirDead) {
      if (!d.containsTombstone(id) && !(mine && own.state(id) == FragmentState.DELETED)
          && !repairs.contains(id)) {
        probe(owner, from, id);
      }
    }
    if (m.getReply() && m.getBucketsCount() > 0) {
      for (int bucket : m.getBucketsList()) {
        if (bucket < 0 || bucket >= (1 << d.leafBits())) {
          throw new IllegalArgumentException("bucket " + bucket + " is outside the digest");
        }
      }
      // The listed buckets are complete in this message: answer with only what they lack.
      Map<FragmentId, Boolean> theirs = new HashMap<>();
      theirLive.forEach(id -> theirs.put(id, false));
      theirDead.forEach(id -> theirs.put(id, true));
      sendIds(from, owner, d, m.getBucketsList(), false,
          (id, deleted) -> !Boolean.valueOf(deleted).equals(theirs.get(id)), out);
    }
  }

  /**
   * A holder listed an own ID this node does not know. Only inside a restore this node started,
   * and only once two distinct holders list it, does it become a BLANK placeholder queued for
   * repair (one liar cannot fill the owner's store); otherwise it is fetched and kept only if a
   * replica signed by this node comes back.
   */
  private void learnOwnId(long now, NodeId from, FragmentId id) {
    if (restoreStartedAt < 0) {
      probe(selfId, from, id);
      return;
    }
    Vouch v = vouches.get(id);
    if (v == null) {
      if (vouches.size() < MAX_VOUCHES) {
        vouches.put(id, new Vouch(from, now));
      } // else: the next anti-entropy round lists it again
      return;
    }
    if (v.first().equals(from)) {
      return;
    }
    vouches.remove(id);
    if (restoreHeldMin == Long.MAX_VALUE || restorePlaceholdersMade >= restoreHeldMin) {
      probe(selfId, from, id); // more than the holders said they hold: verify first
      return;
    }
    restorePlaceholdersMade++;
    own.markBlank(id);
    repairs.enqueue(now, id, selfId, true, ownSources());
  }

  private void probe(NodeId owner, NodeId source, FragmentId id) {
    if (probes.size() < MAX_PENDING_PROBES) {
      probes.putIfAbsent(id, new Probe(owner, source));
    } // else dropped: digests still differ, so the next round names it again
  }

  /** Whether a peer may speak about this node's own fragments. */
  private boolean isOwnSource(NodeId peer) {
    return ownManifest != null && ownManifest.names(peer) || restorePartners.contains(peer);
  }

  /**
   * Vouches that found no second holder in time become probes; pending probes leave as
   * fetches to the peer that listed them, within the in-flight bound.
   */
  private void probeTick(long now, Out out) {
    for (Iterator<Map.Entry<FragmentId, Vouch>> it = vouches.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<FragmentId, Vouch> e = it.next();
      if (restoreStartedAt >= 0 && e.getValue().at() + config.fetchTimeoutMillis() > now) {
        break; // insertion order is arrival order
      }
      it.remove();
      probe(selfId, e.getValue().first(), e.getKey());
    }
    Map<NodeId, Map<NodeId, List<FragmentId>>> bySource = new LinkedHashMap<>();
    for (Iterator<Map.Entry<FragmentId, Probe>> it = probes.entrySet().iterator();
        it.hasNext() && probesInFlight < MAX_PROBES_IN_FLIGHT; ) {
      Map.Entry<FragmentId, Probe> e = it.next();
      it.remove();
      Probe p = e.getValue();
      bySource.computeIfAbsent(p.source(), k -> new LinkedHashMap<>())
          .computeIfAbsent(p.owner(), k -> new ArrayList<>()).add(e.getKey());
      probesInFlight++;
    }
    sendFetches(now, bySource, true, out);
  }

  /**
   * The answer to a probe: what verifies as signed by the owner is kept (a replica, or a
   * tombstone that keeps it deleted); anything missing is forgotten, never queued for repair.
   */
  private void onProbeReply(long now, NodeId from, Fetch f, ReplicaFetchReply reply, Out out) {
    probesInFlight -= f.ids.size();
    for (SignedTombstone t : reply.getTombstonesList()) {
      if (askedTombstone(f, t) != null) {
        onTombstone(now, from, t, out);
      }
    }
    for (SignedReplica r : reply.getReplicasList()) {
      ReplicaCodec.Verified v;
      try {
        v = verifyAsked(f, r);
      } catch (InvalidFragmentException e) {
        forged(from, guessId(r, f.ids), e.getMessage(), out);
        continue;
      }
      if (v.owner().equals(selfId)) {
        OwnerDigest d = digest(selfId);
        if (d.kind(v.id()) != null || own.state(v.id()) == FragmentState.DELETED
            || own.state(v.id()) == FragmentState.PRESENT) {
          continue;
        }
        if (own.restore(v)) {
          d.put(v.id(), false);
          repairs.succeeded(now, v.id(), v.size());
          out.report(new ReplicaEvent.Repaired(v.id(), selfId, true, from, v.size()));
        }
      } else {
        storeHeld(now, from, v, out);
      }
    }
  }

  // ---- restore ----

  private RestoreQuery restoreQuery() {
    return RestoreQuery.newBuilder().setOwnerId(bytes(selfId)).setReplyTo(
        ReplicaHolder.newBuilder().setNodeId(bytes(selfId)).setHost(self.host())
            .setPort(self.port())).build();
  }

  private void restoreTick(long now, Out out) {
    if (restoreStartedAt < 0) {
      return;
    }
    if (!restoreOffered && !restoreBroadcast
        && now >= restoreStartedAt + config.restoreBroadcastDelayMillis()) {
      restoreBroadcast = true;
      out.effects.add(new ReplicaEffect.Broadcast(RESTORE_TOPIC, restoreQuery().toByteString(),
          RESTORE_PRIORITY));
    }
    // The restore stays open while offers' digest exchanges may still be under way, so that
    // IDs vouched for by two holders still get their placeholders.
    long settle = restoreLastOfferAt + config.antiEntropyIntervalMillis()
        + 2 * config.fetchTimeoutMillis();
    if (!restoreHoldsPlacement(now) && repairs.stats().queueLength() == 0
        && vouches.isEmpty() && now >= settle) {
      restoreStartedAt = -1; // done, or nobody held anything
    }
  }

  private void onRestoreQuery(long now, NodeId from, RestoreQuery q, Out out) {
    NodeId owner = NodeId.of(q.getOwnerId().toByteArray());
    if (!owner.equals(from) || owner.equals(selfId)) {
      return; // only an owner asks for its own fragments
    }
    Manifest m = heldManifests.get(owner);
    if (m == null || !m.names(selfId)) {
      return; // nothing held for it: not even its address is kept
    }
    if (q.hasReplyTo()) {
      addresses.put(owner, new PeerAddress(owner, q.getReplyTo().getHost(),
          q.getReplyTo().getPort()));
    }
    send(out, owner, Envelope.newBuilder().setRestoreOffer(RestoreOffer.newBuilder()
        .setManifest(m.signed()).setHeld(digestOf(owner).size())).build());
  }

  private void onRestoreOffer(long now, NodeId from, RestoreOffer offer, Out out) {
    if (!selfId.equals(claimedOwner(offer.getManifest()))) {
      throw new IllegalArgumentException("a restore offer carries another owner's manifest");
    }
    if (restoreStartedAt < 0 && ownManifest != null) {
      return; // nobody asked: not worth a signature check
    }
    Manifest m = Manifest.verify(offer.getManifest());
    if (!m.owner().equals(selfId)) {
      throw new IllegalArgumentException("a restore offer carries another owner's manifest");
    }
    if (!m.names(from)) {
      return; // the offerer was dropped from that manifest
    }
    if (ownManifest != null && ownManifest.version() > m.version()) {
      return; // a holder dropped since: it may keep copies of what was deleted after
    }
    adoptOwnManifest(now, m);
    // Partners named only by an older manifest are no longer asked.
    restorePartners.removeIf(p -> !ownManifest.names(p));
    restoreOffered = true;
    restoreLastOfferAt = now;
    restoreHeldMin = Math.min(restoreHeldMin, Math.max(0, offer.getHeld()));
    restorePartners.add(from);
    repairs.addSources(now, selfId, ownSources());
    out.report(new ReplicaEvent.RestoreOffered(from, offer.getHeld(), m.version()));
    send(out, from, rootsFor(List.of(selfId)));
  }

  // ---- helpers ----

  /**
   * Whether a peer may fetch what this node keeps for {@code owner}: the owner itself, or a
   * holder named in the owner's manifest as this node knows it (its own, for its own
   * fragments; restore partners count, as they offered under its signed manifest).
   */
  private boolean entitled(NodeId owner, NodeId peer) {
    if (owner.equals(selfId)) {
      return isOwnSource(peer);
    }
    if (peer.equals(owner)) {
      return true;
    }
    Manifest m = heldManifests.get(owner);
    return m != null && m.names(peer);
  }

  /**
   * Whether a tombstone is about this node's own fragments or an owner it holds for, read from
   * the unverified body: a peer cannot make this node check signatures on anything else.
   */
  private boolean concernsThisNode(SignedTombstone t) {
    try {
      byte[] key = TombstoneBody.parseFrom(t.getBody()).getOwnerPublicKey().toByteArray();
      if (key.length != 32) {
        return true; // let the verifier name what is wrong
      }
      NodeId owner = NodeId.fromPublicKey(key);
      if (owner.equals(selfId)) {
        return true;
      }
      Manifest m = heldManifests.get(owner);
      return m != null && m.names(selfId);
    } catch (InvalidProtocolBufferException e) {
      return true; // malformed: the verifier says so
    }
  }

  /**
   * Whether {@code from} may relay a manifest, read from the unverified body: the owner itself,
   * a holder of the owner's known manifest, or anyone for this node's own (checked again after
   * the signature). Saves a signature check on what would be ignored anyway.
   */
  private boolean mayRelayManifest(NodeId from, dev.mycelium.wire.proto.SignedManifest s) {
    try {
      byte[] key = dev.mycelium.wire.proto.ManifestBody.parseFrom(s.getBody())
          .getOwnerPublicKey().toByteArray();
      if (key.length != 32) {
        return true;
      }
      NodeId owner = NodeId.fromPublicKey(key);
      if (owner.equals(selfId) || owner.equals(from)) {
        return true;
      }
      Manifest m = heldManifests.get(owner);
      return m != null && m.names(from);
    } catch (InvalidProtocolBufferException e) {
      return true;
    }
  }

  /** The owner a manifest claims, unverified, or null when the body does not say. */
  private static NodeId claimedOwner(dev.mycelium.wire.proto.SignedManifest s) {
    try {
      byte[] key = dev.mycelium.wire.proto.ManifestBody.parseFrom(s.getBody())
          .getOwnerPublicKey().toByteArray();
      return key.length == 32 ? NodeId.fromPublicKey(key) : null;
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** Checks a replica's size before its signature: an oversized one is not even parsed. */
  private ReplicaCodec.Verified verifyReplica(SignedReplica r) {
    int size = r.getSerializedSize();
    if (size > limits.maxReplicaBytes()) {
      throw new InvalidFragmentException("size", "replica of " + size + " bytes, at most "
          + limits.maxReplicaBytes());
    }
    return ReplicaCodec.verify(r);
  }

  /** The fragment ID a replica claims, unverified (to name it in a refusal), or null. */
  private static byte[] claimedId(SignedReplica r) {
    try {
      byte[] id = dev.mycelium.wire.proto.ReplicaBody.parseFrom(r.getBody()).getFragmentId()
          .toByteArray();
      return id.length == FragmentId.LENGTH ? id : null;
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** Keeps a verified replica within the owner's quota in entries and bytes. */
  private boolean keepReplica(NodeId owner, FragmentId id, SignedReplica r) {
    OwnerDigest d = digest(owner);
    long size = r.getSerializedSize();
    long bytes = heldBytes.getOrDefault(owner, 0L);
    if (d.size() >= limits.maxEntriesPerOwner() || bytes + size > limits.maxBytesPerOwner()
        || size > limits.maxReplicaBytes()) {
      return false;
    }
    if (!held.putReplica(owner, id, r)) {
      return false;
    }
    heldBytes.put(owner, bytes + size);
    return true;
  }

  private void forgetBytes(NodeId owner, FragmentId id) {
    held.replica(id).ifPresent(r -> heldBytes.computeIfPresent(owner,
        (k, v) -> Math.max(0, v - r.getSerializedSize())));
  }

  private void forgetHeld(NodeId owner, FragmentId id) {
    forgetBytes(owner, id);
    held.remove(id);
  }

  /**
   * An own fragment's replica, sealed once and kept in a bounded cache: fragments are immutable,
   * so the sealed copy stays good until the fragment is deleted.
   */
  private Optional<SignedReplica> ownReplica(FragmentId id) {
    SignedReplica r = sealed.get(id);
    if (r != null) {
      return Optional.of(r);
    }
    Optional<SignedReplica> fresh = own.replica(id);
    if (fresh.isPresent() && limits.sealCacheBytes() > 0) {
      long size = fresh.get().getSerializedSize();
      if (size <= limits.sealCacheBytes()) {
        sealed.put(id, fresh.get());
        sealedBytes += size;
        for (Iterator<SignedReplica> it = sealed.values().iterator();
            sealedBytes > limits.sealCacheBytes() && it.hasNext(); ) {
          sealedBytes -= it.next().getSerializedSize();
          it.remove();
        }
      }
    }
    return fresh;
  }

  private void forgetSealed(FragmentId id) {
    SignedReplica r = sealed.remove(id);
    if (r != null) {
      sealedBytes -= r.getSerializedSize();
    }
  }

  private void send(Out out, NodeId to, Envelope env) {
    out.effects.add(new ReplicaEffect.Send(to, addresses.get(to), env));
  }

  private static ByteString bytes(NodeId id) {
    return ByteString.copyFrom(id.toBytes());
  }

  private static ByteString concat(Collection<FragmentId> ids) {
    byte[] out = new byte[ids.size() * FragmentId.LENGTH];
    int i = 0;
    for (FragmentId id : ids) {
      System.arraycopy(id.toBytes(), 0, out, i, FragmentId.LENGTH);
      i += FragmentId.LENGTH;
    }
    return ByteString.copyFrom(out);
  }

  private static List<FragmentId> ids(ByteString packed) {
    if (packed.size() % FragmentId.LENGTH != 0) {
      throw new IllegalArgumentException("packed IDs are " + packed.size()
          + " bytes, not a multiple of " + FragmentId.LENGTH);
    }
    List<FragmentId> out = new ArrayList<>(packed.size() / FragmentId.LENGTH);
    byte[] b = packed.toByteArray();
    for (int i = 0; i < b.length; i += FragmentId.LENGTH) {
      out.add(FragmentId.of(Arrays.copyOfRange(b, i, i + FragmentId.LENGTH)));
    }
    return out;
  }
}
