package dev.mycelium.overlay.replica;

import static dev.mycelium.overlay.replica.ReplicaContext.TOMBSTONES;
import static dev.mycelium.overlay.replica.ReplicaContext.bytes;
import static dev.mycelium.overlay.replica.ReplicaContext.concat;
import static dev.mycelium.overlay.replica.ReplicaContext.ids;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.overlay.replica.ReplicaContext.Out;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ReplicaFetch;
import dev.mycelium.wire.proto.ReplicaFetchReply;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import dev.mycelium.wire.proto.TombstoneBody;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fetches of fragments this node should keep and lacks: repairs the {@link RepairScheduler}
 * hands out, fetch-now for a BLANK read, and probes of IDs a partner listed that are kept only
 * if what comes back verifies. Sends the requests, matches the replies, counts attempts and
 * timeouts, and stores what arrives.
 */
final class RepairFetches {
  private final ReplicaContext ctx;
  private final ReplicaConfig config;
  private final NodeId selfId;
  private final RepairScheduler repairs;
  private final HolderRole holder;

  private final Map<Long, Fetch> fetches = new HashMap<>();
  // No later than the earliest deadline in fetches: exact after each expiry pass, only lowered
  // in between (a reply that leaves others in flight keeps it).
  private long fetchesDue = Long.MAX_VALUE;
  private final Map<FragmentId, Long> fetchNow = new HashMap<>();
  // IDs a participant listed that this node does not know: fetched from that participant and
  // kept only if a replica or tombstone signed by the owner comes back. Never a placeholder.
  private final LinkedHashMap<FragmentId, Probe> probes = new LinkedHashMap<>();
  private int probesInFlight;
  private boolean idle;

  private record Fetch(NodeId peer, NodeId owner, Set<FragmentId> ids, long deadline,
      boolean probe) {}

  private record Probe(NodeId owner, NodeId source) {}

  RepairFetches(ReplicaContext ctx, HolderRole holder) {
    this.ctx = ctx;
    this.config = ctx.config;
    this.selfId = ctx.selfId;
    this.repairs = ctx.repairs;
    this.holder = holder;
  }

  void setIdle(boolean idle) {
    this.idle = idle;
  }

  int pendingProbes() {
    return probes.size() + probesInFlight;
  }

  // ---- repairs ----

  void onBlank(long now, FragmentId id) {
    if (!ctx.digest(selfId).containsTombstone(id)) {
      ctx.digest(selfId).remove(id);
      repairs.enqueue(now, id, selfId, true, ctx.ownSources());
    }
  }

  void fetchNow(long now, FragmentId id, long deadline, Out out) {
    if (!repairs.contains(id)) {
      repairs.enqueue(now, id, selfId, true, ctx.ownSources());
    }
    fetchNow.put(id, deadline);
    RepairScheduler.Work w = repairs.claim(id);
    if (w == null) {
      return;
    }
    long req = ctx.requestId(w.source());
    awaitReply(req, new Fetch(w.source(), w.owner(), Set.of(id), Math.min(deadline,
        now + config.fetchTimeoutMillis()), false));
    ctx.send(out, w.source(), Envelope.newBuilder().setReplicaFetch(ReplicaFetch.newBuilder()
        .setRequestId(req).setOwnerId(bytes(w.owner())).setIds(ByteString.copyFrom(id.toBytes())))
        .build());
  }

