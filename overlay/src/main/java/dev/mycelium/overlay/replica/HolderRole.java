package dev.mycelium.overlay.replica;

import static dev.mycelium.overlay.replica.ReplicaContext.TOMBSTONES;
import static dev.mycelium.overlay.replica.ReplicaContext.claimedOwner;
import static dev.mycelium.overlay.replica.ReplicaContext.ids;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.replica.ReplicaContext.Out;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.ReplicaAck;
import dev.mycelium.wire.proto.ReplicaDelete;
import dev.mycelium.wire.proto.ReplicaFetch;
import dev.mycelium.wire.proto.ReplicaFetchReply;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import dev.mycelium.wire.proto.TombstoneBody;
import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The holder role: keeping verified replicas and tombstones for other owners within their
 * quotas, following their manifests, serving fetches, and scrubbing what is kept. Tombstones of
 * this node's own fragments age out here too, as every digest's tombstones do.
 */
final class HolderRole {
  /** Most replicas in one ReplicaPut (owners send at most {@link OwnerRole#MAX_PUT_BATCH}). */
  static final int MAX_PUT_REPLICAS = 1024;

  private final ReplicaContext ctx;
  private final ReplicaConfig config;
  private final NodeId selfId;
  // Replica bytes kept per owner (the entries are the owner's digest size).
  private final Map<NodeId, Long> heldBytes = new HashMap<>();
  // Holders an owner's newer manifest dropped: the only strangers told about the newer one.
  private final Map<NodeId, Set<NodeId>> formerHolders = new HashMap<>();
  /**
   * The manifest version that released this node, per owner, for the most recent
   * {@link #MAX_RELEASED} owners: an older manifest of that owner is no consent.
   */
  private final Map<NodeId, Long> released = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<NodeId, Long> eldest) {
      return size() > MAX_RELEASED;
    }
  };
  static final int MAX_RELEASED = 1024;
  private final PriorityQueue<Expiry> expiries =
      new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
  // The scrub: a pass takes the IDs held when it starts and re-verifies them a few at a time,
  // in steps spread evenly over scrubPassMillis (ReplicaConfig.DEFAULTS says why so slowly).
  private final ArrayDeque<Scrubbed> scrubQueue = new ArrayDeque<>();
  private long scrubPassStart;
  private long scrubNext;
  private long scrubInterval;
  private int scrubPerStep;
  private long scrubFailures;

  private record Expiry(long at, NodeId owner, FragmentId id) {}

  HolderRole(ReplicaContext ctx) {
    this.ctx = ctx;
    this.config = ctx.config;
    this.selfId = ctx.selfId;
  }

  /**
   * Loads the manifests, digests and byte counts of the owners the port holds for; the first
   * scrub pass starts at the first tick.
   */
  void load(long now) {
    scrubNext = now;
    HeldReplicas held = ctx.held;
    for (NodeId owner : held.owners()) {
      if (owner.equals(selfId)) {
        continue;
      }
      Optional<SignedManifest> s = held.manifest(owner);
      if (s.isPresent()) {
        try {
          Manifest m = Manifest.verify(s.get());
          ctx.heldManifests.put(owner, m);
          m.holders().forEach(h -> ctx.addresses.putIfAbsent(h.id(), h));
        } catch (IllegalArgumentException e) {
          // Kept without a manifest: anti-entropy with the owner brings a good one.
        }
      }
      OwnerDigest d = ctx.digest(owner);
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

  long scrubFailures() {
    return scrubFailures;
  }

  /** Whether an owner's newer manifest dropped {@code peer}, which still works from the old. */
  boolean isFormerHolder(NodeId owner, NodeId peer) {
    return formerHolders.getOrDefault(owner, Set.of()).contains(peer);
  }

  // ---- replicas pushed by owners ----

  void onPut(long now, NodeId from, ReplicaPut put, Out out) {
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
    Manifest current = ctx.heldManifests.get(from);
    boolean holder = current != null && current.names(selfId);
    if (current != null && current.version() > m.version()) {
      // The owner lost its newest manifest (a restore from an older copy): hand it back.
      ctx.send(out, from, Envelope.newBuilder().setManifestUpdate(
          ManifestUpdate.newBuilder().setManifest(current.signed())).build());
    }
    ReplicaAck.Builder ack = ReplicaAck.newBuilder().setRequestId(put.getRequestId());
    ByteArrayOutputStream stored = new ByteArrayOutputStream();
    ByteArrayOutputStream refused = new ByteArrayOutputStream();
    // Checked in one batch; none when this node is not a holder: a stranger's put costs no
    // signature check.
    List<SignedReplica> replicas = put.getReplicasList();
    List<ReplicaVerifier.Checked> checked = holder ? ctx.verifyReplicas(replicas) : List.of();
    for (int i = 0; i < replicas.size(); i++) {
      SignedReplica r = replicas.get(i);
      if (!holder) {
        // Not a holder (no consent, or dropped): nothing is verified or kept, and the owner
        // is told which it should place elsewhere.
        byte[] claimed = claimedId(r);
        if (claimed != null) {
          refused.writeBytes(claimed);
        }
        continue;
      }
      if (r.getSerializedSize() > ctx.limits.maxReplicaBytes()) {
        // Too big for this holder, not forged: refused so that the owner places it elsewhere.
        byte[] claimed = claimedId(r);
        if (claimed != null) {
          refused.writeBytes(claimed);
        }
        continue;
      }
      ReplicaCodec.Verified v;
      try {
        v = checked.get(i).get();
      } catch (InvalidFragmentException e) {
        ctx.forged(from, null, e.getMessage(), out);
        continue;
      }
      byte[] idBytes = v.id().toBytes();
      if (!holder || !v.owner().equals(from)) {
        refused.writeBytes(idBytes);
        continue;
      }
      OwnerDigest d = ctx.digest(from);
      if (d.containsTombstone(v.id()) || d.containsLive(v.id())
          || keepReplica(from, v.id(), r)) {
        if (!d.containsTombstone(v.id())) {
          d.put(v.id(), false);
        }
        ctx.repairs.cancel(now, v.id());
        stored.writeBytes(idBytes);
      } else {
        refused.writeBytes(idBytes);
      }
    }
    ack.setStored(ByteString.copyFrom(stored.toByteArray()))
        .setRefused(ByteString.copyFrom(refused.toByteArray()));
    ctx.send(out, from, Envelope.newBuilder().setReplicaAck(ack).build());
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

  /** Keeps a verified replica a probe brought for an owner this node holds for. */
  void storeHeld(NodeId from, ReplicaCodec.Verified v, Out out) {
    Manifest m = ctx.heldManifests.get(v.owner());
    if (m == null || !m.names(selfId)) {
      return;
    }
    // The manifest naming this node is the consent: a holder whose owner's first puts never
    // arrived (lost in the owner's restart) has no digest of it yet, and starts one here.
    OwnerDigest d = ctx.digest(v.owner());
    if (d.kind(v.id()) != null) {
      return;
    }
    if (keepReplica(v.owner(), v.id(), v.replica())) {
      d.put(v.id(), false);
      out.report(new ReplicaEvent.Repaired(v.id(), v.owner(), false, from, v.size()));
    }
  }

  /** Keeps a verified replica within the owner's quota in entries and bytes. */
  boolean keepReplica(NodeId owner, FragmentId id, SignedReplica r) {
    OwnerDigest d = ctx.digest(owner);
    long size = r.getSerializedSize();
    long bytes = heldBytes.getOrDefault(owner, 0L);
    ReplicaLimits limits = ctx.limits;
    if (d.size() >= limits.maxEntriesPerOwner() || bytes + size > limits.maxBytesPerOwner()
        || size > limits.maxReplicaBytes()) {
      return false;
    }
    if (!ctx.held.putReplica(owner, id, r)) {
      return false;
    }
    heldBytes.put(owner, bytes + size);
    return true;
  }

  private void forgetBytes(NodeId owner, FragmentId id) {
    ctx.held.replica(id).ifPresent(r -> heldBytes.computeIfPresent(owner,
        (k, v) -> Math.max(0, v - r.getSerializedSize())));
  }

  private void forgetHeld(NodeId owner, FragmentId id) {
    forgetBytes(owner, id);
    ctx.held.remove(id);
  }

  // ---- tombstones ----

  void onDelete(long now, NodeId from, ReplicaDelete delete, Out out) {
    if (delete.getTombstonesCount() > ReplicaCore.MAX_DELETE_TOMBSTONES) {
      throw new IllegalArgumentException("a delete carries " + delete.getTombstonesCount()
          + " tombstones, at most " + ReplicaCore.MAX_DELETE_TOMBSTONES);
    }
    for (SignedTombstone t : delete.getTombstonesList()) {
      onTombstone(now, from, t, out);
    }
  }

  void onTombstone(long now, NodeId from, SignedTombstone t, Out out) {
    if (!concernsThisNode(t)) {
      return; // not this node's, nor an owner's it holds for: not worth a signature check
    }
    TombstoneBody body = TOMBSTONES.verifyTombstone(t);
    FragmentId id = FragmentId.of(body.getFragmentId().toByteArray());
    NodeId owner = NodeId.fromPublicKey(body.getOwnerPublicKey().toByteArray());
    boolean expired = body.getDeletedAtMillis() + config.tombstoneRetentionMillis() <= now;
    if (owner.equals(selfId)) {
      if (ctx.own.state(id) != FragmentState.DELETED) {
        ctx.own.applyTombstone(id, t);
        ctx.forgetSealed(id);
        out.report(new ReplicaEvent.TombstoneApplied(id, owner, from));
      }
      if (!expired) {
        keepTombstone(now, owner, id, t, ctx.digest(selfId));
      } else {
        ctx.digest(selfId).remove(id);
      }
      ctx.repairs.cancel(now, id);
      return;
    }
    Manifest m = ctx.heldManifests.get(owner);
    if (m == null || !m.names(selfId)) {
      return; // not a holder for this owner: nothing to keep out
    }
    OwnerDigest d = ctx.digest(owner);
    if (d.containsTombstone(id)) {
      return;
    }
    if (expired) {
      if (d.remove(id)) {
        forgetHeld(owner, id);
      }
    } else {
      if (!d.containsLive(id) && d.size() >= ctx.limits.maxEntriesPerOwner()) {
        return; // over the owner's quota: a tombstone for a replica never held is not kept
      }
      forgetBytes(owner, id);
      ctx.held.putTombstone(owner, id, t);
      keepTombstone(now, owner, id, t, d);
    }
    boolean wasQueued = ctx.repairs.contains(id);
    ctx.repairs.succeeded(now, id, 0);
    if (wasQueued || !from.equals(owner)) {
      out.report(new ReplicaEvent.TombstoneApplied(id, owner, from));
    }
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
      Manifest m = ctx.heldManifests.get(owner);
      return m != null && m.names(selfId);
    } catch (InvalidProtocolBufferException e) {
      return true; // malformed: the verifier says so
    }
  }

  /** Marks a fragment deleted in a digest until its tombstone's retention ends. */
  void keepTombstone(long now, NodeId owner, FragmentId id, SignedTombstone t, OwnerDigest d) {
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

  void expireTombstones(long now) {
    while (!expiries.isEmpty() && expiries.peek().at <= now) {
      Expiry e = expiries.poll();
      OwnerDigest d = ctx.digests.get(e.owner);
      if (d != null && d.containsTombstone(e.id) && d.remove(e.id) && !e.owner.equals(selfId)) {
        forgetHeld(e.owner, e.id);
      }
    }
  }

  // ---- manifests ----

  void onManifestUpdate(long now, NodeId from, ManifestUpdate update, Out out) {
    if (mayRelayManifest(from, update.getManifest())) {
      learnManifest(now, from, Manifest.verify(update.getManifest()), out);
    }
  }

  /**
   * Whether {@code from} may relay a manifest, read from the unverified body: the owner itself,
   * a holder of the owner's known manifest, or anyone for this node's own (checked again after
   * the signature). Saves a signature check on what would be ignored anyway.
   */
  private boolean mayRelayManifest(NodeId from, SignedManifest s) {
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
      Manifest m = ctx.heldManifests.get(owner);
      return m != null && m.names(from);
    } catch (InvalidProtocolBufferException e) {
      return true;
    }
  }

  /**
   * A manifest signed by its owner, relayed by {@code from}. Taken only from the owner itself or
   * from a holder the known manifest names (a stranger replaying an old or foreign manifest
   * changes nothing), and a manifest that names this node for a new owner only while this
   * node holds for fewer than {@code maxHeldOwners}: holding is consent, not an obligation.
   */
  void learnManifest(long now, NodeId from, Manifest m, Out out) {
    if (m.owner().equals(selfId)) {
      if (m.names(from) || ctx.isOwnSource(from)) {
        ctx.adoptOwnManifest(now, m);
      }
      return;
    }
    Map<NodeId, Manifest> heldManifests = ctx.heldManifests;
    Manifest known = heldManifests.get(m.owner());
    if (!from.equals(m.owner()) && (known == null || !known.names(from))) {
      return;
    }
    Long releasedAt = released.get(m.owner());
    if (known == null && releasedAt != null && m.version() <= releasedAt) {
      // Older than the manifest that released this node (a put that was in flight when the
      // owner dropped it): taking it as consent again would keep copies no manifest lists.
      return;
    }
    if (known != null && known.version() >= m.version()) {
      return;
    }
    if (m.names(selfId) && known == null
        && heldManifests.size() >= ctx.limits.maxHeldOwners()) {
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
      released.remove(m.owner());
      ctx.held.putManifest(m.owner(), m.signed());
      for (PeerAddress h : m.holders()) {
        if (!h.id().equals(selfId)) {
          ctx.addresses.put(h.id(), h);
        }
      }
      ctx.repairs.addSources(now, m.owner(), heldSources(m.owner()));
    } else if (known != null) {
      heldManifests.remove(m.owner());
      ctx.held.dropOwner(m.owner());
      ctx.digests.remove(m.owner());
      heldBytes.remove(m.owner());
      formerHolders.remove(m.owner());
      released.put(m.owner(), m.version());
      ctx.repairs.cancelOwner(now, m.owner());
      out.report(new ReplicaEvent.Released(m.owner(), m.version()));
    }
  }

  /** Participants of an owner's digest other than this node, holders first, the owner last. */
  private List<NodeId> heldSources(NodeId owner) {
    List<NodeId> out = new ArrayList<>();
    Manifest m = ctx.heldManifests.get(owner);
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

  // ---- serving fetches ----

  void onFetch(long now, NodeId from, ReplicaFetch f, Out out) {
    NodeId owner = NodeId.of(f.getOwnerId().toByteArray());
    List<FragmentId> ids = ids(f.getIds());
    if (ids.size() > ReplicaContext.MAX_IDS_PER_MESSAGE) {
      throw new IllegalArgumentException("a fetch asks for at most "
          + ReplicaContext.MAX_IDS_PER_MESSAGE + " IDs, got " + ids.size());
    }
    boolean mine = owner.equals(selfId);
    if (!entitled(owner, from)) {
      return; // only the owner and its holders may read what is kept for it
    }
    ReplicaFetchReply.Builder reply = ReplicaFetchReply.newBuilder().setRequestId(f.getRequestId());
    ByteArrayOutputStream missing = new ByteArrayOutputStream();
    int size = 0;
    for (FragmentId id : ids) {
      if (size >= ReplicaContext.MAX_REPLY_BYTES) {
        break; // the rest is left unanswered; the asker asks again
      }
      Optional<SignedTombstone> t = mine ? ctx.own.tombstone(id) : heldTombstone(owner, id);
      if (t.isPresent()) {
        reply.addTombstones(t.get());
        size += t.get().getSerializedSize();
        continue;
      }
      Optional<SignedReplica> r = mine ? ctx.ownReplica(id) : heldReplica(now, owner, id, out);
      if (r.isPresent()) {
        reply.addReplicas(r.get());
        size += r.get().getSerializedSize();
      } else {
        missing.writeBytes(id.toBytes());
      }
    }
    reply.setMissing(ByteString.copyFrom(missing.toByteArray()));
    Manifest m = mine ? ctx.ownManifest : ctx.heldManifests.get(owner);
    if (m != null) {
      reply.setManifest(m.signed());
    }
    ctx.send(out, from, Envelope.newBuilder().setReplicaFetchReply(reply).build());
  }

  /**
   * Whether a peer may fetch what this node keeps for {@code owner}: the owner itself, or a
   * holder named in the owner's manifest as this node knows it (its own, for its own
   * fragments; restore partners count, as they offered under its signed manifest).
   */
  private boolean entitled(NodeId owner, NodeId peer) {
    if (owner.equals(selfId)) {
      return ctx.isOwnSource(peer);
    }
    if (peer.equals(owner)) {
      return true;
    }
    Manifest m = ctx.heldManifests.get(owner);
    return m != null && m.names(peer);
  }

  private Optional<SignedTombstone> heldTombstone(NodeId owner, FragmentId id) {
    return ctx.digestOf(owner).containsTombstone(id) ? ctx.held.tombstone(id) : Optional.empty();
  }

  /** A held replica, checked before it is served: a bad one is dropped and queued for repair. */
  private Optional<SignedReplica> heldReplica(long now, NodeId owner, FragmentId id, Out out) {
    if (!ctx.digestOf(owner).containsLive(id)) {
      return Optional.empty();
    }
    Optional<SignedReplica> r = ctx.held.replica(id);
    if (r.isEmpty()) {
      ctx.digest(owner).remove(id);
      return r;
    }
    String bad = check(id, owner, r.get());
    if (bad != null) {
      dropBadCopy(now, owner, id, bad, out);
      return Optional.empty();
    }
    return r;
  }

  // ---- scrub ----

  /** Runs the scrub's step when one is due, starting a new pass when the last one is done. */
  void scrubTick(long now, Out out) {
    if (now < scrubNext) {
      return;
    }
    if (scrubQueue.isEmpty()) {
      startScrubPass(now);
      if (scrubQueue.isEmpty()) {
        scrubNext = now + config.scrubPassMillis();
        return;
      }
    }
    for (int i = 0; i < scrubPerStep && !scrubQueue.isEmpty(); i++) {
      Scrubbed next = scrubQueue.poll();
      OwnerDigest d = ctx.digests.get(next.owner());
      if (d == null || !d.containsLive(next.id())) {
        continue; // released, deleted or already being repaired since the pass began
      }
      // The digest says it is held, so the owner's anti-entropy will never send it again: a
      // copy whose bytes no longer read (dropped or turned BLANK by the store) is as bad as
      // one that fails its signature, and is fetched again the same way.
      Optional<SignedReplica> r = ctx.held.replica(next.id());
      String bad = r.isEmpty() ? "its bytes no longer read here (lost or BLANK in the store)"
          : check(next.id(), next.owner(), r.get());
      if (bad != null) {
        dropBadCopy(now, next.owner(), next.id(), bad, out);
      }
    }
    scrubNext = scrubQueue.isEmpty()
        ? Math.max(scrubPassStart + config.scrubPassMillis(), now + scrubInterval)
        : now + scrubInterval;
  }

  /**
   * Queues every live replica held now and spreads them over the pass: as many steps as
   * replicas, at most one per {@code scrubStepMillis}, each of at most {@code scrubBatch}. A
   * store too large for that takes longer than one pass, at that bounded rate.
   */
  private void startScrubPass(long now) {
    for (Map.Entry<NodeId, OwnerDigest> e : ctx.digests.entrySet()) {
      if (!e.getKey().equals(selfId)) {
        NodeId owner = e.getKey();
        e.getValue().forEach((id, deleted) -> {
          if (!deleted) {
            scrubQueue.add(new Scrubbed(owner, id));
          }
        });
      }
    }
    int n = scrubQueue.size();
    long steps = Math.max(1, Math.min(n, config.scrubPassMillis() / config.scrubStepMillis()));
    scrubPassStart = now;
    scrubInterval = config.scrubPassMillis() / steps;
    scrubPerStep = (int) Math.min(config.scrubBatch(), (n + steps - 1) / steps);
  }

  /** When the holder next has work of its own: a tombstone to expire or a scrub step. */
  long nextDeadline() {
    return expiries.isEmpty() ? scrubNext : Math.min(scrubNext, expiries.peek().at);
  }

  private static String check(FragmentId id, NodeId owner, SignedReplica r) {
    try {
      ReplicaCodec.Verified v = ReplicaCodec.verify(id, r);
      return v.owner().equals(owner) ? null : "replica belongs to another owner";
    } catch (InvalidFragmentException e) {
      return e.getMessage();
    }
  }

  /**
   * The store found a held replica's bytes bad (a read or its own scrubber turned it BLANK):
   * fetch it again now rather than at the scrub's next pass.
   */
  void onHeldBlank(long now, FragmentId id, NodeId owner, Out out) {
    OwnerDigest d = ctx.digests.get(owner);
    if (d != null && d.containsLive(id)) {
      dropBadCopy(now, owner, id, "the store found its bytes bad", out);
    }
  }

  /** One replica a scrub pass will check, with the owner whose digest lists it. */
  private record Scrubbed(NodeId owner, FragmentId id) {}

  private void dropBadCopy(long now, NodeId owner, FragmentId id, String why, Out out) {
    forgetHeld(owner, id);
    ctx.digest(owner).remove(id);
    scrubFailures++;
    out.report(new ReplicaEvent.ScrubFailed(id, owner, why));
    ctx.repairs.enqueue(now, id, owner, false, heldSources(owner));
  }
}
