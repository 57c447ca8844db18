package dev.mycelium.overlay;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Ack;
import dev.mycelium.wire.proto.Alive;
import dev.mycelium.wire.proto.Dead;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Leave;
import dev.mycelium.wire.proto.Nack;
import dev.mycelium.wire.proto.Ping;
import dev.mycelium.wire.proto.PingReq;
import dev.mycelium.wire.proto.Suspect;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * SWIM failure detection (Das, Gupta, Motivala, "SWIM: Scalable Weakly-consistent
 * Infection-style Process Group Membership Protocol", DSN 2002) over the HyParView active view,
 * with Lifeguard's refinements (Dadgar et al., 2018).
 *
 * <p>SWIM probes one random member per period because its member list is the whole group;
 * here the watched set is the active view, which is capped and small, so every watched peer is
 * probed once per period and a crash is suspected within two periods. A probe that gets no
 * Ack within the (health-scaled) timeout is retried through {@code k} other neighbours
 * (PingReq); helpers answer Nack when they hear nothing, which tells this node its own link
 * works. A failed probe makes the peer suspect; the suspect refutes by raising its
 * incarnation; an unrefuted suspicion becomes dead after a timeout that shrinks with
 * independent confirmations ({@link Suspicion}) and grows with poor local health
 * ({@link Awareness}).
 *
 * <p>Membership updates travel one hop: to the suspect (so it can refute) and to this node's
 * other watched peers. News about a third party is hearsay from a peer that may lie, so it is
 * taken only from watched peers (the active view) and never acted on alone: a Suspect or Dead
 * about a peer this node finds alive only brings its next probe forward (at most once per
 * probe period), and counts as a Lifeguard confirmation only of a suspicion this node already
 * holds from its own failed probe. Hearsay never demotes, penalizes or changes the
 * incarnation of its subject; only the subject's own Alive does that, and only by a bounded
 * step ({@link #MAX_INCARNATION_JUMP}), so no one can push an incarnation to where refuting it
 * overflows. Acks and Nacks count only from the peers a probe was sent to.
 *
 * <p>Probes go out in rounds: every watched peer is probed at the same instant of each period
 * (this node's round, at a random phase), so a node with six neighbours is woken once per
 * period to probe, not six times, and an idle node costs its driver one wake-up per second.
 * {@link #nextDeadline()} says exactly when {@link #tick} next has work.
 *
 * <p>Round-trip times come free with the probes: the time from a direct Ping to its Ack, both
 * taken from the {@code now} the driver passes in, is smoothed per peer as TCP smooths its
 * retransmission timer (RFC 6298: SRTT and RTTVAR with gains 1/8 and 1/4). As in Karn's
 * algorithm, an Ack after the probe was retried (fallback ping, indirect probe) is not
 * sampled, since it cannot say which Ping it answers.
 */
public final class FailureDetector {
  private enum Phase { IDLE, DIRECT, INDIRECT }

  private static final class Member {
    final PeerAddress address;
    long incarnation;
    MemberState state = MemberState.ALIVE;
    boolean watched;
    Suspicion suspicion;
    Phase phase = Phase.IDLE;
    int seq;
    long sentAt;
    long timeoutAt;
    long periodEnd;
    long nextProbeAt;
    int nacksExpected;
    int nacksReceived;
    /** Helpers asked for the current indirect probe: the only other peers whose Ack counts. */
    List<NodeId> helpers = List.of();
    /** Helpers whose Nack was counted for the current probe. */
    final java.util.Set<NodeId> nackers = new java.util.HashSet<>();
    /** When hearsay may next bring a probe forward. */
    long nextHearsayProbe = Long.MIN_VALUE;
    long nextSuspectResend;
    double srtt = Double.NaN;
    double rttvar;

    Member(PeerAddress address) {
      this.address = address;
    }
  }

  /** RFC 6298 gains: SRTT moves by 1/8 of each new sample, RTTVAR by 1/4. */
  private static final double RTT_ALPHA = 1.0 / 8;
  private static final double RTT_BETA = 1.0 / 4;

  /**
   * A peer's smoothed round-trip time and its mean deviation (RFC 6298's SRTT and RTTVAR),
   * in milliseconds.
   */
  public record Rtt(double smoothedMillis, double deviationMillis) {}

  private record Relay(NodeId requester, int requesterSeq, NodeId target, long deadline) {}

  /**
   * The largest step by which a peer's news may raise an incarnation. Honest incarnations
   * rise by one per refutation, so even a node that restarted from zero is far below this;
   * a larger jump is a lie meant to make the refutation overflow.
   */
  public static final long MAX_INCARNATION_JUMP = 1L << 20;

  private final OverlayConfig config;
  private final NodeId self;
  private final ByteString selfBytes;
  private final RandomGenerator random;
  private final Awareness awareness;
  private final Map<NodeId, Member> members = new LinkedHashMap<>();
  private final Map<Integer, NodeId> probes = new LinkedHashMap<>();
  private final Map<Integer, Relay> relays = new LinkedHashMap<>();
  /** Where in each probe period this node's probe round falls, in [0, probeInterval). */
  private final long roundPhase;
  private long incarnation;
  private int nextSeq;
  private long suspicions;
  private long deaths;
  private long refutations;

  public FailureDetector(OverlayConfig config, NodeId self, RandomGenerator random) {
    this.config = config;
    this.self = self;
    this.selfBytes = ByteString.copyFrom(self.toBytes());
    this.random = random;
    this.awareness = new Awareness(config.awarenessMax());
    this.roundPhase = random.nextLong(config.probeIntervalMillis());
  }

  /** The first probe round at or after {@code t}. */
  private long roundAtOrAfter(long t) {
    long period = config.probeIntervalMillis();
    return roundPhase + Math.floorDiv(t - roundPhase + period - 1, period) * period;
  }

  // ---- the watched set (the active view) ----

  /** Starts probing a peer that entered the active view. */
  public void watch(long now, PeerAddress peer) {
    Member m = members.computeIfAbsent(peer.id(), id -> new Member(peer));
    if (!m.watched) {
      m.watched = true;
      m.phase = Phase.IDLE;
      // The next round, strictly after now: a peer watched at a round's instant waits a whole
      // period like the others rather than getting a probe of its own.
      m.nextProbeAt = roundAtOrAfter(now + 1);
    }
  }

  /** Stops probing a peer; a suspicion about it keeps running until it resolves. */
  public void unwatch(NodeId peer) {
    Member m = members.get(peer);
    if (m == null) {
      return;
    }
    m.watched = false;
    if (m.phase != Phase.IDLE) {
      probes.remove(m.seq);
      m.phase = Phase.IDLE;
    }
    if (m.state != MemberState.SUSPECT) {
      members.remove(peer);
    }
  }

  private boolean isWatched(NodeId peer) {
    Member m = members.get(peer);
    return m != null && m.watched;
  }

  /** Relays in flight at once, so PingReqs cannot grow the table without bound. */
  private int maxRelays() {
    return 4 * config.activeViewSize();
  }

  // ---- messages ----

  public void onPing(NodeId from, Ping ping, Outbox out) {
    out.send(from, Envelope.newBuilder().setAck(Ack.newBuilder().setSeq(ping.getSeq())).build());
  }

  public void onPingReq(long now, NodeId from, PingReq req, Outbox out) {
    PeerAddress target = PeerAddress.fromProto(req.getTarget());
    if (target.id().equals(self) || target.id().equals(from)) {
      return;
    }
    // Only a neighbour may ask: a stranger's PingReq would make this node dial and ping an
    // address the stranger chose, on its behalf.
    if (!isWatched(from) || relays.size() >= maxRelays()) {
      return;
    }
    int seq = nextSeq++;
    relays.put(seq, new Relay(from, req.getSeq(), target.id(),
        now + config.indirectNackMillis()));
    out.connect(target);
    out.send(target.id(), Envelope.newBuilder().setPing(Ping.newBuilder().setSeq(seq)).build());
  }

  public void onAck(long now, NodeId from, Ack ack, Outbox out) {
    Relay relay = relays.get(ack.getSeq());
    if (relay != null) {
      if (!relay.target().equals(from)) {
        return;
      }
      relays.remove(ack.getSeq());
      out.send(relay.requester(), Envelope.newBuilder()
          .setAck(Ack.newBuilder().setSeq(relay.requesterSeq())).build());
      return;
    }
    NodeId target = probes.get(ack.getSeq());
    if (target == null) {
      return;
    }
    Member m = members.get(target);
    if (m == null || m.phase == Phase.IDLE || m.seq != ack.getSeq()) {
      probes.remove(ack.getSeq());
      return;
    }
    // Only the target, or a helper asked to probe it, can vouch for it: anyone else's Ack
    // would keep a dead peer looking alive.
    if (!from.equals(target) && !(m.phase == Phase.INDIRECT && m.helpers.contains(from))) {
      return;
    }
    probes.remove(ack.getSeq());
    awareness.apply(-1);
    if (m.phase == Phase.DIRECT && from.equals(target)) {
      sampleRtt(m, Math.max(0, now - m.sentAt));
    }
    m.phase = Phase.IDLE;
    // Back onto the round: a probe that hearsay brought forward rejoins the others afterwards.
    m.nextProbeAt = roundAtOrAfter(
        Math.max(now, m.sentAt + awareness.scale(config.probeIntervalMillis())));
  }

  /** RFC 6298, section 2: the first sample sets SRTT, later ones move it by 1/8. */
  private static void sampleRtt(Member m, long sample) {
    if (Double.isNaN(m.srtt)) {
      m.srtt = sample;
      m.rttvar = sample / 2.0;
    } else {
      m.rttvar = (1 - RTT_BETA) * m.rttvar + RTT_BETA * Math.abs(m.srtt - sample);
      m.srtt = (1 - RTT_ALPHA) * m.srtt + RTT_ALPHA * sample;
    }
  }

  public void onNack(NodeId from, Nack nack) {
    NodeId target = probes.get(nack.getSeq());
    Member m = target == null ? null : members.get(target);
    if (m != null && m.phase == Phase.INDIRECT && m.seq == nack.getSeq()
        && m.helpers.contains(from) && m.nackers.add(from)) {
      m.nacksReceived++;
    }
  }

  /**
   * A Suspect from a peer: about this node, answered with a refutation (from anyone, since a
   * suspecter that demoted us is no longer our neighbour); about another, hearsay (see the
   * class comment).
   *
   * @throws IllegalArgumentException for an incarnation that no honest peer can hold
   */
  public void onSuspect(long now, NodeId from, Suspect s, Outbox out) {
    NodeId node = NodeId.of(s.getNodeId().toByteArray());
    if (node.equals(self)) {
      refute(s.getIncarnation(), from, out);
      return;
    }
    hearsay(now, from, node, s.getIncarnation());
  }

  /** A Dead from a peer: treated as a Suspect, never as a death on its own. */
  public void onDead(long now, NodeId from, Dead d, Outbox out) {
    NodeId node = NodeId.of(d.getNodeId().toByteArray());
    if (node.equals(self)) {
      refute(d.getIncarnation(), from, out);
      return;
    }
    hearsay(now, from, node, d.getIncarnation());
  }

  /**
   * Alive news, taken only from its subject. Returns the node whose alive news this is (so
   * the caller can tell the views), or null when it was not the sender's own.
   *
   * @throws IllegalArgumentException for an incarnation jump no honest peer makes
   */
  public NodeId onAlive(NodeId from, Alive a, Outbox out) {
    NodeId node = NodeId.of(a.getNodeId().toByteArray());
    if (!node.equals(from)) {
      return null;
    }
    Member m = members.get(node);
    if (m != null && Long.compareUnsigned(a.getIncarnation(), m.incarnation) > 0) {
      if (Long.compareUnsigned(a.getIncarnation() - m.incarnation, MAX_INCARNATION_JUMP) > 0) {
        throw new IllegalArgumentException("incarnation jumps from " + m.incarnation + " to "
            + Long.toUnsignedString(a.getIncarnation()));
      }
      m.incarnation = a.getIncarnation();
      if (m.state == MemberState.SUSPECT) {
        m.state = MemberState.ALIVE;
        m.suspicion = null;
        refutations++;
        out.report(new OverlayEvent.Refuted(node, m.incarnation));
        if (!m.watched) {
          members.remove(node);
        }
      }
    }
    return node;
  }

  public void onLeave(NodeId from, Leave leave, Outbox out) {
    Member m = members.remove(from);
    if (m != null && m.phase != Phase.IDLE) {
      probes.remove(m.seq);
    }
    out.report(new OverlayEvent.Left(from));
  }

  /** Tells watched peers this node is leaving; they mark it left rather than dead. */
  public void leave(Outbox out) {
    Envelope e = Envelope.newBuilder().setLeave(Leave.newBuilder().setIncarnation(incarnation))
        .build();
    for (Member m : members.values()) {
      if (m.watched) {
        out.send(m.address.id(), e);
      }
    }
    members.clear();
    probes.clear();
    relays.clear();
  }

  private void refute(long suspectedIncarnation, NodeId from, Outbox out) {
    Envelope alive;
    if (Long.compareUnsigned(suspectedIncarnation, incarnation) < 0) {
      // Already refuted, but this suspecter has not heard it yet (several neighbours suspect
      // a paused node at once, and each needs the answer).
      alive = aliveMessage();
      out.send(from, alive);
      return;
    }
    // Only this node raises its own incarnation, so a peer can know at most the current one
    // (or, after a restart from zero, a little more): a far larger one is a lie meant to
    // overflow the refutation.
    if (Long.compareUnsigned(suspectedIncarnation - incarnation, MAX_INCARNATION_JUMP) > 0) {
      throw new IllegalArgumentException("suspected at incarnation "
          + Long.toUnsignedString(suspectedIncarnation) + ", this node is at " + incarnation);
    }
    incarnation = suspectedIncarnation + 1;
    awareness.apply(1);
    out.report(new OverlayEvent.SelfRefuted(incarnation));
    alive = aliveMessage();
    out.send(from, alive);
    for (Member m : members.values()) {
      if (m.watched && !m.address.id().equals(from)) {
        out.send(m.address.id(), alive);
      }
    }
  }

  private Envelope aliveMessage() {
    return Envelope.newBuilder().setAlive(Alive.newBuilder()
        .setNodeId(selfBytes).setIncarnation(incarnation)).build();
  }

  private Envelope suspectMessage(Member m) {
    return Envelope.newBuilder().setSuspect(Suspect.newBuilder()
        .setNodeId(ByteString.copyFrom(m.address.id().toBytes()))
        .setIncarnation(m.incarnation)).build();
  }

  /**
   * News from a neighbour that a third party is suspect or dead. It never starts a suspicion
   * or changes the subject's incarnation: it brings this node's own next probe of the subject
   * forward, or confirms a suspicion that this node's own probe started.
   */
  private void hearsay(long now, NodeId from, NodeId node, long inc) {
    if (!isWatched(from) || node.equals(from)) {
      return;
    }
    Member m = members.get(node);
    if (m == null || Long.compareUnsigned(inc, m.incarnation) < 0) {
      return;
    }
    if (m.state == MemberState.SUSPECT) {
      m.suspicion.confirm(from);
    } else if (m.watched && m.phase == Phase.IDLE && now >= m.nextHearsayProbe) {
      m.nextHearsayProbe = now + config.probeIntervalMillis();
      m.nextProbeAt = Math.min(m.nextProbeAt, now);
    }
  }

  // ---- time ----

  /**
   * The earliest time at which {@link #tick} has work (a probe round, a probe timeout, a
   * relay's Nack, a suspicion to resend or to expire), or {@link Long#MAX_VALUE} when nothing
   * is pending. Exact: a tick before it does nothing.
   */
  public long nextDeadline() {
    long next = Long.MAX_VALUE;
    for (Relay r : relays.values()) {
      next = Math.min(next, r.deadline());
    }
    for (Member m : members.values()) {
      if (m.state == MemberState.SUSPECT) {
        next = Math.min(next, Math.min(m.suspicion.deadline(awareness), m.nextSuspectResend));
      }
      if (m.watched) {
        next = Math.min(next, switch (m.phase) {
          case IDLE -> m.nextProbeAt;
          case DIRECT -> m.timeoutAt;
          case INDIRECT -> m.periodEnd;
        });
      }
    }
    return next;
  }

  /** Sends due probes, escalates timeouts, and turns expired suspicions into deaths. */
  public void tick(long now, Outbox out) {
    for (Iterator<Map.Entry<Integer, Relay>> it = relays.entrySet().iterator(); it.hasNext(); ) {
      Relay r = it.next().getValue();
      if (r.deadline() <= now) {
        it.remove();
        out.send(r.requester(), Envelope.newBuilder()
            .setNack(Nack.newBuilder().setSeq(r.requesterSeq())).build());
      }
    }
    List<Member> expired = null;
    for (Member m : members.values()) {
      if (m.state == MemberState.SUSPECT) {
        if (now >= m.suspicion.deadline(awareness)) {
          if (expired == null) {
            expired = new ArrayList<>(2);
          }
          expired.add(m);
          continue;
        }
        if (now >= m.nextSuspectResend) {
          // The suspect may have missed our Suspect or we its Alive: ask again each period,
          // so a lost message cannot turn a live peer into a dead one.
          m.nextSuspectResend = now + config.probeIntervalMillis();
          out.send(m.address.id(), suspectMessage(m));
        }
      }
      if (!m.watched) {
        continue;
      }
      switch (m.phase) {
        case IDLE -> {
          if (now >= m.nextProbeAt) {
            m.seq = nextSeq++;
            probes.put(m.seq, m.address.id());
            m.phase = Phase.DIRECT;
            m.sentAt = now;
            m.timeoutAt = now + awareness.scale(config.probeTimeoutMillis());
            m.periodEnd = now + awareness.scale(config.probeIntervalMillis());
            out.send(m.address.id(), Envelope.newBuilder()
                .setPing(Ping.newBuilder().setSeq(m.seq).setNeighbor(true)).build());
          }
        }
        case DIRECT -> {
          if (now >= m.timeoutAt) {
            List<Member> helpers = helpers(m);
            Envelope req = Envelope.newBuilder().setPingReq(PingReq.newBuilder()
                .setSeq(m.seq).setTarget(m.address.toProto())).build();
            List<NodeId> asked = new ArrayList<>(helpers.size());
            for (Member h : helpers) {
              out.send(h.address.id(), req);
              asked.add(h.address.id());
            }
            m.helpers = asked;
            m.nackers.clear();
            // A second direct try alongside the indirect ones, as memberlist's fallback ping
            // does: under independent loss it cuts false suspicions by the loss rate again.
            out.send(m.address.id(), Envelope.newBuilder()
                .setPing(Ping.newBuilder().setSeq(m.seq).setNeighbor(true)).build());
            m.nacksExpected = helpers.size();
            m.nacksReceived = 0;
            m.phase = Phase.INDIRECT;
            m.periodEnd = Math.max(m.periodEnd,
                now + awareness.scale(config.indirectWindowMillis()));
          }
        }
        case INDIRECT -> {
          if (now >= m.periodEnd) {
            probes.remove(m.seq);
            m.phase = Phase.IDLE;
            m.nextProbeAt = roundAtOrAfter(now + 1);
            int missed = m.nacksExpected == 0 ? 1 : m.nacksExpected - m.nacksReceived;
            awareness.apply(missed);
            if (m.state == MemberState.ALIVE) {
              startSuspicion(now, m, self, out, true);
            }
          }
        }
        default -> throw new IllegalStateException("unknown probe phase " + m.phase);
      }
    }
    if (expired != null) {
      for (Member m : expired) {
        declareDead(m, out);
      }
    }
  }

  private List<Member> helpers(Member target) {
    List<Member> candidates = new ArrayList<>();
    for (Member h : members.values()) {
      if (h != target && h.watched && h.state == MemberState.ALIVE) {
        candidates.add(h);
      }
    }
    int k = Math.min(config.indirectProbes(), candidates.size());
    for (int i = 0; i < k; i++) {
      Collections.swap(candidates, i, i + random.nextInt(candidates.size() - i));
    }
    return candidates.subList(0, k);
  }

  private void startSuspicion(long now, Member m, NodeId by, Outbox out, boolean tell) {
    m.state = MemberState.SUSPECT;
    int others = 0;
    for (Member w : members.values()) {
      if (w.watched && w != m) {
        others++;
      }
    }
    int k = Math.max(1, Math.min(config.suspicionConfirmations(), others));
    m.suspicion = new Suspicion(now, config.suspicionMinMillis(), config.suspicionMaxMillis(), k,
        by);
    m.nextSuspectResend = now + config.probeIntervalMillis();
    suspicions++;
    out.report(new OverlayEvent.Suspected(m.address.id(), m.incarnation));
    if (tell) {
      Envelope e = suspectMessage(m);
      out.send(m.address.id(), e);
      for (Member w : members.values()) {
        if (w.watched && w != m) {
          out.send(w.address.id(), e);
        }
      }
    }
  }

  private void declareDead(Member m, Outbox out) {
    members.remove(m.address.id());
    if (m.phase != Phase.IDLE) {
      probes.remove(m.seq);
    }
    m.state = MemberState.DEAD;
    deaths++;
    out.report(new OverlayEvent.Dead(m.address.id(), m.incarnation));
    Envelope e = Envelope.newBuilder().setDead(Dead.newBuilder()
        .setNodeId(ByteString.copyFrom(m.address.id().toBytes()))
        .setIncarnation(m.incarnation)).build();
    for (Member w : members.values()) {
      if (w.watched) {
        out.send(w.address.id(), e);
      }
    }
  }

  // ---- state ----

  /** This node's incarnation number (raised to refute suspicions). */
  public long incarnation() {
    return incarnation;
  }

  public Awareness awareness() {
    return awareness;
  }

  /** The state of a known peer, or null if it is not tracked. */
  public MemberState state(NodeId peer) {
    Member m = members.get(peer);
    return m == null ? null : m.state;
  }

  /**
   * The smoothed round-trip time to a watched peer, or null before its first direct Ack (or
   * once it is no longer watched: RTT is kept only for the active view).
   */
  public Rtt rtt(NodeId peer) {
    Member m = members.get(peer);
    return m == null || Double.isNaN(m.srtt) ? null : new Rtt(m.srtt, m.rttvar);
  }

  public long suspicions() {
    return suspicions;
  }

  public long deaths() {
    return deaths;
  }

  public long refutations() {
    return refutations;
  }
}
