package dev.mycelium.overlay.replica;

import static dev.mycelium.overlay.replica.ReplicaContext.TOMBSTONES;
import static dev.mycelium.overlay.replica.ReplicaContext.ids;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.replica.ReplicaContext.Out;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.ReplicaAck;
import dev.mycelium.wire.proto.ReplicaDelete;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The owner role: choosing this node's holders and signing its manifest, replacing holders that
 * die, leave, fall silent or refuse, and sending them its fragments and deletes (batched puts,
 * streams to new holders, acknowledgements).
 */
final class OwnerRole {
  /** Most replicas in one ReplicaPut; a batch also leaves early at this many bytes. */
  static final int MAX_PUT_BATCH = 256;
  static final int MAX_PUT_BATCH_BYTES = 1 << 20;
  private static final int MAX_CONFIRMATIONS = 4096;

  private final ReplicaContext ctx;
  private final ReplicaConfig config;
  private final NodeId selfId;
  private final HolderRole holder;
  private final Restore restore;

  private final Map<NodeId, Candidate> candidates = new LinkedHashMap<>();
  private final Map<NodeId, Long> awaySince = new HashMap<>();
  private final Map<NodeId, Long> lastHeard = new HashMap<>();
  private final long startedAt;
  private final Set<NodeId> departed = new HashSet<>();
  /**
   * Holders dropped from this owner's manifest, most recent last, at most
   * {@link #MAX_FORMER_HOLDERS}, each with the manifest version it was last told (0: none yet):
   * one that was away when it was dropped still believes it holds, and anti-entropy tells it
   * the current manifest when it speaks up.
   */
  private final Map<NodeId, Long> formerHolders = new java.util.LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<NodeId, Long> eldest) {
      return size() > MAX_FORMER_HOLDERS;
    }
  };
  static final int MAX_FORMER_HOLDERS = 64;
  private final Map<Long, Put> puts = new HashMap<>();
  // No later than the earliest deadline in puts: exact after each expiry pass, only lowered
  // in between, so an ack that empties nothing may leave one wake-up with nothing to expire.
  private long putsDue = Long.MAX_VALUE;
  private final LinkedHashMap<FragmentId, Set<NodeId>> confirmations =
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<FragmentId, Set<NodeId>> e) {
          return size() > MAX_CONFIRMATIONS;
        }
      };
  private final Map<NodeId, Stream> streams = new LinkedHashMap<>();
  // New own fragments waiting for the next tick: one ReplicaPut per holder carries them all,
  // so a burst of writes costs each holder one message per tick instead of one per write
  // (which its flood defence would rightly take for an attack).
  private final List<FragmentId> outgoingIds = new ArrayList<>();
  private final List<SignedReplica> outgoing = new ArrayList<>();
  private int outgoingBytes;
  private long replicatedBytes;

  private record Put(NodeId holder, List<FragmentId> ids, boolean report, long deadline) {}

  private static final class Stream {
    final ArrayDeque<FragmentId> replicas = new ArrayDeque<>();
    final ArrayDeque<FragmentId> tombstones = new ArrayDeque<>();
  }

  OwnerRole(ReplicaContext ctx, HolderRole holder, Restore restore, long now) {
    this.ctx = ctx;
    this.config = ctx.config;
    this.selfId = ctx.selfId;
    this.holder = holder;
    this.restore = restore;
    this.startedAt = now;
  }

  /** Loads the own manifest and own digest, and queues BLANK own fragments for repair. */
  void load(long now) {
    ctx.held.manifest(selfId).ifPresent(s -> {
      try {
        Manifest m = Manifest.verify(s);
        if (m.owner().equals(selfId)) {
          ctx.ownManifest = m;
          m.holders().forEach(h -> ctx.addresses.put(h.id(), h));
        }
      } catch (IllegalArgumentException e) {
        // A damaged own manifest is rebuilt by placement or restore.
      }
    });
    OwnerDigest mine = ctx.digest(selfId);
    List<FragmentId> blank = new ArrayList<>();
    ctx.own.forEach((id, state) -> {
      switch (state) {
        case PRESENT -> mine.put(id, false);
        case DELETED -> ctx.own.tombstone(id)
            .ifPresent(t -> holder.keepTombstone(now, selfId, id, t, mine));
        case BLANK, LOST -> blank.add(id);
        default -> { }
      }
    });
    for (FragmentId id : blank) {
      ctx.repairs.enqueue(now, id, selfId, true, ctx.ownSources());
    }
  }

  /** The peers placement may choose from now (the active view), by node ID. */
  Set<NodeId> candidateIds() {
    return candidates.keySet();
  }

  long replicatedBytes() {
    return replicatedBytes;
  }

  /** Replicas and tombstones still to stream to new holders. */
  long backlog() {
    long backlog = 0;
    for (Stream st : streams.values()) {
      backlog += st.replicas.size() + st.tombstones.size();
    }
    return backlog;
  }

  Set<NodeId> confirmations(FragmentId id) {
    Set<NodeId> s = confirmations.get(id);
    return s == null ? Set.of() : Set.copyOf(s);
  }

  // ---- peers coming and going ----

  void updatePeers(long now, Collection<Candidate> peers, Out out) {
    candidates.clear();
    for (Candidate c : peers) {
      if (!c.id().equals(selfId)) {
        candidates.put(c.id(), c);
        ctx.addresses.put(c.id(), c.address());
        awaySince.remove(c.id());
      }
    }
    ensurePlacement(now, out);
  }

  /**
   * Whether {@code peer} is a holder this owner dropped (and has not listed since) that has not
   * yet been told manifest {@code version}; if so it counts as told from now on.
   */
  boolean tellDroppedHolder(NodeId peer, long version) {
    Long told = formerHolders.get(peer);
    if (told == null || told == version) {
      return false;
    }
    formerHolders.put(peer, version);
    return true;
  }

  void peerDown(long now, NodeId peer) {
    awaySince.putIfAbsent(peer, now);
  }

  void peerUp(NodeId peer) {
    awaySince.remove(peer);
    departed.remove(peer);
  }

  /** A message arrived from {@code peer}: only holders are judged by their silence. */
  void heard(long now, NodeId peer) {
    if (ctx.isOwnSource(peer)) {
      lastHeard.put(peer, now);
    }
  }

  void holderGone(long now, NodeId peer, Out out) {
    if (ctx.ownManifest != null && ctx.ownManifest.names(peer)) {
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

  // ---- placement ----

  void ensurePlacement(long now, Out out) {
    Manifest ownManifest = ctx.ownManifest;
    if (restore.holdsPlacement(now) || candidates.isEmpty() && ownManifest == null) {
      return;
    }
    List<NodeId> current = ownManifest == null ? List.of() : ownManifest.holderIds();
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
    // More than R are listed only while repairs needed the extra holders (below): once they
    // are done, the list is trimmed back.
    if (keep.size() == current.size() && (current.size() == r
        || current.size() < r && candidates.keySet().stream().allMatch(current::contains))) {
      return;
    }
    List<Candidate> pool = new ArrayList<>();
    for (Candidate c : candidates.values()) {
      if (!departed.contains(c.id())) {
        pool.add(c);
      }
    }
    List<NodeId> next = Placement.refill(selfId, keep, pool, r);
    // While own fragments wait for repair, a holder that only looks gone (away, silent) may
    // have the last good copies, and a holder dropped from the manifest releases them. It stays
    // listed beside its replacements until those repairs are done; one that left the network
    // said so and holds nothing. Seen on a node restoring after a wipe: it replaced its three
    // holders, which were not yet its neighbours, and lost 272 of its 400 fragments.
    if (ctx.repairs.repairingOwn()) {
      for (NodeId h : current) {
        if (!next.contains(h) && !departed.contains(h) && next.size() < Manifest.MAX_HOLDERS) {
          next.add(h);
        }
      }
    }
    if (next.equals(current)) {
      return;
    }
    Map<NodeId, PeerAddress> listed = new HashMap<>();
    if (ownManifest != null) {
      for (PeerAddress a : ownManifest.holders()) {
        listed.put(a.id(), a);
      }
    }
    List<PeerAddress> addrs = new ArrayList<>();
    for (NodeId n : next) {
      PeerAddress a = ctx.addresses.getOrDefault(n, listed.get(n));
      if (a == null) {
        return; // cannot name a holder we cannot reach; wait for its address
      }
      addrs.add(a);
    }
    long version = Math.max(ownManifest == null ? 1 : ownManifest.version() + 1, now);
    Manifest m = Manifest.sign(ctx.keys, version, addrs, r);
    List<NodeId> added = new ArrayList<>(next);
    added.removeAll(current);
    List<NodeId> removed = new ArrayList<>(current);
    removed.removeAll(next);
    ctx.ownManifest = m;
    ctx.held.putManifest(selfId, m.signed());
    departed.removeAll(removed);
    next.forEach(formerHolders::remove);
    for (NodeId n : removed) {
      formerHolders.remove(n);
      formerHolders.put(n, 0L);
    }
    Envelope update = Envelope.newBuilder().setManifestUpdate(
        ManifestUpdate.newBuilder().setManifest(m.signed())).build();
    Set<NodeId> tell = new LinkedHashSet<>(current);
    tell.addAll(next);
    for (NodeId n : tell) {
      ctx.send(out, n, update);
    }
    for (NodeId n : removed) {
      streams.remove(n);
    }
    for (NodeId n : added) {
      lastHeard.put(n, now);
      startStream(n);
    }
    ctx.repairs.addSources(now, selfId, ctx.ownSources());
    out.report(new ReplicaEvent.HoldersChanged(version, next, added, removed));
  }

  // ---- puts and deletes ----

  void put(long now, FragmentId id, Out out) {
    FragmentState s = ctx.own.state(id);
    if (s != FragmentState.PRESENT) {
      throw new IllegalArgumentException("fragment " + id + " is not PRESENT in the own store ("
          + s + "): store it before replicating it");
    }
    ctx.repairs.cancel(now, id);
    Optional<SignedReplica> r = ctx.ownReplica(id);
    if (r.isEmpty()) {
      return; // cannot leave the owner (private, no sealing): not advertised either
    }
    ctx.digest(selfId).put(id, false);
    if (ctx.ownManifest == null) {
      return;
    }
    outgoingIds.add(id);
    outgoing.add(r.get());
    outgoingBytes += r.get().getSerializedSize();
    if (outgoing.size() >= MAX_PUT_BATCH || outgoingBytes >= MAX_PUT_BATCH_BYTES) {
      flushPuts(now, out);
    }
  }

  void flushPuts(long now, Out out) {
    if (outgoing.isEmpty()) {
      return;
    }
    Manifest ownManifest = ctx.ownManifest;
    if (ownManifest != null) {
      List<FragmentId> ids = List.copyOf(outgoingIds);
      for (PeerAddress h : ownManifest.holders()) {
        long req = ctx.requestId(h.id());
        awaitAck(req, new Put(h.id(), ids, true, now + 3 * config.fetchTimeoutMillis()));
        ReplicaPut put = ReplicaPut.newBuilder().setManifest(ownManifest.signed())
            .addAllReplicas(outgoing).setRequestId(req).build();
        replicatedBytes += outgoingBytes;
        ctx.send(out, h.id(), Envelope.newBuilder().setReplicaPut(put).build());
      }
    }
    outgoingIds.clear();
    outgoing.clear();
    outgoingBytes = 0;
  }

  void delete(long now, FragmentId id, SignedTombstone tombstone, Out out) {
    NodeId signer = TOMBSTONES.verifyTombstoneFor(id, tombstone);
    if (!signer.equals(selfId)) {
      throw new IllegalArgumentException("the tombstone for " + id + " is signed by "
          + signer.shortString() + ", not by this node");
    }
    int waiting = outgoingIds.indexOf(id);
    if (waiting >= 0) {
      outgoingIds.remove(waiting);
      outgoingBytes -= outgoing.remove(waiting).getSerializedSize();
    }
    holder.keepTombstone(now, selfId, id, tombstone, ctx.digest(selfId));
    ctx.forgetSealed(id);
    ctx.repairs.cancel(now, id);
    if (ctx.ownManifest != null) {
      Envelope env = Envelope.newBuilder().setReplicaDelete(
          ReplicaDelete.newBuilder().addTombstones(tombstone)).build();
      for (PeerAddress h : ctx.ownManifest.holders()) {
        ctx.send(out, h.id(), env);
      }
    }
  }

  void onAck(long now, NodeId from, ReplicaAck ack, Out out) {
    Put p = puts.get(ack.getRequestId());
    if (p == null || !p.holder.equals(from)) {
      return; // late, or an ack for a put this peer was never sent
    }
    puts.remove(ack.getRequestId());
    if (puts.isEmpty()) {
      putsDue = Long.MAX_VALUE;
    }
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
    if (refused && ctx.ownManifest != null && ctx.ownManifest.names(from)) {
      departed.add(from);
      ensurePlacement(now, out);
    }
  }

  private void awaitAck(long requestId, Put p) {
    puts.put(requestId, p);
    putsDue = Math.min(putsDue, p.deadline);
  }

  /** Acks that never came (a holder died with the put in flight): anti-entropy covers them. */
  void expirePuts(long now) {
    if (putsDue > now) {
      return;
    }
    puts.values().removeIf(p -> p.deadline <= now);
    putsDue = Long.MAX_VALUE;
    for (Put p : puts.values()) {
      putsDue = Math.min(putsDue, p.deadline);
    }
  }

  // ---- deadlines ----

  /**
   * When the owner role next has work: at once while puts wait to be sent or streams to new
   * holders have replicas left ({@link ReplicaContext#AT_ONCE}: the driver's tick spacing is
   * what batches them); else the earliest put expiry or holder check. A holder check (grace
   * after PeerDown, silence) at or before {@code lastTick} was made by that tick: if the holder
   * is still there, placement could not replace it, and only a change of candidates can.
   */
  long nextDeadline(long lastTick) {
    if (!outgoing.isEmpty() || !streams.isEmpty() && ctx.ownManifest != null) {
      return ReplicaContext.AT_ONCE;
    }
    long due = putsDue;
    if (ctx.ownManifest != null) {
      for (PeerAddress a : ctx.ownManifest.holders()) {
        NodeId h = a.id();
        Long away = awaySince.get(h);
        if (away != null) {
          due = after(lastTick, due, away + config.holderGraceMillis());
        }
        if (!candidates.containsKey(h)) {
          long heard = Math.max(startedAt, lastHeard.getOrDefault(h, startedAt));
          due = after(lastTick, due, heard + config.holderGraceMillis()
              + 3 * config.antiEntropyIntervalMillis() + 1);
        }
      }
    }
    return due;
  }

  private static long after(long lastTick, long due, long check) {
    return check > lastTick ? Math.min(due, check) : due;
  }

  // ---- streams to new holders ----

  private void startStream(NodeId holder) {
    Stream st = new Stream();
    ctx.own.forEach((id, state) -> {
      if (state == FragmentState.PRESENT) {
        st.replicas.add(id);
      } else if (state == FragmentState.DELETED && ctx.digest(selfId).containsTombstone(id)) {
        st.tombstones.add(id);
      }
    });
    if (!st.replicas.isEmpty() || !st.tombstones.isEmpty()) {
      streams.put(holder, st);
    }
  }

  void streamTick(long now, Out out) {
    Manifest ownManifest = ctx.ownManifest;
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
            && size < ReplicaContext.MAX_REPLY_BYTES / 2) {
          FragmentId id = st.replicas.poll();
          budget--;
          Optional<SignedReplica> r = ctx.ownReplica(id);
          if (r.isPresent()) {
            put.addReplicas(r.get());
            ids.add(id);
            size += r.get().getSerializedSize();
          }
        }
        if (!ids.isEmpty()) {
          long req = ctx.requestId(e.getKey());
          awaitAck(req, new Put(e.getKey(), ids, false, now + 3 * config.fetchTimeoutMillis()));
          replicatedBytes += size;
          ctx.send(out, e.getKey(), Envelope.newBuilder().setReplicaPut(put.setRequestId(req))
              .build());
        }
      }
      ReplicaDelete.Builder del = ReplicaDelete.newBuilder();
      while (budget > 0 && !st.tombstones.isEmpty() && del.getTombstonesCount() < 256) {
        FragmentId id = st.tombstones.poll();
        budget--;
        ctx.own.tombstone(id).ifPresent(del::addTombstones);
      }
      if (del.getTombstonesCount() > 0) {
        ctx.send(out, e.getKey(), Envelope.newBuilder().setReplicaDelete(del).build());
      }
      if (st.replicas.isEmpty() && st.tombstones.isEmpty()) {
        it.remove();
      }
    }
  }
}
