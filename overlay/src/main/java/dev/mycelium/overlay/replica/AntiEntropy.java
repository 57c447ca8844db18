package dev.mycelium.overlay.replica;

import static dev.mycelium.overlay.replica.ReplicaContext.MAX_IDS_PER_MESSAGE;
import static dev.mycelium.overlay.replica.ReplicaContext.bytes;
import static dev.mycelium.overlay.replica.ReplicaContext.ids;

import com.google.protobuf.ByteString;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.overlay.replica.ReplicaContext.Out;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.DigestIds;
import dev.mycelium.wire.proto.DigestNodes;
import dev.mycelium.wire.proto.DigestRoots;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.OwnerRoot;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.random.RandomGenerator;

/**
 * Anti-entropy: every interval, this node sends each partner the roots of the digests both keep,
 * and where they differ the two walk down the digest to the buckets and swap the IDs there. What
 * one side lacks becomes a repair, a probe, or (for own IDs in a restore) a vouch.
 */
final class AntiEntropy {
  /** Most owner roots in one DigestRoots: a node keeps at most this many digests anyway. */
  static final int MAX_ROOTS_PER_MESSAGE = 1024;
  private static final int MAX_PARENTS_PER_MESSAGE = 1024;

  private final ReplicaContext ctx;
  private final NodeId selfId;
  private final HolderRole holder;
  private final RepairFetches fetches;
  private final Restore restore;
  private final OwnerRole ownerRole;
  private long next;

  /** Draws the first round's time from the core's generator, so that nodes do not align. */
  AntiEntropy(ReplicaContext ctx, HolderRole holder, OwnerRole ownerRole, RepairFetches fetches,
      Restore restore, RandomGenerator random, long now) {
    this.ctx = ctx;
    this.ownerRole = ownerRole;
    this.selfId = ctx.selfId;
    this.holder = holder;
    this.fetches = fetches;
    this.restore = restore;
    this.next = now + (long) (random.nextDouble() * ctx.config.antiEntropyIntervalMillis());
  }

  /** Starts a round when one is due. */
  void tick(long now, Out out) {
    if (now >= next) {
      runNow(now, out);
    }
  }

  /** When the next round is due. */
  long nextDeadline() {
    return next;
  }

  /** Starts a round now; the next is one interval away. */
  void runNow(long now, Out out) {
    next = now + ctx.config.antiEntropyIntervalMillis();
    for (Map.Entry<NodeId, List<NodeId>> e : partners().entrySet()) {
      ctx.send(out, e.getKey(), ctx.rootsFor(e.getValue()));
    }
  }

  /** For every partner, the owners whose digests both keep. */
  private Map<NodeId, List<NodeId>> partners() {
    Map<NodeId, List<NodeId>> out = new LinkedHashMap<>();
    if (ctx.ownManifest != null) {
      for (NodeId h : ctx.ownManifest.holderIds()) {
        out.computeIfAbsent(h, k -> new ArrayList<>()).add(selfId);
      }
    }
    for (NodeId p : ctx.restorePartners) {
      List<NodeId> l = out.computeIfAbsent(p, k -> new ArrayList<>());
      if (!l.contains(selfId)) {
        l.add(selfId);
      }
    }
    for (Manifest m : ctx.heldManifests.values()) {
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

  /**
   * Whether this node keeps the owner's digest for an exchange with {@code peer}: it is the
   * owner, or a holder by the manifest, or the owner itself is asking (a holder that lost
   * everything, manifest included, still answers its owner).
   */
  private boolean participates(NodeId owner, NodeId peer, Out out) {
    if (owner.equals(selfId)) {
      // Only a holder this node chose (its manifest) or one that offered a restore under its
      // signed manifest may talk about its own fragments: anyone else could name made-up IDs.
      if (ctx.isOwnSource(peer)) {
        return true;
      }
      tellNotAHolder(peer, out);
      return false;
    }
    Manifest m = ctx.heldManifests.get(owner);
    if (m != null && m.names(selfId)) {
      if (!peer.equals(owner) && !m.names(peer)) {
        // A holder the owner dropped works from an older manifest: tell it. Anyone else is not
        // entitled to this owner's digest or holder list and hears nothing.
        if (holder.isFormerHolder(owner, peer)) {
          ctx.send(out, peer, Envelope.newBuilder().setManifestUpdate(
              ManifestUpdate.newBuilder().setManifest(m.signed())).build());
        }
        return false;
      }
      return true;
    }
    return peer.equals(owner);
  }

  /**
   * A holder this owner dropped still sends its digest: it was away when it was replaced and
   * works from an older manifest. Its fellow holders tell it when they remember dropping it,
   * but a restart makes them forget, and then it would keep its copies for good (a churned
   * network of 20 held 3.92 copies per fragment, R = 3). So the owner sends it the current
   * signed manifest, which releases it: once per peer and manifest version. Anyone the owner
   * never listed hears nothing, as before.
   */
  private void tellNotAHolder(NodeId peer, Out out) {
    Manifest m = ctx.ownManifest;
    if (m == null || !ownerRole.tellDroppedHolder(peer, m.version())) {
      return;
    }
    ctx.send(out, peer, Envelope.newBuilder().setManifestUpdate(
        ManifestUpdate.newBuilder().setManifest(m.signed())).build());
  }

  void onRoots(NodeId from, DigestRoots roots, Out out) {
    if (roots.getRootsCount() > MAX_ROOTS_PER_MESSAGE) {
      throw new IllegalArgumentException("digest roots carry " + roots.getRootsCount()
          + " owners, at most " + MAX_ROOTS_PER_MESSAGE);
    }
    for (OwnerRoot r : roots.getRootsList()) {
      NodeId owner = NodeId.of(r.getOwnerId().toByteArray());
      if (!participates(owner, from, out)) {
        continue;
      }
      OwnerDigest d = ctx.digestOf(owner);
      if (!Arrays.equals(d.root(), r.getRoot().toByteArray())) {
        ctx.send(out, from, Envelope.newBuilder().setDigestNodes(DigestNodes.newBuilder()
            .setOwnerId(r.getOwnerId()).setLevel(1).addParents(0)
            .setValues(ByteString.copyFrom(d.children(1, 0)))).build());
      }
    }
  }

  void onNodes(NodeId from, DigestNodes n, Out out) {
    NodeId owner = NodeId.of(n.getOwnerId().toByteArray());
    if (!participates(owner, from, out)) {
      return;
    }
    OwnerDigest d = ctx.digestOf(owner);
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
        ctx.send(out, from, Envelope.newBuilder().setDigestNodes(
            b.setValues(ByteString.copyFrom(v.toByteArray()))).build());
      }
    } else {
      sendIds(from, owner, d, differing, true, (id, deleted) -> true, out);
    }
  }