  void repairTick(long now, Out out) {
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
          long req = ctx.requestId(e.getKey());
          awaitReply(req, new Fetch(e.getKey(), byOwner.getKey(), new HashSet<>(batch),
              now + config.fetchTimeoutMillis(), probe));
          ctx.send(out, e.getKey(), Envelope.newBuilder().setReplicaFetch(ReplicaFetch.newBuilder()
              .setRequestId(req).setOwnerId(bytes(byOwner.getKey())).setIds(concat(batch)))
              .build());
        }
      }
    }
  }

  private void awaitReply(long requestId, Fetch f) {
    fetches.put(requestId, f);
    fetchesDue = Math.min(fetchesDue, f.deadline);
  }

  void expireFetches(long now, Out out) {
    if (fetchesDue <= now) {
      long due = Long.MAX_VALUE;
      for (Iterator<Map.Entry<Long, Fetch>> it = fetches.entrySet().iterator(); it.hasNext(); ) {
        Fetch f = it.next().getValue();
        if (f.deadline > now) {
          due = Math.min(due, f.deadline);
          continue;
        }
        it.remove();
        if (f.probe) {
          probesInFlight -= f.ids.size();
          continue; // nothing was learned: the claim is simply forgotten
        }
        for (FragmentId id : f.ids) {
          failAttempt(now, id, f.peer, "timed out", out);
        }
      }
      fetchesDue = due;
    }
    for (Iterator<Map.Entry<FragmentId, Long>> it = fetchNow.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<FragmentId, Long> e = it.next();
      if (e.getValue() <= now) {
        it.remove();
        out.report(new ReplicaEvent.FetchTimedOut(e.getKey()));
      }
    }
  }

  void onFetchReply(long now, NodeId from, ReplicaFetchReply reply, Out out) {
    Fetch f = fetches.get(reply.getRequestId());
    if (f == null || !f.peer.equals(from)) {
      return; // late (already timed out) or not ours
    }
    fetches.remove(reply.getRequestId());
    if (fetches.isEmpty()) {
      fetchesDue = Long.MAX_VALUE;
    }
    if (f.probe) {
      onProbeReply(now, from, f, reply, out);
      return;
    }
    if (reply.hasManifest()) {
      try {
        Manifest m = Manifest.verify(reply.getManifest());
        if (m.owner().equals(f.owner)) {
          holder.learnManifest(now, from, m, out);
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
        holder.onTombstone(now, from, t, out);
        repairs.succeeded(now, id, 0);
        fetchNow.remove(id);
      }
    }
    Iterator<ReplicaVerifier.Checked> checked =
        ctx.verifyReplicas(reply.getReplicasList()).iterator();
    for (SignedReplica r : reply.getReplicasList()) {
      ReplicaCodec.Verified v;
      try {
        v = asked(f, checked.next());
      } catch (InvalidFragmentException e) {
        FragmentId guess = guessId(r, f.ids);
        ctx.forged(from, guess, e.getMessage(), out);
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
   * A checked replica of a fetch reply, when it verified and is one the fetch asked for, of
   * the fetch's owner.
   *
   * @throws InvalidFragmentException when it does not verify or was not asked for
   */
  private static ReplicaCodec.Verified asked(Fetch f, ReplicaVerifier.Checked c) {
    ReplicaCodec.Verified v = c.get();
    if (!f.ids.contains(v.id())) {
      throw new InvalidFragmentException("id", "replica of " + v.id() + " was not asked for");
    }
    if (!v.owner().equals(f.owner)) {
      throw new InvalidFragmentException("owner", "replica belongs to another owner");
    }
    return v;
  }

  /** The asked-for ID a bad replica claims to be, if its body parses that far. */
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

  private void storeRepaired(long now, NodeId from, ReplicaCodec.Verified v, Out out) {
    FragmentId id = v.id();
    boolean mine = v.owner().equals(selfId);
    if (mine) {
      OwnerDigest d = ctx.digest(selfId);
      if (d.containsTombstone(id)) {
        repairs.cancel(now, id);
        return;
      }
      if (!ctx.own.restore(v)) {
        failAttempt(now, id, from, "the replica could not be opened or stored", out);
        return;
      }
      d.put(id, false);
    } else {
      Manifest m = ctx.heldManifests.get(v.owner());
      OwnerDigest d = ctx.digest(v.owner());
      if (m == null || !m.names(selfId) || d.containsTombstone(id)) {
        repairs.cancel(now, id);
        return;
      }
      if (!d.containsLive(id)) {
        if (!holder.keepReplica(v.owner(), id, v.replica())) {
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
    out.report(new ReplicaEvent.RepairFailed(id, from, why, repairs.attempts(id)));
    if (lost) {
      out.report(new ReplicaEvent.Lost(id, repairs.owner(id)));
    }
  }

  // ---- deadlines ----

  /**
   * When fetching next has work: at once while probes wait and may leave ({@link
   * ReplicaContext#AT_ONCE}), else the earliest of a repair coming due, a fetch or a
   * fetch-now expiring.
   */
  long nextDeadline() {
    if (!probes.isEmpty() && probesInFlight < ReplicaCore.MAX_PROBES_IN_FLIGHT) {
      return ReplicaContext.AT_ONCE;
    }
    long due = Math.min(fetchesDue, repairs.nextDue());
    for (long d : fetchNow.values()) {
      due = Math.min(due, d);
    }
    return due;
  }

  // ---- probes ----

  void probe(NodeId owner, NodeId source, FragmentId id) {
    if (probes.size() < ReplicaCore.MAX_PENDING_PROBES) {
      probes.putIfAbsent(id, new Probe(owner, source));
    } // else dropped: digests still differ, so the next round names it again
  }

  /** Pending probes leave as fetches to the peer that listed them, within the in-flight bound. */
  void probeTick(long now, Out out) {
    Map<NodeId, Map<NodeId, List<FragmentId>>> bySource = new LinkedHashMap<>();
    for (Iterator<Map.Entry<FragmentId, Probe>> it = probes.entrySet().iterator();
        it.hasNext() && probesInFlight < ReplicaCore.MAX_PROBES_IN_FLIGHT; ) {
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
        holder.onTombstone(now, from, t, out);
      }
    }
    Iterator<ReplicaVerifier.Checked> checked =
        ctx.verifyReplicas(reply.getReplicasList()).iterator();
    for (SignedReplica r : reply.getReplicasList()) {
      ReplicaCodec.Verified v;
      try {
        v = asked(f, checked.next());
      } catch (InvalidFragmentException e) {
        ctx.forged(from, guessId(r, f.ids), e.getMessage(), out);
        continue;
      }
      if (v.owner().equals(selfId)) {
        OwnerDigest d = ctx.digest(selfId);
        if (d.kind(v.id()) != null || ctx.own.state(v.id()) == FragmentState.DELETED
            || ctx.own.state(v.id()) == FragmentState.PRESENT) {
          continue;
        }
        if (ctx.own.restore(v)) {
          d.put(v.id(), false);
          repairs.succeeded(now, v.id(), v.size());
          out.report(new ReplicaEvent.Repaired(v.id(), selfId, true, from, v.size()));
        }
      } else {
        holder.storeHeld(from, v, out);
      }
    }
  }
}
