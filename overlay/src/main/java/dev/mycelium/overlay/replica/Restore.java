package dev.mycelium.overlay.replica;

import static dev.mycelium.overlay.replica.ReplicaContext.bytes;
import static dev.mycelium.overlay.replica.ReplicaContext.claimedOwner;

import dev.mycelium.model.FragmentId;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.replica.ReplicaContext.Out;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ReplicaHolder;
import dev.mycelium.wire.proto.RestoreOffer;
import dev.mycelium.wire.proto.RestoreQuery;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Restore after a wipe: asking neighbours and then the network who holds this node's
 * fragments, answering such queries for owners this node holds for, taking the offers, and
 * turning own IDs that two holders vouch for into placeholders to repair.
 */
final class Restore {
  /** Unknown own IDs waiting for a second voucher during a restore. */
  static final int MAX_VOUCHES = 16_384;

  private final ReplicaContext ctx;
  private final ReplicaConfig config;
  private final NodeId selfId;
  private final RepairFetches fetches;

  private long startedAt = -1;
  private boolean broadcast;
  private boolean offered;
  private long lastOfferAt = -1;
  // Placeholders a restore may create: as many as the smallest offer said it holds. Every
  // holder keeps all of the owner's fragments, so an honest holder's count bounds the real
  // number, and liars claiming millions cannot raise it; a holder that lost some only means
  // that the rest come back by probe, without a placeholder in the meantime.
  private long heldMin = Long.MAX_VALUE;
  private long placeholdersMade;
  // Unknown own IDs a holder listed during a restore, with who listed them first: a second,
  // distinct holder turns one into a placeholder; alone it ages into a probe.
  private final LinkedHashMap<FragmentId, Vouch> vouches = new LinkedHashMap<>();

  private record Vouch(NodeId first, long at) {}

  Restore(ReplicaContext ctx, RepairFetches fetches) {
    this.ctx = ctx;
    this.config = ctx.config;
    this.selfId = ctx.selfId;
    this.fetches = fetches;
  }

  /** Whether a restore this node started is still open. */
  boolean active() {
    return startedAt >= 0;
  }

  /** Placement waits while a restore may still find the old holders. */
  boolean holdsPlacement(long now) {
    return startedAt >= 0 && !offered && now < holdEnd();
  }

  /** When placement stops waiting for offers, if none comes. */
  private long holdEnd() {
    return startedAt + 2 * config.restoreBroadcastDelayMillis() + config.fetchTimeoutMillis();
  }

  /** When a restore may close once nothing is left to repair or vouch for. */
  private long settled() {
    long settle = lastOfferAt + config.antiEntropyIntervalMillis()
        + 2 * config.fetchTimeoutMillis();
    return offered ? settle : Math.max(holdEnd(), settle);
  }

  /**
   * When the restore next has work: the broadcast, the end of the placement hold (unless a
   * tick at or after it, {@code lastTick}, already let placement go), a vouch aging into a
   * probe, or closing once nothing is left to repair; at once for vouches left over when no
   * restore runs.
   */
  long nextDeadline(long lastTick) {
    if (startedAt < 0) {
      return vouches.isEmpty() ? Long.MAX_VALUE : ReplicaContext.AT_ONCE;
    }
    long due = Long.MAX_VALUE;
    if (!offered && !broadcast) {
      due = startedAt + config.restoreBroadcastDelayMillis();
    }
    if (!offered && holdEnd() > lastTick) {
      due = Math.min(due, holdEnd());
    }
    if (!vouches.isEmpty()) {
      due = Math.min(due, vouches.values().iterator().next().at() + config.fetchTimeoutMillis());
    } else if (ctx.repairs.stats().queueLength() == 0) {
      due = Math.min(due, settled());
    }
    return due;
  }

  /** Starts a restore by asking {@code neighbours} and the holders of any own manifest kept. */
  void start(long now, Collection<NodeId> neighbours, Out out) {
    startedAt = now;
    heldMin = Long.MAX_VALUE;
    placeholdersMade = 0;
    broadcast = false;
    offered = false;
    Envelope q = Envelope.newBuilder().setRestoreQuery(query()).build();
    Set<NodeId> asked = new LinkedHashSet<>(neighbours);
    if (ctx.ownManifest != null) {
      asked.addAll(ctx.ownManifest.holderIds());
    }
    for (NodeId n : asked) {
      ctx.send(out, n, q);
    }
    out.report(new ReplicaEvent.RestoreStarted(asked.size()));
  }