  /**
   * Lists the IDs {@code include} admits in these buckets, as many messages as the per-message
   * bound needs; the last one names the buckets it completes.
   */
  private void sendIds(NodeId to, NodeId owner, OwnerDigest d, List<Integer> buckets,
      boolean reply, BiPredicate<FragmentId, Boolean> include, Out out) {
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
            ctx.send(out, to, Envelope.newBuilder().setDigestIds(b
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
    ctx.send(out, to, Envelope.newBuilder().setDigestIds(b
        .setLiveIds(ByteString.copyFrom(live.toByteArray()))
        .setDeletedIds(ByteString.copyFrom(dead.toByteArray()))).build());
  }

  void onIds(long now, NodeId from, DigestIds m, Out out) {
    int listed = (m.getLiveIds().size() + m.getDeletedIds().size()) / FragmentId.LENGTH;
    if (listed > MAX_IDS_PER_MESSAGE) {
      throw new IllegalArgumentException("digest IDs carry " + listed + " IDs, at most "
          + MAX_IDS_PER_MESSAGE);
    }
    NodeId owner = NodeId.of(m.getOwnerId().toByteArray());
    if (!participates(owner, from, out)) {
      return;
    }
    OwnerDigest d = ctx.digestOf(owner);
    if (m.getBucketsCount() > (1 << d.leafBits())) {
      throw new IllegalArgumentException("digest IDs list " + m.getBucketsCount()
          + " buckets, the digest has " + (1 << d.leafBits()));
    }
    boolean mine = owner.equals(selfId);
    RepairScheduler repairs = ctx.repairs;
    List<FragmentId> theirLive = ids(m.getLiveIds());
    List<FragmentId> theirDead = ids(m.getDeletedIds());
    for (FragmentId id : theirLive) {
      if (d.kind(id) != null) {
        continue;
      }
      FragmentState st = mine ? ctx.own.state(id) : null;
      if (st == null) {
        if (mine) {
          restore.learnOwnId(now, from, id);
        } else if (!repairs.contains(id)) {
          fetches.probe(owner, from, id);
        }
      } else if ((st == FragmentState.BLANK || st == FragmentState.LOST)
          && !repairs.contains(id)) {
        // Known here already (the owner's own placeholder): the holder is one more source.
        repairs.enqueue(now, id, selfId, true, ctx.ownSources());
      }
      // An own fragment deleted long ago (tombstone expired from digests) stays deleted.
    }
    for (FragmentId id : theirDead) {
      if (!d.containsTombstone(id) && !(mine && ctx.own.state(id) == FragmentState.DELETED)
          && !repairs.contains(id)) {
        fetches.probe(owner, from, id);
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
}
