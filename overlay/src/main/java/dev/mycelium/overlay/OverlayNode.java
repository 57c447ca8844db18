package dev.mycelium.overlay;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.CapacityAdvert;
import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * One node's overlay: {@link HyParView} membership, {@link FailureDetector} over its active
 * view, {@link Plumtree} broadcast over the same view, and {@link PeerScores} guarding all of
 * them. The facade is the only thing a driver talks to, through a narrow input API; each call
 * returns the ordered effects to carry out.
 *
 * <p>It wires the cores together so that they stay ignorant of each other: a peer entering
 * the active view is watched by the detector and becomes an eager broadcast peer; a suspected
 * peer is demoted from the active view at once (so its replacement is promoted within a probe
 * period or two, without waiting for the suspicion to expire); a dead or banned peer is
 * removed.
 *
 * <p>Like the cores, it never reads a clock, starts a thread or opens a socket: the daemon and
 * the simulator drive it identically, which is what lets a simulated run predict a real one.
 * Not thread-safe: one driver thread per node.
 */
public final class OverlayNode {
  private final OverlayConfig config;
  private final PeerAddress self;
  private final HyParView views;
  private final FailureDetector detector;
  private final Plumtree broadcast;
  private final PeerScores scores;
  private Capacity capacity = Capacity.UNKNOWN;
  private long malformed;
  // Each core's deadline as last computed, recomputed only once an input reached that core:
  // most messages are Pings and Acks, which leave the views and the broadcast tree alone.
  private long detectorDue;
  private long viewsDue;
  private long broadcastDue;
  private boolean detectorStale = true;
  private boolean viewsStale = true;
  private boolean broadcastStale = true;

  public OverlayNode(OverlayConfig config, PeerAddress self, RandomGenerator random,
      Signer signer, Verifier verifier, long now) {
    this.config = Objects.requireNonNull(config, "config");
    this.self = Objects.requireNonNull(self, "self address");
    Objects.requireNonNull(random, "random generator");
    this.views = new HyParView(config, self, random);
    this.detector = new FailureDetector(config, self.id(), random);
    this.broadcast = new Plumtree(config, self.id(), signer, verifier, random, now);
    this.scores = new PeerScores(config);
  }

  // ---- inputs ----

  /** Starts the periodic work without a seed (the first node of a network). */
  public List<Effect> start(long now) {
    views.start(now);
    allStale();
    return List.of();
  }

  /** Joins the network through any of the seeds (their node IDs learned from Hello). */
  public List<Effect> join(long now, List<PeerAddress> seeds) {
    Outbox out = new Outbox();
    views.join(now, seeds, out);
    return wire(now, out, 0);
  }

  /** Leaves gracefully: peers mark this node left, not dead. */
  public List<Effect> leave(long now) {
    Outbox out = new Outbox();
    detector.leave(out);
    int mark = out.size();
    views.leave(now, out);
    return wire(now, out, mark);
  }

  /**
   * Runs whatever is due at {@code now}: probes, timers, shuffles, announcements. Call it at
   * {@link #nextDeadline()}; calling it earlier does no harm.
   */
  public List<Effect> tick(long now) {
    Outbox out = new Outbox();
    detector.tick(now, out);
    int mark = 0;
    mark = wireInto(now, out, mark);
    views.tick(now, out);
    mark = wireInto(now, out, mark);
    broadcast.tick(now, out);
    return wire(now, out, mark);
  }

  /**
   * The earliest time at which {@link #tick} has work, or {@link Long#MAX_VALUE} when none
   * (a node that has not started). A driver wakes the node exactly then, so an idle node
   * costs about one wake-up per probe period; work batched per tick (view announcements,
   * IHave batches, the broadcast send queue) is due a tick period after the last tick, as it
   * was when the driver ticked every period. Never later than the work is due; after {@code
   * tick(now)} it is later than {@code now}.
   */
  public long nextDeadline() {
    if (detectorStale) {
      detectorDue = detector.nextDeadline();
      detectorStale = false;
    }
    if (viewsStale) {
      viewsDue = views.nextDeadline();
      viewsStale = false;
    }
    if (broadcastStale) {
      broadcastDue = broadcast.nextDeadline();
      broadcastStale = false;
    }
    return Math.min(detectorDue, Math.min(viewsDue, broadcastDue));
  }

