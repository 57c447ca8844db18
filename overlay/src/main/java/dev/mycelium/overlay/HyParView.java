package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ForwardJoin;
import dev.mycelium.wire.proto.Join;
import dev.mycelium.wire.proto.Neighbor;
import dev.mycelium.wire.proto.NeighborReply;
import dev.mycelium.wire.proto.Shuffle;
import dev.mycelium.wire.proto.ShuffleReply;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * HyParView membership (Leitão, Pereira, Rodrigues, "HyParView: a membership protocol for
 * reliable gossip-based broadcast", DSN 2007): a small active view of peers we gossip with and
 * a larger passive view of addresses to replace them from.
 *
 * <p>A joiner's request travels as a random walk of ARWL hops (ForwardJoin). A random walk on a
 * graph ends at a node with probability proportional to its degree, so new nodes attach
 * preferentially to well-connected ones, which is what makes the overlay scale-free; the
 * active view cap bounds every degree so hubs cannot grow without limit. Promotions from the
 * passive view sample it uniformly and periodic shuffles mix the passive views, which keeps
 * the graph connected when hubs fail.
 *
 * <p>Departures from the paper:
 * <ul>
 *   <li>Partitions: a node remembers peers it saw fail and, every
 *       {@code reconnectIntervalMillis}, asks one of them to become a neighbour at high
 *       priority; a node with an empty active view and nothing to promote retries its seeds.
 *       Either way a partition heals once the network does.
 *   <li>Refilling: in a settled overlay almost every view is full, so low-priority Neighbor
 *       requests to random passive peers are mostly refused. Neighbours therefore tell each
 *       other their active views (ActiveView, sent when a view changes); when a neighbour
 *       fails, its other neighbours, which have just lost a link too, are asked first. A node
 *       below half its cap asks at high priority.
 *   <li>An accepted NeighborReply that nobody is waiting for is ignored, so a reply crossing a
 *       Disconnect cannot leave a one-sided link; the failure detector's neighbour flag on Ping
 *       removes any one-sided link that loss leaves behind.
 *   <li>Strangers (identities cost nothing) cannot take over the view. Every active link is
 *       either <em>chosen</em> (this node asked for it) or inbound (the peer asked); a peer's
 *       Join, Neighbor or walk may evict only an inbound link, never a chosen one
 *       ({@link #protectedLinks()}).
 *       Walks (ForwardJoin, Shuffle) come only from active neighbours, their TTLs clamped to
 *       the configured lengths; shuffles and their replies are bounded in size and a reply is
 *       taken only for a shuffle this node sent. A peer's word about a third party never replaces an address already
 *       known: only the peer itself (Join, Neighbor) can change its own.
 * </ul>
 *
 * <p>Pure state machine: time comes in as {@code now}, randomness from the generator handed
 * in, and output goes to an {@link Outbox}.
 */
public final class HyParView {
  private final OverlayConfig config;
  private final PeerAddress self;
  private final RandomGenerator random;
  private Capacity ownCapacity = Capacity.UNKNOWN;

  private final Map<NodeId, ActivePeer> active = new LinkedHashMap<>();
  private final Map<NodeId, PeerAddress> passive = new LinkedHashMap<>();
  private final Map<NodeId, Pending> pending = new LinkedHashMap<>();
  private final Map<NodeId, PeerAddress> failed = new LinkedHashMap<>();
  private final List<PeerAddress> seeds = new ArrayList<>();
  private final Map<NodeId, List<PeerAddress>> neighborsOf = new LinkedHashMap<>();
  private final Map<NodeId, Repair> repair = new LinkedHashMap<>();
  private final dev.mycelium.wire.proto.PeerAddress selfProto;
  private boolean viewChanged;

  private long nextShuffle = Long.MIN_VALUE;
  private long nextJoinRetry = Long.MIN_VALUE;
  private long nextReconnect = Long.MIN_VALUE;
  /** When {@link #tick} last ran: work batched per tick is due a tick period after it. */
  private long lastTick;
  private boolean started;
  /** Addresses this node's outstanding shuffle sent, or 0 when none is outstanding. */
  private int shuffleSent;
  private long shuffleReplyDeadline = Long.MIN_VALUE;

  /**
   * Joins in a burst whose walks this node sends; after the burst, one Join per probe period
   * gets its walks (a joiner over the budget keeps its link here and fills its view from the
   * passive peers its shuffles bring).
   */
  public static final int JOIN_WALK_BURST = 16;

  private TokenBucket joinWalks;

  /** Addresses one Shuffle may carry before it is malformed, whatever the sender's config. */
  public static final int MAX_SHUFFLE_PEERS = 64;

  /** A peer in the active view, with what it last advertised. */
  public static final class ActivePeer {
    private final PeerAddress address;
    private Capacity capacity;
    private final boolean chosen;

    ActivePeer(PeerAddress address, Capacity capacity, boolean chosen) {
      this.address = address;
      this.capacity = capacity;
      this.chosen = chosen;
    }

    /** Whether this node asked for the link (rather than accepting a peer's request). */
    public boolean chosen() {
      return chosen;
    }

    public PeerAddress address() {
      return address;
    }

    public Capacity capacity() {
      return capacity;
    }
  }

  private record Pending(PeerAddress address, long deadline, boolean reconnect) {}

  /** A neighbour of a failed peer: likely to have a free slot now. */
  private static final class Repair {
    final PeerAddress address;
    final long until;
    long retryAt;

    Repair(PeerAddress address, long until) {
      this.address = address;
      this.until = until;
    }
  }

  public HyParView(OverlayConfig config, PeerAddress self, RandomGenerator random) {
    this.config = config;
    this.self = self;
    this.random = random;
    this.selfProto = self.toProto();
  }

  // ---- inputs ----

  /** Joins through the seeds (any of them will do; the walk does the rest). */
  public void join(long now, List<PeerAddress> seedList, Outbox out) {
    for (PeerAddress s : seedList) {
      if (!s.id().equals(self.id()) && seeds.stream().noneMatch(x -> x.id().equals(s.id()))) {
        seeds.add(s);
      }
    }
    start(now);
    joinThroughSeed(now, out);
  }

  /** Starts the periodic work without joining anyone (the first node of a network). */
  public void start(long now) {
    if (!started) {
      started = true;
      lastTick = now;
      nextShuffle = now + jitter(config.shuffleIntervalMillis());
      nextReconnect = now + jitter(config.reconnectIntervalMillis());
      nextJoinRetry = now + config.joinRetryMillis();
    }
  }

  private void joinThroughSeed(long now, Outbox out) {
    List<PeerAddress> candidates = new ArrayList<>();
    for (PeerAddress s : seeds) {
      if (!active.containsKey(s.id()) && !pending.containsKey(s.id())) {
        candidates.add(s);
      }
    }
    if (candidates.isEmpty()) {
      return;
    }
    PeerAddress seed = candidates.get(random.nextInt(candidates.size()));
    pending.put(seed.id(), new Pending(seed, now + config.neighborTimeoutMillis(), false));
    out.connect(seed);
    out.send(seed.id(), Envelope.newBuilder().setJoin(Join.newBuilder()
        .setJoiner(selfProto).setCapacity(ownCapacity.toProto())).build());
    nextJoinRetry = now + config.joinRetryMillis();
  }

  public void onJoin(long now, NodeId from, Join join, Outbox out) {
    PeerAddress joiner = PeerAddress.fromProto(join.getJoiner());
    if (!joiner.id().equals(from) || from.equals(self.id())) {
      throw new IllegalArgumentException("a Join must name its sender as the joiner");
    }
    start(now);
    boolean accepted = addActive(now, joiner, Capacity.fromProto(join.getCapacity()), false, out);
    if (!accepted) {
      addPassive(joiner, true);
    }
    out.send(from, Envelope.newBuilder().setNeighborReply(NeighborReply.newBuilder()
        .setAccepted(accepted).setCapacity(ownCapacity.toProto())).build());
    // One walk per link the joiner should end up with (the contact is the first). A random
    // walk ends at a node with probability proportional to its degree, so each walk is one
    // preferential-attachment choice (Barabasi and Albert, Science 286, 1999).
    // Each walk that ends takes a slot somewhere near this node, evicting an inbound link
    // there, so Joins beyond a budget send none: Sybils joining one node again and again would
    // otherwise churn the honest links all around it (and break the ones it chose).
    if (joinWalks == null) {
      joinWalks = new TokenBucket(1000.0 / config.probeIntervalMillis(), JOIN_WALK_BURST, now);
    }
    if (!joinWalks.tryTake(now)) {
      return;
    }
    List<NodeId> others = new ArrayList<>(active.keySet());
    others.remove(from);
    for (NodeId peer : sample(others, config.activeViewTarget() - 1)) {
      out.send(peer, Envelope.newBuilder().setForwardJoin(ForwardJoin.newBuilder()
          .setJoiner(join.getJoiner()).setTtl(config.activeRandomWalkLength())).build());
    }
  }

  public void onForwardJoin(long now, NodeId from, ForwardJoin fj, Outbox out) {
    PeerAddress joiner = PeerAddress.fromProto(fj.getJoiner());
    // A walk travels over active links; from anyone else it is a stranger steering this node
    // to an address of its choosing.
    if (joiner.id().equals(self.id()) || !active.containsKey(from) || joiner.id().equals(from)) {
      return;
    }
    int ttl = clampTtl(fj.getTtl());
    if (ttl == 0 || active.size() <= 1) {
      acceptWalk(now, joiner, out);
      return;
    }
    if (ttl == config.passiveRandomWalkLength()) {
      addPassive(joiner, false);
    }
    NodeId next = randomActive(from, joiner.id());
    if (next == null) {
      acceptWalk(now, joiner, out);
      return;
    }
    out.send(next, Envelope.newBuilder().setForwardJoin(ForwardJoin.newBuilder()
        .setJoiner(fj.getJoiner()).setTtl(ttl - 1)).build());
  }

  /** A walk's TTL as received, clamped: a peer cannot make this node walk further. */
  private int clampTtl(int wireTtl) {
    return Integer.compareUnsigned(wireTtl, config.activeRandomWalkLength()) > 0
        ? config.activeRandomWalkLength() : wireTtl;
  }

  private void acceptWalk(long now, PeerAddress joiner, Outbox out) {
    if (active.containsKey(joiner.id())) {
      return;
    }
    PeerAddress address = known(joiner);
    if (addActive(now, address, Capacity.UNKNOWN, false, out)) {
      out.send(joiner.id(), neighborRequest(true));
    } else {
      addPassive(address, false);
    }
  }

  /**
   * The address this node already has for a peer, else the one claimed: a third party's
   * claim never replaces an address learned earlier.
   */
  private PeerAddress known(PeerAddress claimed) {
    NodeId id = claimed.id();
    ActivePeer a = active.get(id);
    if (a != null) {
      return a.address;
    }
    PeerAddress p = passive.get(id);
    if (p == null) {
      p = failed.get(id);
    }
    if (p == null) {
      Pending pe = pending.get(id);
      p = pe == null ? null : pe.address();
    }
    return p != null ? p : claimed;
  }

  public void onNeighbor(long now, NodeId from, Neighbor n, Outbox out) {
    PeerAddress sender = PeerAddress.fromProto(n.getSender());
    if (!sender.id().equals(from) || from.equals(self.id())) {
      throw new IllegalArgumentException("a Neighbor request must name its sender");
    }
    start(now);
    boolean accept = n.getHighPriority() || active.size() < config.activeViewSize()
        || active.containsKey(from);
    if (accept) {
      accept = addActive(now, sender, Capacity.fromProto(n.getCapacity()), false, out);
    }
    if (!accept) {
      addPassive(sender, true);
    }
    out.send(from, Envelope.newBuilder().setNeighborReply(NeighborReply.newBuilder()
        .setAccepted(accept).setCapacity(ownCapacity.toProto())).build());
  }

  public void onNeighborReply(long now, NodeId from, NeighborReply r, Outbox out) {
    Pending p = pending.remove(from);
    Repair rp = repair.get(from);
    if (rp != null && !r.getAccepted()) {
      rp.retryAt = now + config.probeIntervalMillis() / 2;
    }
    ActivePeer a = active.get(from);
    if (a != null) {
      a.capacity = Capacity.fromProto(r.getCapacity());
      return;
    }
    // An accepted reply nobody is waiting for crossed our own Disconnect; the peer will get
    // that Disconnect next, so taking it back now would leave the link one-sided.
    if (r.getAccepted() && p != null) {
      addActive(now, p.address(), Capacity.fromProto(r.getCapacity()), true, out);
    }
  }

  public void onDisconnect(long now, NodeId from, boolean alive, Outbox out) {
    ActivePeer a = active.remove(from);
    if (a == null) {
      return;
    }
    out.report(new OverlayEvent.PeerDown(from));
    out.disconnect(from);
    viewChanged = true;
    List<PeerAddress> theirs = neighborsOf.remove(from);
    if (alive) {
      addPassive(a.address, false);
    } else {
      addFailed(a.address);
      repairFrom(now, theirs);
    }
  }

  /** The active view of an active neighbour (sent when it changes). */
  public void onActiveView(NodeId from, dev.mycelium.wire.proto.ActiveView view) {
    if (!active.containsKey(from)) {
      return;
    }
    List<PeerAddress> peers = new ArrayList<>(view.getPeersCount());
    for (dev.mycelium.wire.proto.PeerAddress raw : view.getPeersList()) {
      PeerAddress p = PeerAddress.fromProto(raw);
      if (!p.id().equals(self.id())) {
        peers.add(p);
      }
    }
    if (peers.size() > 4 * config.activeViewSize()) {
      throw new IllegalArgumentException("an active view of " + peers.size() + " peers");
    }
    neighborsOf.put(from, peers);
  }

  private void repairFrom(long now, List<PeerAddress> candidates) {
    if (candidates == null) {
      return;
    }
    for (PeerAddress c : candidates) {
      if (!active.containsKey(c.id()) && !c.id().equals(self.id())) {
        repair.put(c.id(), new Repair(known(c), now + config.repairWindowMillis()));
      }
    }
  }

  public void onShuffle(long now, NodeId from, Shuffle s, Outbox out) {
    if (s.getPeersCount() > MAX_SHUFFLE_PEERS) {
      throw new IllegalArgumentException("a shuffle of " + s.getPeersCount() + " peers");
    }
    PeerAddress origin = PeerAddress.fromProto(s.getOrigin());
    if (origin.id().equals(self.id()) || !active.containsKey(from)) {
      return;
    }
    int ttl = clampTtl(s.getTtl());
    if (ttl > 0 && active.size() > 1) {
      NodeId next = randomActive(from, origin.id());
      if (next != null) {
        out.send(next, Envelope.newBuilder().setShuffle(s.toBuilder().setTtl(ttl - 1))
            .build());
        return;
      }
    }
    List<dev.mycelium.wire.proto.PeerAddress> offered =
        s.getPeersList().subList(0, Math.min(s.getPeersCount(), shuffleLength()));
    ShuffleReply.Builder reply = ShuffleReply.newBuilder();
    for (PeerAddress p : sample(new ArrayList<>(passive.values()), offered.size())) {
      reply.addPeers(p.toProto());
    }
    if (!active.containsKey(origin.id())) {
      out.connect(known(origin));
    }
    out.send(origin.id(), Envelope.newBuilder().setShuffleReply(reply).build());
    integrate(offered);
  }

  /** Addresses an honest shuffle carries: the origin and its samples of both views. */
  private int shuffleLength() {
    return Math.min(MAX_SHUFFLE_PEERS, 1 + config.shuffleActive() + config.shufflePassive());
  }

  /** Taken only as the one answer to this node's outstanding shuffle, and no longer than it. */
  public void onShuffleReply(long now, NodeId from, ShuffleReply r, Outbox out) {
    if (shuffleSent == 0 || now > shuffleReplyDeadline) {
      return;
    }
    if (r.getPeersCount() > MAX_SHUFFLE_PEERS) {
      throw new IllegalArgumentException("a shuffle reply of " + r.getPeersCount() + " peers");
    }
    int n = Math.min(r.getPeersCount(), shuffleSent);
    shuffleSent = 0;
    integrate(r.getPeersList().subList(0, n));
  }

  /** A capacity advert from an active peer. */
  public void onCapacity(NodeId from, Capacity capacity) {
    ActivePeer a = active.get(from);
    if (a != null) {
      a.capacity = capacity;
    }
  }

  /**
   * A peer is suspected or its link broke: drop it from the active view (keeping it as
   * passive) so a replacement is promoted at once.
   */
  public void demote(long now, NodeId peer, Outbox out) {
    ActivePeer a = active.remove(peer);
    if (a == null) {
      return;
    }
    out.report(new OverlayEvent.PeerDown(peer));
    out.send(peer, Envelope.newBuilder().setDisconnect(
        dev.mycelium.wire.proto.Disconnect.newBuilder().setAlive(true)).build());
    out.disconnect(peer);
    viewChanged = true;
    addPassive(a.address, false);
    repairFrom(now, neighborsOf.remove(peer));
    promote(now, out);
  }

  /** A peer is dead or left: forget it everywhere but the reconnect list (if failed). */
  public void remove(long now, NodeId peer, boolean reconnectLater, Outbox out) {
    ActivePeer a = active.remove(peer);
    PeerAddress address = a != null ? a.address : passive.get(peer);
    passive.remove(peer);
    repair.remove(peer);
    if (a != null) {
      out.report(new OverlayEvent.PeerDown(peer));
      out.disconnect(peer);
      viewChanged = true;
      repairFrom(now, neighborsOf.remove(peer));
    }
    if (address != null && reconnectLater) {
      addFailed(address);
    }
    if (!reconnectLater) {
      failed.remove(peer);
    }
    promote(now, out);
  }

  /** A peer proved to be alive: it is no longer a reconnect candidate but a passive one. */
  public void alive(NodeId peer) {
    PeerAddress address = failed.remove(peer);
    if (address != null && !active.containsKey(peer)) {
      addPassive(address, false);
    }
  }

  /** Leaves gracefully: tells every active peer and empties the views. */
  public void leave(long now, Outbox out) {
    for (NodeId peer : new ArrayList<>(active.keySet())) {
      out.send(peer, Envelope.newBuilder().setDisconnect(
          dev.mycelium.wire.proto.Disconnect.newBuilder().setAlive(false)).build());
      out.report(new OverlayEvent.PeerDown(peer));
      out.disconnect(peer);
    }
    active.clear();
    pending.clear();
    neighborsOf.clear();
    repair.clear();
    started = false;
  }

  public void setCapacity(Capacity capacity) {
    this.ownCapacity = capacity;
  }

  /** Periodic work: expire requests, fill the active view, shuffle, retry seeds and failures. */
  public void tick(long now, Outbox out) {
    if (!started) {
      return;
    }
    lastTick = now;
    for (Iterator<Map.Entry<NodeId, Pending>> it = pending.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<NodeId, Pending> e = it.next();
      if (e.getValue().deadline() <= now) {
        it.remove();
        passive.remove(e.getKey());
        repair.remove(e.getKey());
        if (!e.getValue().reconnect()) {
          addFailed(e.getValue().address());
        }
      }
    }
    repair.values().removeIf(r -> r.until <= now);
    promote(now, out);
    if (viewChanged) {
      viewChanged = false;
      dev.mycelium.wire.proto.ActiveView.Builder v = dev.mycelium.wire.proto.ActiveView.newBuilder();
      for (ActivePeer a : active.values()) {
        v.addPeers(a.address.toProto());
      }
      Envelope e = Envelope.newBuilder().setActiveView(v).build();
      for (NodeId peer : active.keySet()) {
        out.send(peer, e);
      }
    }
    if (active.isEmpty() && passive.isEmpty() && pending.isEmpty() && now >= nextJoinRetry) {
      joinThroughSeed(now, out);
      nextJoinRetry = now + config.joinRetryMillis();
    }
    if (now >= nextShuffle) {
      nextShuffle = now + jitter(config.shuffleIntervalMillis());
      shuffle(now, out);
    }
    if (now >= nextReconnect) {
      nextReconnect = now + jitter(config.reconnectIntervalMillis());
      reconnect(now, out);
    }
  }

  /**
   * The earliest time at which {@link #tick} has work, or {@link Long#MAX_VALUE}: a request
   * to expire, a shuffle, a reconnect or seed retry, and, a tick period after the last tick
   * (as when it ran every period), the view announcement and promotions into free slots.
   */
  public long nextDeadline() {
    if (!started) {
      return Long.MAX_VALUE;
    }
    long batch = lastTick + config.tickMillis();
    long next = Math.min(nextShuffle, nextReconnect);
    for (Pending p : pending.values()) {
      next = Math.min(next, p.deadline());
    }
    if (viewChanged) {
      next = Math.min(next, batch);
    }
    if (active.isEmpty() && passive.isEmpty() && pending.isEmpty()) {
      next = Math.min(next, nextJoinRetry);
    }
    if (config.activeViewTarget() - active.size() - pending.size() > 0) {
      for (Repair r : repair.values()) {
        if (!pending.containsKey(r.address.id()) && !active.containsKey(r.address.id())) {
          next = Math.min(next, Math.max(batch, r.retryAt));
        }
      }
      for (NodeId p : passive.keySet()) {
        if (!pending.containsKey(p)) {
          next = Math.min(next, batch);
          break;
        }
      }
    }
    return next;
  }

  private void promote(long now, Outbox out) {
    if (!started) {
      return;
    }
    // Fill to the target, not the cap: the links above the target come only from joins, which
    // is what lets well-connected nodes become hubs.
    int wanted = config.activeViewTarget() - active.size() - pending.size();
    boolean high = active.size() < Math.max(1, config.activeViewTarget() / 2);
    if (wanted <= 0) {
      return;
    }
    for (Repair r : repair.values()) {
      if (wanted <= 0) {
        return;
      }
      PeerAddress p = r.address;
      if (r.retryAt <= now && !pending.containsKey(p.id()) && !active.containsKey(p.id())) {
        pending.put(p.id(), new Pending(p, now + config.neighborTimeoutMillis(), false));
        out.connect(p);
        out.send(p.id(), neighborRequest(high));
        wanted--;
      }
    }
    if (wanted <= 0 || passive.isEmpty()) {
      return;
    }
    List<PeerAddress> candidates = new ArrayList<>();
    for (PeerAddress p : passive.values()) {
      if (!pending.containsKey(p.id())) {
        candidates.add(p);
      }
    }
    for (PeerAddress p : sample(candidates, wanted)) {
      pending.put(p.id(), new Pending(p, now + config.neighborTimeoutMillis(), false));
      out.connect(p);
      out.send(p.id(), neighborRequest(high));
    }
  }

  private void shuffle(long now, Outbox out) {
    if (active.isEmpty()) {
      return;
    }
    Shuffle.Builder s = Shuffle.newBuilder().setOrigin(selfProto)
        .setTtl(config.activeRandomWalkLength());
    s.addPeers(selfProto);
    for (ActivePeer a : sample(new ArrayList<>(active.values()), config.shuffleActive())) {
      s.addPeers(a.address.toProto());
    }
    for (PeerAddress p : sample(new ArrayList<>(passive.values()), config.shufflePassive())) {
      s.addPeers(p.toProto());
    }
    NodeId to = randomActive(null, null);
    shuffleSent = s.getPeersCount();
    shuffleReplyDeadline = now + config.shuffleIntervalMillis();
    out.send(to, Envelope.newBuilder().setShuffle(s).build());
  }

  private void reconnect(long now, Outbox out) {
    List<PeerAddress> candidates = new ArrayList<>();
    for (PeerAddress p : failed.values()) {
      if (!pending.containsKey(p.id()) && !active.containsKey(p.id())) {
        candidates.add(p);
      }
    }
    if (candidates.isEmpty()) {
      return;
    }
    PeerAddress p = candidates.get(random.nextInt(candidates.size()));
    pending.put(p.id(), new Pending(p, now + config.neighborTimeoutMillis(), true));
    out.connect(p);
    out.send(p.id(), neighborRequest(true));
  }

  private Envelope neighborRequest(boolean high) {
    return Envelope.newBuilder().setNeighbor(Neighbor.newBuilder().setSender(selfProto)
        .setHighPriority(high).setCapacity(ownCapacity.toProto())).build();
  }

  private void integrate(List<dev.mycelium.wire.proto.PeerAddress> peers) {
    for (dev.mycelium.wire.proto.PeerAddress raw : peers) {
      PeerAddress p = PeerAddress.fromProto(raw);
      if (!p.id().equals(self.id()) && !active.containsKey(p.id())
          && !failed.containsKey(p.id())) {
        addPassive(p, false);
      }
    }
  }

  /**
   * Adds a peer to the active view, evicting one link if the view is full. A link this node
   * did not choose may evict only another inbound one; returns false when nothing could be
   * evicted.
   */
  private boolean addActive(long now, PeerAddress peer, Capacity capacity, boolean chosen,
      Outbox out) {
    if (peer.id().equals(self.id())) {
      return false;
    }
    ActivePeer existing = active.get(peer.id());
    if (existing != null) {
      if (capacity != Capacity.UNKNOWN) {
        existing.capacity = capacity;
      }
      return true;
    }
    if (active.size() >= config.activeViewSize()) {
      List<NodeId> evictable = new ArrayList<>(active.keySet());
      evictable.removeAll(protectedLinks());
      if (evictable.isEmpty()) {
        if (!chosen) {
          return false;
        }
        evictable.addAll(active.keySet());
      }
      NodeId evicted = evictable.get(random.nextInt(evictable.size()));
      ActivePeer e = active.remove(evicted);
      out.send(evicted, Envelope.newBuilder().setDisconnect(
          dev.mycelium.wire.proto.Disconnect.newBuilder().setAlive(true)).build());
      out.report(new OverlayEvent.PeerDown(evicted));
      out.disconnect(evicted);
      neighborsOf.remove(evicted);
      addPassive(e.address, false);
    }
    viewChanged = true;
    active.put(peer.id(), new ActivePeer(peer, capacity, chosen));
    repair.remove(peer.id());
    passive.remove(peer.id());
    failed.remove(peer.id());
    pending.remove(peer.id());
    out.connect(peer);
    out.report(new OverlayEvent.PeerUp(peer.id()));
    return true;
  }

  /**
   * Links no peer's request may evict: the ones this node chose, and, while those are fewer
   * than half the target degree, the longest-standing inbound ones up to that half. A node that
   * never had to choose a link (the network's first seed) would otherwise have nothing
   * protected, and Sybils joining it again and again would replace its whole view; they arrive
   * after the links it has, so the oldest links keep it in the honest overlay (as Bitcoin Core
   * keeps its longest-connected peers when it evicts inbound ones).
   */
  public java.util.Set<NodeId> protectedLinks() {
    java.util.Set<NodeId> out = new java.util.LinkedHashSet<>();
    for (Map.Entry<NodeId, ActivePeer> e : active.entrySet()) {
      if (e.getValue().chosen) {
        out.add(e.getKey());
      }
    }
    int floor = Math.max(1, config.activeViewTarget() / 2);
    // The active map keeps insertion order, so the first entries are the oldest links.
    for (Iterator<NodeId> it = active.keySet().iterator(); out.size() < floor && it.hasNext(); ) {
      out.add(it.next());
    }
    return out;
  }

  /**
   * Adds a passive entry. {@code firstHand} is true when the peer itself gave the address (its
   * own Join or Neighbor): only then may it replace one already known.
   */
  private void addPassive(PeerAddress peer, boolean firstHand) {
    if (peer.id().equals(self.id()) || active.containsKey(peer.id())) {
      return;
    }
    if (passive.containsKey(peer.id())) {
      if (firstHand) {
        passive.put(peer.id(), peer);
      }
      return;
    }
    if (passive.size() >= config.passiveViewSize()) {
      List<NodeId> keys = new ArrayList<>(passive.keySet());
      NodeId victim = keys.get(random.nextInt(keys.size()));
      if (pending.containsKey(victim)) {
        return;
      }
      passive.remove(victim);
    }
    passive.put(peer.id(), peer);
  }

  private void addFailed(PeerAddress peer) {
    failed.remove(peer.id());
    failed.put(peer.id(), peer);
    while (failed.size() > config.failedPeersKept()) {
      Iterator<NodeId> it = failed.keySet().iterator();
      it.next();
      it.remove();
    }
  }

  private NodeId randomActive(NodeId exclude1, NodeId exclude2) {
    List<NodeId> keys = new ArrayList<>(active.size());
    for (NodeId k : active.keySet()) {
      if (!k.equals(exclude1) && !k.equals(exclude2)) {
        keys.add(k);
      }
    }
    return keys.isEmpty() ? null : keys.get(random.nextInt(keys.size()));
  }

  private <T> List<T> sample(List<T> from, int n) {
    if (n <= 0 || from.isEmpty()) {
      return Collections.emptyList();
    }
    List<T> copy = new ArrayList<>(from);
    int k = Math.min(n, copy.size());
    for (int i = 0; i < k; i++) {
      Collections.swap(copy, i, i + random.nextInt(copy.size() - i));
    }
    return copy.subList(0, k);
  }

  private long jitter(long period) {
    return period / 2 + random.nextLong(period);
  }

  // ---- views ----

  /** The active view, in insertion order. */
  public Map<NodeId, ActivePeer> active() {
    return Collections.unmodifiableMap(active);
  }

  public Map<NodeId, PeerAddress> passive() {
    return Collections.unmodifiableMap(passive);
  }

  /** Peers seen to fail, kept for reconnect attempts. */
  public Map<NodeId, PeerAddress> failed() {
    return Collections.unmodifiableMap(failed);
  }

  public boolean isActive(NodeId peer) {
    return active.containsKey(peer);
  }

  public PeerAddress self() {
    return self;
  }
}