  private RestoreQuery query() {
    return RestoreQuery.newBuilder().setOwnerId(bytes(selfId)).setReplyTo(
        ReplicaHolder.newBuilder().setNodeId(bytes(selfId)).setHost(ctx.self.host())
            .setPort(ctx.self.port())).build();
  }

  void tick(long now, Out out) {
    if (startedAt < 0) {
      return;
    }
    if (!offered && !broadcast && now >= startedAt + config.restoreBroadcastDelayMillis()) {
      broadcast = true;
      out.effects.add(new ReplicaEffect.Broadcast(ReplicaCore.RESTORE_TOPIC,
          query().toByteString(), ReplicaCore.RESTORE_PRIORITY));
    }
    // The restore stays open while offers' digest exchanges may still be under way, so that
    // IDs vouched for by two holders still get their placeholders.
    if (ctx.repairs.stats().queueLength() == 0 && vouches.isEmpty() && now >= settled()) {
      startedAt = -1; // done, or nobody held anything
    }
  }

  /** A holder answers an owner's restore query with the manifest it keeps for it. */
  void onQuery(NodeId from, RestoreQuery q, Out out) {
    NodeId owner = NodeId.of(q.getOwnerId().toByteArray());
    if (!owner.equals(from) || owner.equals(selfId)) {
      return; // only an owner asks for its own fragments
    }
    Manifest m = ctx.heldManifests.get(owner);
    if (m == null || !m.names(selfId)) {
      return; // nothing held for it: not even its address is kept
    }
    if (q.hasReplyTo()) {
      ctx.addresses.put(owner, new PeerAddress(owner, q.getReplyTo().getHost(),
          q.getReplyTo().getPort()));
    }
    ctx.send(out, owner, Envelope.newBuilder().setRestoreOffer(RestoreOffer.newBuilder()
        .setManifest(m.signed()).setHeld(ctx.digestOf(owner).size())).build());
  }

  void onOffer(long now, NodeId from, RestoreOffer offer, Out out) {
    if (!selfId.equals(claimedOwner(offer.getManifest()))) {
      throw new IllegalArgumentException("a restore offer carries another owner's manifest");
    }
    if (startedAt < 0 && ctx.ownManifest != null) {
      return; // nobody asked: not worth a signature check
    }
    Manifest m = Manifest.verify(offer.getManifest());
    if (!m.owner().equals(selfId)) {
      throw new IllegalArgumentException("a restore offer carries another owner's manifest");
    }
    if (!m.names(from)) {
      return; // the offerer was dropped from that manifest
    }
    if (ctx.ownManifest != null && ctx.ownManifest.version() > m.version()) {
      return; // a holder dropped since: it may keep copies of what was deleted after
    }
    ctx.adoptOwnManifest(now, m);
    // Partners named only by an older manifest are no longer asked.
    ctx.restorePartners.removeIf(p -> !ctx.ownManifest.names(p));
    offered = true;
    lastOfferAt = now;
    heldMin = Math.min(heldMin, Math.max(0, offer.getHeld()));
    ctx.restorePartners.add(from);
    ctx.repairs.addSources(now, selfId, ctx.ownSources());
    out.report(new ReplicaEvent.RestoreOffered(from, offer.getHeld(), m.version()));
    ctx.send(out, from, ctx.rootsFor(List.of(selfId)));
  }

  /**
   * A holder listed an own ID this node does not know. Only inside a restore this node started,
   * and only once two distinct holders list it, does it become a BLANK placeholder queued for
   * repair (one liar cannot fill the owner's store); otherwise it is fetched and kept only if a
   * replica signed by this node comes back.
   */
  void learnOwnId(long now, NodeId from, FragmentId id) {
    if (startedAt < 0) {
      fetches.probe(selfId, from, id);
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
    if (heldMin == Long.MAX_VALUE || placeholdersMade >= heldMin) {
      fetches.probe(selfId, from, id); // more than the holders said they hold: verify first
      return;
    }
    placeholdersMade++;
    ctx.own.markBlank(id);
    ctx.repairs.enqueue(now, id, selfId, true, ctx.ownSources());
  }

  /** Vouches that found no second holder in time become probes. */
  void ageVouches(long now) {
    for (Iterator<Map.Entry<FragmentId, Vouch>> it = vouches.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<FragmentId, Vouch> e = it.next();
      if (startedAt >= 0 && e.getValue().at() + config.fetchTimeoutMillis() > now) {
        break; // insertion order is arrival order
      }
      it.remove();
      fetches.probe(selfId, e.getValue().first(), e.getKey());
    }
  }
}