  private void allStale() {
    detectorStale = true;
    viewsStale = true;
    broadcastStale = true;
  }

  /** Broadcasts a payload to every node subscribed to the topic. */
  public List<Effect> broadcast(long now, String topic, ByteString payload, int priority) {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(payload, "payload");
    Outbox out = new Outbox();
    broadcast.broadcast(now, topic, payload, priority, out);
    return wire(now, out, 0);
  }

  /** Broadcasts a payload that travels at most {@code ttl} hops. */
  public List<Effect> broadcast(long now, String topic, ByteString payload, int priority,
      int ttl) {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(payload, "payload");
    Outbox out = new Outbox();
    broadcast.broadcast(now, topic, payload, priority, ttl, out);
    return wire(now, out, 0);
  }

  public void subscribe(String topic) {
    broadcast.subscribe(topic);
  }

  public void unsubscribe(String topic) {
    broadcast.unsubscribe(topic);
  }

  /** Advertises new capacity to active neighbours. */
  public List<Effect> setCapacity(long now, Capacity newCapacity) {
    this.capacity = Objects.requireNonNull(newCapacity, "capacity");
    views.setCapacity(newCapacity);
    allStale();
    Outbox out = new Outbox();
    Envelope e = Envelope.newBuilder().setCapacity(CapacityAdvert.newBuilder()
        .setCapacity(newCapacity.toProto())).build();
    for (NodeId peer : views.active().keySet()) {
      out.send(peer, e);
    }
    return out.effects();
  }

  /**
   * Envelope numbers from this one up belong to cores above the overlay (replication, network
   * search); the driver hands them to those cores after {@link #admit}.
   */
  public static final int FIRST_APPLICATION_FIELD = 30;

  /** Whether an envelope belongs to a core above the overlay rather than to this one. */
  public static boolean isApplication(Envelope env) {
    return env.getBodyCase().getNumber() >= FIRST_APPLICATION_FIELD;
  }

  /**
   * The outcome of {@link #admit}: deliver the message only when {@code accepted}; apply the
   * effects either way (a flood may have banned the peer).
   */
  public record Admission(boolean accepted, List<Effect> effects) {}

  /**
   * Puts a message meant for another core through the same defences as overlay messages: a
   * banned peer is disconnected, a peer over its token bucket loses points and the message is
   * dropped. {@code bytes} is the message's size, counted against the peer's byte bucket at
   * {@code arrived}, the time the message came off the link (at most {@code now}).
   */
  public Admission admit(long now, long arrived, NodeId from, long bytes) {
    Outbox out = new Outbox();
    if (from.equals(self.id())) {
      return new Admission(false, out.effects());
    }
    if (scores.isBanned(now, from)) {
      out.disconnect(from);
      return new Admission(false, out.effects());
    }
    boolean ok = scores.admit(now, arrived, from, bytes, out);
    return new Admission(ok, wire(now, out, 0));
  }

  /**
   * Another core found a peer's message bad (a forged signature, a malformed request): lower
   * its score as the overlay would, banning it below the threshold.
   */
  public List<Effect> penalize(long now, NodeId from, double points, String why) {
    Outbox out = new Outbox();
    scores.penalize(now, from, points, why, out);
    return wire(now, out, 0);
  }

  /** The transport could not parse a frame from this peer. */
  public List<Effect> onMalformed(long now, NodeId from, String why) {
    Outbox out = new Outbox();
    malformed++;
    scores.penalize(now, from, PeerScores.MALFORMED, "malformed: " + why, out);
    return wire(now, out, 0);
  }

  /** The transport lost its link to this peer: replace it as HyParView does on a TCP failure. */
  public List<Effect> onLinkLost(long now, NodeId peer) {
    Outbox out = new Outbox();
    views.demote(now, peer, out);
    return wire(now, out, 0);
  }

  /** One message from an authenticated peer. */
  public List<Effect> onMessage(long now, NodeId from, Envelope env) {
    return onMessage(now, now, from, env);
  }

  /**
   * One message from an authenticated peer that arrived at {@code arrived} (at most {@code
   * now}): its sender's token buckets count it then.
   */
  public List<Effect> onMessage(long now, long arrived, NodeId from, Envelope env) {
    Outbox out = new Outbox();
    if (from.equals(self.id())) {
      return out.effects();
    }
    if (scores.isBanned(now, from)) {
      out.disconnect(from);
      return out.effects();
    }
    if (!scores.admit(now, arrived, from, env.getSerializedSize(), out)) {
      return wire(now, out, 0);
    }
    try {
      dispatch(now, from, env, out);
    } catch (IllegalArgumentException e) {
      malformed++;
      scores.penalize(now, from, PeerScores.MALFORMED,
          "malformed " + env.getBodyCase() + ": " + e.getMessage(), out);
    }
    // dispatch marked the core it reached; wireInto marks them all if events crossed cores.
    wireInto(now, out, 0);
    return out.effects();
  }

  private void dispatch(long now, NodeId from, Envelope env, Outbox out) {
    switch (env.getBodyCase()) {
      case PING -> { }
      case ACK, PING_REQ, NACK, SUSPECT, DEAD, LEAVE -> detectorStale = true;
      case ALIVE -> {
        detectorStale = true;
        viewsStale = true;
      }
      case GOSSIP, IHAVE, GRAFT, PRUNE -> broadcastStale = true;
      default -> viewsStale = true;
    }
    switch (env.getBodyCase()) {
      case JOIN -> views.onJoin(now, from, env.getJoin(), out);
      case FORWARD_JOIN -> views.onForwardJoin(now, from, env.getForwardJoin(), out);
      case NEIGHBOR -> views.onNeighbor(now, from, env.getNeighbor(), out);
      case NEIGHBOR_REPLY -> views.onNeighborReply(now, from, env.getNeighborReply(), out);
      case DISCONNECT -> views.onDisconnect(now, from, env.getDisconnect().getAlive(), out);
      case SHUFFLE -> views.onShuffle(now, from, env.getShuffle(), out);
      case SHUFFLE_REPLY -> views.onShuffleReply(now, from, env.getShuffleReply(), out);
      case CAPACITY -> views.onCapacity(from, Capacity.fromProto(env.getCapacity().getCapacity()));
      case PING -> {
        detector.onPing(from, env.getPing(), out);
        if (env.getPing().getNeighbor() && !views.isActive(from)) {
          out.send(from, Envelope.newBuilder().setDisconnect(
              dev.mycelium.wire.proto.Disconnect.newBuilder().setAlive(true)).build());
        }
      }
      case ACTIVE_VIEW -> views.onActiveView(from, env.getActiveView());
      case ACK -> detector.onAck(now, from, env.getAck(), out);
      case PING_REQ -> detector.onPingReq(now, from, env.getPingReq(), out);
      case NACK -> detector.onNack(from, env.getNack());
      case SUSPECT -> detector.onSuspect(now, from, env.getSuspect(), out);
      case ALIVE -> {
        NodeId alive = detector.onAlive(from, env.getAlive(), out);
        if (alive != null) {
          views.alive(alive);
        }
      }
      case DEAD -> detector.onDead(now, from, env.getDead(), out);
      case LEAVE -> detector.onLeave(from, env.getLeave(), out);
      case GOSSIP -> {
        if (broadcast.onGossip(now, from, env.getGossip(), out)
            == Plumtree.Outcome.BAD_SIGNATURE) {
          scores.penalize(now, from, PeerScores.BAD_SIGNATURE, "bad broadcast signature", out);
        }
      }
      case IHAVE -> broadcast.onIHave(now, from, env.getIhave(), out);
      case GRAFT -> broadcast.onGraft(now, from, env.getGraft(), out);
      case PRUNE -> broadcast.onPrune(from);
      case BODY_NOT_SET -> throw new IllegalArgumentException("envelope has no message");
      default -> throw new IllegalArgumentException("unknown message " + env.getBodyCase());
    }
  }

  /** Applies cross-core consequences of the events in out from index mark on. */
  private List<Effect> wire(long now, Outbox out, int mark) {
    wireInto(now, out, mark);
    allStale();
    return out.effects();
  }

  private int wireInto(long now, Outbox out, int mark) {
    int i = mark;
    for (; i < out.size(); i++) {
      if (!(out.get(i) instanceof Effect.Report r)) {
        continue;
      }
      OverlayEvent ev = r.event();
      if (ev instanceof OverlayEvent.PeerUp || ev instanceof OverlayEvent.PeerDown
          || ev instanceof OverlayEvent.Suspected || ev instanceof OverlayEvent.Dead
          || ev instanceof OverlayEvent.Left || ev instanceof OverlayEvent.Refuted
          || ev instanceof OverlayEvent.Banned) {
        allStale();
      }
      if (ev instanceof OverlayEvent.PeerUp up) {
        HyParView.ActivePeer a = views.active().get(up.peer());
        if (a != null) {
          detector.watch(now, a.address());
          broadcast.neighborUp(up.peer());
        }
      } else if (ev instanceof OverlayEvent.PeerDown down) {
        if (!views.isActive(down.peer())) {
          detector.unwatch(down.peer());
          broadcast.neighborDown(down.peer());
        }
      } else if (ev instanceof OverlayEvent.Suspected s) {
        scores.penalize(now, s.peer(), PeerScores.FAILED_PROBE, "failed probe", out);
        views.demote(now, s.peer(), out);
      } else if (ev instanceof OverlayEvent.Dead d) {
        views.remove(now, d.peer(), true, out);
      } else if (ev instanceof OverlayEvent.Left l) {
        views.remove(now, l.peer(), false, out);
      } else if (ev instanceof OverlayEvent.Refuted ref) {
        views.alive(ref.peer());
      } else if (ev instanceof OverlayEvent.Banned b) {
        views.remove(now, b.peer(), false, out);
        detector.unwatch(b.peer());
        broadcast.neighborDown(b.peer());
        out.disconnect(b.peer());
      }
    }
    return i;
  }

  // ---- state, for status pages, metrics and tests ----

  public PeerAddress self() {
    return self;
  }

  public NodeId id() {
    return self.id();
  }

  public OverlayConfig config() {
    return config;
  }

  /** Active view peer IDs, in a stable order. */
  public List<NodeId> activeView() {
    return new ArrayList<>(views.active().keySet());
  }

  public List<NodeId> passiveView() {
    return new ArrayList<>(views.passive().keySet());
  }

  /**
   * Every address this node knows (active view first, then passive), for the daemon to keep
   * in its data directory: passed back to {@link #join} after a restart, they let the node
   * rejoin without its seeds.
   */
  public List<PeerAddress> knownPeers() {
    List<PeerAddress> out = new ArrayList<>();
    for (HyParView.ActivePeer a : views.active().values()) {
      out.add(a.address());
    }
    out.addAll(views.passive().values());
    return out;
  }

  public Capacity capacity() {
    return capacity;
  }

  public HyParView views() {
    return views;
  }

  public FailureDetector detector() {
    return detector;
  }

  public Plumtree broadcaster() {
    return broadcast;
  }

  public PeerScores scores() {
    return scores;
  }

  /** Frames or messages from peers that did not make sense. */
  public long malformed() {
    return malformed;
  }
}
