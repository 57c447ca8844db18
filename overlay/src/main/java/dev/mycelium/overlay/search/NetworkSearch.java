package dev.mycelium.overlay.search;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Search across the network, as a pure state machine: matching requests to responses,
 * forwarding within a hop limit, dropping requests already seen, and bounding every wait.
 *
 * <p>Why a bounded flood rather than a routed lookup: fragments are placed by owner, not by
 * meaning, so no node can say where the nearest neighbours of a query live. Asking every node
 * within a few hops, as Gnutella-style unstructured overlays do (Lv, Cao, Cohen, Li, Shenker,
 * "Search and replication in unstructured peer-to-peer networks", ICS 2002), is what an
 * overlay without semantic placement can offer; the hop limit and the deadline bound its cost
 * and its latency. Each request carries an ID chosen by its origin, so a node reached twice
 * answers the second time at once with "duplicate" (the asker stops waiting for it) and the
 * flood visits each node once.
 *
 * <p>Deadlines: the origin waits its budget B. A node asked with {@code h} hops left waits at
 * most {@code B (h - 1) / h} for its own neighbours and then answers with what it has, so each
 * level leaves the level above time for the answer to travel back; a node at the last hop
 * answers as soon as its local search is done. Budgets are relative (milliseconds from
 * receipt), so nodes need no common clock.
 *
 * <p>Like the overlay cores, it never reads a clock, starts a thread or touches a store: the
 * driver passes {@code now} in, runs the local searches it asks for (the {@link
 * Action.SearchLocally} action) and reports their results back. Not thread-safe.
 */
public final class NetworkSearch {
  /** Bytes in a request ID. */
  public static final int REQUEST_ID_LENGTH = 16;

  /** Bytes in a node ID. */
  private static final int NODE_ID_LENGTH = 32;

  /** Score points a peer loses for a malformed search message. */
  public static final double MALFORMED_PENALTY = 5.0;

  /** Largest answer a node sends, so that it stays well inside a peer frame (4 MiB). */
  public static final int MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

  /**
   * Limits of the core. A peer's request is clamped to the peer limits before this node spends
   * anything on it, so one request costs at most {@code maxFanout} forwards, {@code maxPeerK}
   * hits and {@code maxPeerBudgetMillis} of waiting, whatever it asked for.
   *
   * @param maxHops the most hops this node forwards a request over (a larger hops_left is cut)
   * @param maxK the most hits a request may ask for (more is malformed)
   * @param maxBudgetMillis the longest this node's own search may wait
   * @param dedupWindow request IDs remembered to drop duplicates
   * @param maxPending requests in progress at once; more are dropped (the asker times out)
   * @param maxPeerK a peer's k is cut to this
   * @param maxPeerBudgetMillis a peer's budget is cut to this
   * @param maxFanout most neighbours a peer's request is forwarded to (a random choice)
   * @param requestsPerSecond requests a peer may send per second, on average
   * @param requestBurst requests a peer may send at once after a quiet spell
   * @param maxPendingBytes bytes of hits held for all searches in progress together
   */
  public record Limits(int maxHops, int maxK, long maxBudgetMillis, int dedupWindow,
      int maxPending, int maxPeerK, long maxPeerBudgetMillis, int maxFanout,
      double requestsPerSecond, int requestBurst, long maxPendingBytes) {
    public Limits {
      if (maxHops < 1 || maxK < 1 || maxBudgetMillis < 1 || dedupWindow < 1 || maxPending < 1
          || maxPeerK < 1 || maxPeerBudgetMillis < 1 || maxFanout < 1 || requestBurst < 1
          || maxPendingBytes < 1 || !(requestsPerSecond > 0)) {
        throw new IllegalArgumentException("every network search limit must be at least 1: "
            + "maxHops=" + maxHops + ", maxK=" + maxK + ", maxBudgetMillis=" + maxBudgetMillis
            + ", dedupWindow=" + dedupWindow + ", maxPending=" + maxPending
            + ", maxPeerK=" + maxPeerK + ", maxPeerBudgetMillis=" + maxPeerBudgetMillis
            + ", maxFanout=" + maxFanout + ", requestsPerSecond=" + requestsPerSecond
            + ", requestBurst=" + requestBurst + ", maxPendingBytes=" + maxPendingBytes);
      }
    }

    /**
     * The given core limits with the default peer limits. The request rate is per peer and must
     * carry an honest neighbour's forwarding plus its own user's agents, which search in bursts
     * (30 searches in a second is an ordinary agent loop); what a request may cost is bounded
     * apart from the rate, by {@code maxPending} and {@code maxPendingBytes}.
     */
    public Limits(int maxHops, int maxK, long maxBudgetMillis, int dedupWindow, int maxPending) {
      this(maxHops, maxK, maxBudgetMillis, dedupWindow, maxPending, Math.min(maxK, 100),
          Math.min(maxBudgetMillis, 5_000), 16, 50, 100, 16L << 20);
    }

    /** Limits for a node that forwards at most {@code maxHops}. */
    public static Limits defaults(int maxHops) {
      return new Limits(maxHops, 1000, 30_000, 4096, 256);
    }
  }

  /** Peers whose request rate is tracked; the least recently heard is forgotten first. */
  static final int MAX_TRACKED_PEERS = 1024;

  /** Most nodes one answer may report as unanswered that this node keeps per search. */
  static final int MAX_UNANSWERED = 1024;

  /** What the core asks its driver to do. */
  public sealed interface Action {
    /** Send a message to a peer. */
    record Send(NodeId to, Envelope envelope) implements Action {}

    /**
     * Search this node's shared fragments for a peer's request, then call {@link
     * #onLocalResult} with the request ID.
     */
    record SearchLocally(ByteString requestId, NetworkSearchRequest request) implements Action {}

    /** A search this node started is over: every neighbour answered or the deadline passed. */
    record Completed(ByteString requestId, Outcome outcome) implements Action {}

    /** A peer sent a malformed search message: lower its score. */
    record Penalize(NodeId peer, double points, String why) implements Action {}
  }

  /**
   * One hit of a finished search, with the neighbour it came through (the peer to blame if it
   * does not check).
   */
  public record Hit(NetworkSearchHit hit, NodeId via) {}

  /**
   * The end of a search this node started.
   *
   * @param hits the best hits from other nodes, deduplicated by fragment, best first
   * @param asked the neighbours asked
   * @param answered the neighbours that answered (a "duplicate" answer counts)
   * @param unanswered nodes that did not answer in time: neighbours, and nodes further out
   *     that neighbours reported
   * @param complete whether every neighbour answered before the deadline
   */
  public record Outcome(List<Hit> hits, List<NodeId> asked, List<NodeId> answered,
      List<NodeId> unanswered, boolean complete) {}

  /** The driver's view of a search it starts. */
  public record Started(ByteString requestId, List<Action> actions) {}

  private static final class Pending {
    final ByteString id;
    final NodeId replyTo; // null: this node's own search
    final int k;
    final long deadline;
    final Set<NodeId> asked = new LinkedHashSet<>();
    final Set<NodeId> answered = new LinkedHashSet<>();
    final Set<NodeId> unanswered = new LinkedHashSet<>();
    final Map<ByteString, Hit> hits = new HashMap<>();
    long bytes;
    boolean localDone;

    Pending(ByteString id, NodeId replyTo, int k, long deadline) {
      this.id = id;
      this.replyTo = replyTo;
      this.k = k;
      this.deadline = deadline;
    }

    boolean done() {
      return localDone && answered.containsAll(asked);
    }
  }

  private final NodeId self;
  private final ByteString selfBytes;
  private final Limits limits;
  private final RandomGenerator random;
  private final Map<ByteString, Pending> pending = new LinkedHashMap<>();
  private final LinkedHashMap<ByteString, Boolean> seen = new LinkedHashMap<>();
  // Token buckets per peer, in access order so that the quietest peer is forgotten first.
  private final LinkedHashMap<NodeId, double[]> buckets = new LinkedHashMap<>(16, 0.75f, true);
  private long pendingBytes;
  private long rateLimited;

  private long requestsServed;
  private long duplicates;
  private long forwarded;
  private long stray;
  private long malformed;
  private long overloaded;

  public NetworkSearch(NodeId self, Limits limits, RandomGenerator random) {
    this.self = Objects.requireNonNull(self, "self");
    this.selfBytes = ByteString.copyFrom(self.toBytes());
    this.limits = Objects.requireNonNull(limits, "limits");
    this.random = Objects.requireNonNull(random, "random generator");
  }

  /**
   * Starts a search of this node's neighbours. The driver searches its own store itself; the
   * outcome holds only other nodes' hits.
   *
   * @param query the query: vector, k and filter (ID, origin, hops and budget are set here)
   * @param hops how far the request travels, 1 for the neighbours only
   * @param budgetMillis how long to wait for answers
   * @param neighbours the peers to ask (the active view)
   */
  public Started start(long now, NetworkSearchRequest query, int hops, long budgetMillis,
      List<NodeId> neighbours) {
    if (hops < 1 || hops > limits.maxHops()) {
      throw new IllegalArgumentException("hops must be from 1 to " + limits.maxHops()
          + ", got " + hops);
    }
    if (budgetMillis < 1 || budgetMillis > limits.maxBudgetMillis()) {
      throw new IllegalArgumentException("the budget must be from 1 to "
          + limits.maxBudgetMillis() + " ms, got " + budgetMillis);
    }
    if (query.getK() < 1 || query.getK() > limits.maxK()) {
      throw new IllegalArgumentException("k must be from 1 to " + limits.maxK() + ", got "
          + query.getK());
    }
    byte[] idBytes = new byte[REQUEST_ID_LENGTH];
    random.nextBytes(idBytes);
    ByteString id = ByteString.copyFrom(idBytes);
    remember(id);
    Pending p = new Pending(id, null, query.getK(), now + budgetMillis);
    p.localDone = true;
    NetworkSearchRequest out = query.toBuilder().setRequestId(id).setOrigin(selfBytes)
        .setHopsLeft(hops).setBudgetMillis((int) budgetMillis).build();
    List<Action> actions = new ArrayList<>();
    for (NodeId n : neighbours) {
      if (!n.equals(self) && p.asked.add(n)) {
        actions.add(new Action.Send(n, Envelope.newBuilder().setSearchRequest(out).build()));
      }
    }
    pending.put(id, p);
    finishIfDone(p, now, actions);
    return new Started(id, actions);
  }

  /** A peer's request: answer it, forwarding it while hops remain. */
  public List<Action> onRequest(long now, NodeId from, NetworkSearchRequest req,
      List<NodeId> neighbours) {
    List<Action> actions = new ArrayList<>();
    String bad = check(req);
    if (bad != null) {
      malformed++;
      actions.add(new Action.Penalize(from, MALFORMED_PENALTY, "malformed search request: "
          + bad));
      return actions;
    }
    if (!admit(now, from)) {
      rateLimited++;
      return actions; // over its rate: dropped, the asker times out
    }
    ByteString id = req.getRequestId();
    if (seen.containsKey(id)) {
      duplicates++;
      actions.add(new Action.Send(from, Envelope.newBuilder().setSearchResponse(
          NetworkSearchResponse.newBuilder().setRequestId(id).setDuplicate(true)).build()));
      return actions;
    }
    if (pending.size() >= limits.maxPending()) {
      overloaded++;
      return actions;
    }
    remember(id);
    requestsServed++;
    int hops = Math.min(req.getHopsLeft(), limits.maxHops());
    long budget = Math.min(req.getBudgetMillis(), limits.maxPeerBudgetMillis());
    int k = Math.min(req.getK(), limits.maxPeerK());
    long wait = budget * (hops - 1) / hops;
    // At the last hop the only wait is for the local search; give it the whole budget.
    Pending p = new Pending(id, from, k, now + (hops > 1 ? wait : budget));
    pending.put(id, p);
    NetworkSearchRequest clamped = req.toBuilder().setK(k).setHopsLeft(hops)
        .setBudgetMillis((int) budget).build();
    actions.add(new Action.SearchLocally(id, clamped));
    if (hops > 1 && wait > 0) {
      NodeId origin = NodeId.of(req.getOrigin().toByteArray());
      NetworkSearchRequest fwd = clamped.toBuilder().setHopsLeft(hops - 1)
          .setBudgetMillis((int) wait).build();
      List<NodeId> targets = new ArrayList<>();
      for (NodeId n : neighbours) {
        if (!n.equals(from) && !n.equals(origin) && !n.equals(self) && !targets.contains(n)) {
          targets.add(n);
        }
      }
      // A random choice of at most maxFanout, so that one request cannot make this node
      // speak to every neighbour it has.
      for (int i = 0; i < targets.size() && i < limits.maxFanout(); i++) {
        int j = i + random.nextInt(targets.size() - i);
        NodeId t = targets.get(j);
        targets.set(j, targets.get(i));
        targets.set(i, t);
        p.asked.add(t);
        forwarded++;
        actions.add(new Action.Send(t, Envelope.newBuilder().setSearchRequest(fwd).build()));
      }
    }
    return actions;
  }

  /**
   * The driver's local search for a peer's request is done.
   *
   * @param hits this node's shared hits (node set to this node)
   */
  public List<Action> onLocalResult(long now, ByteString requestId, List<NetworkSearchHit> hits) {
    List<Action> actions = new ArrayList<>();
    Pending p = pending.get(requestId);
    if (p == null || p.replyTo == null) {
      return actions;
    }
    for (NetworkSearchHit h : hits) {
      merge(p, new Hit(h, self));
    }
    p.localDone = true;
    finishIfDone(p, now, actions);
    return actions;
  }

  /** A peer's answer to a request this node sent. */
  public List<Action> onResponse(long now, NodeId from, NetworkSearchResponse resp) {
    List<Action> actions = new ArrayList<>();
    Pending p = pending.get(resp.getRequestId());
    if (p == null || !p.asked.contains(from) || p.answered.contains(from)) {
      // Late (the deadline passed), unasked or repeated: nothing waits for it.
      stray++;
      return actions;
    }
    p.answered.add(from);
    int considered = 0;
    for (NetworkSearchHit h : resp.getHitsList()) {
      if (++considered > p.k) {
        break; // more than was asked for: the rest is not even looked at
      }
      if (h.getNode().size() != NODE_ID_LENGTH || !h.hasFragment()) {
        malformed++;
        actions.add(new Action.Penalize(from, MALFORMED_PENALTY,
            "malformed search hit: a hit needs a fragment and a 32-byte node ID"));
        continue;
      }
      merge(p, new Hit(h, from));
    }
    for (ByteString u : resp.getUnansweredList()) {
      if (p.unanswered.size() >= MAX_UNANSWERED) {
        break;
      }
      if (u.size() == NODE_ID_LENGTH) {
        p.unanswered.add(NodeId.of(u.toByteArray()));
      }
    }
    finishIfDone(p, now, actions);
    return actions;
  }

  /** Ends every search whose deadline has passed, with what it has. */
  public List<Action> tick(long now) {
    List<Action> actions = new ArrayList<>();
    List<Pending> due = new ArrayList<>();
    for (Pending p : pending.values()) {
      if (p.deadline <= now) {
        due.add(p);
      }
    }
    for (Pending p : due) {
      finish(p, actions);
    }
    return actions;
  }

  /** The earliest deadline of a search in progress, or {@code Long.MAX_VALUE} when none. */
  public long nextDeadline() {
    long next = Long.MAX_VALUE;
    for (Pending p : pending.values()) {
      next = Math.min(next, p.deadline);
    }
    return next;
  }

  private String check(NetworkSearchRequest req) {
    if (req.getRequestId().size() != REQUEST_ID_LENGTH) {
      return "the request ID must be " + REQUEST_ID_LENGTH + " bytes";
    }
    if (req.getOrigin().size() != NODE_ID_LENGTH) {
      return "the origin must be a 32-byte node ID";
    }
    if (req.getVectorCount() == 0) {
      return "the query vector is empty";
    }
    if (req.getK() < 1 || req.getK() > limits.maxK()) {
      return "k must be from 1 to " + limits.maxK() + ", got " + req.getK();
    }
    if (req.getHopsLeft() < 1) {
      return "hops_left must be at least 1";
    }
    if (req.getBudgetMillis() < 1) {
      return "budget_millis must be at least 1";
    }
    return null;
  }

  /**
   * Keeps a hit if it is better than what the search has, within the byte budget of all
   * searches; a search never keeps more than twice its k (the worst are let go).
   */
  private void merge(Pending p, Hit h) {
    ByteString key = fragmentKey(h.hit());
    Hit old = p.hits.get(key);
    if (old != null && h.hit().getScore() <= old.hit().getScore()) {
      return;
    }
    long size = h.hit().getSerializedSize();
    long freed = old == null ? 0 : old.hit().getSerializedSize();
    if (pendingBytes - freed + size > limits.maxPendingBytes()) {
      return;
    }
    p.hits.put(key, h);
    p.bytes += size - freed;
    pendingBytes += size - freed;
    if (p.hits.size() > 2 * p.k) {
      List<Map.Entry<ByteString, Hit>> ranked = new ArrayList<>(p.hits.entrySet());
      ranked.sort(Comparator.comparingDouble(e -> -e.getValue().hit().getScore()));
      for (Map.Entry<ByteString, Hit> e : ranked.subList(p.k, ranked.size())) {
        p.hits.remove(e.getKey());
        long s = e.getValue().hit().getSerializedSize();
        p.bytes -= s;
        pendingBytes -= s;
      }
    }
  }

  /** Takes a token from the peer's bucket, refilled at requestsPerSecond up to the burst. */
  private boolean admit(long now, NodeId peer) {
    double[] b = buckets.get(peer);
    if (b == null) {
      if (buckets.size() >= MAX_TRACKED_PEERS) {
        Iterator<NodeId> it = buckets.keySet().iterator();
        it.next();
        it.remove();
      }
      b = new double[] {limits.requestBurst(), now};
      buckets.put(peer, b);
    }
    double elapsed = Math.max(0, now - b[1]);
    b[0] = Math.min(limits.requestBurst(), b[0] + elapsed * limits.requestsPerSecond() / 1000.0);
    b[1] = now;
    if (b[0] < 1) {
      return false;
    }
    b[0] -= 1;
    return true;
  }

  private void finishIfDone(Pending p, long now, List<Action> actions) {
    if (p.done() || p.deadline <= now) {
      finish(p, actions);
    }
  }

  private void finish(Pending p, List<Action> actions) {
    pending.remove(p.id);
    pendingBytes -= p.bytes;
    List<NodeId> missing = new ArrayList<>();
    for (NodeId n : p.asked) {
      if (!p.answered.contains(n)) {
        missing.add(n);
      }
    }
    Set<NodeId> unanswered = new LinkedHashSet<>(missing);
    unanswered.addAll(p.unanswered);
    // Best first; equal scores in fragment ID order, so every run ranks alike.
    List<Map.Entry<ByteString, Hit>> ranked = new ArrayList<>(p.hits.entrySet());
    ranked.sort(Comparator
        .comparingDouble((Map.Entry<ByteString, Hit> e) -> -e.getValue().hit().getScore())
        .thenComparing(Map.Entry::getKey, ByteString.unsignedLexicographicalComparator()));
    List<Hit> best = new ArrayList<>(Math.min(p.k, ranked.size()));
    for (int i = 0; i < ranked.size() && i < p.k; i++) {
      best.add(ranked.get(i).getValue());
    }
    if (p.replyTo == null) {
      actions.add(new Action.Completed(p.id, new Outcome(List.copyOf(best),
          List.copyOf(p.asked), List.copyOf(p.answered), List.copyOf(unanswered),
          missing.isEmpty())));
      return;
    }
    NetworkSearchResponse.Builder r = NetworkSearchResponse.newBuilder().setRequestId(p.id);
    int bytes = 0;
    for (Hit h : best) {
      int size = h.hit().getSerializedSize() + 8;
      if (bytes + size > MAX_RESPONSE_BYTES) {
        break;
      }
      bytes += size;
      r.addHits(h.hit());
    }
    for (NodeId n : unanswered) {
      r.addUnanswered(ByteString.copyFrom(n.toBytes()));
    }
    actions.add(new Action.Send(p.replyTo, Envelope.newBuilder().setSearchResponse(r).build()));
  }

  private void remember(ByteString id) {
    seen.put(id, Boolean.TRUE);
    if (seen.size() > limits.dedupWindow()) {
      Iterator<ByteString> it = seen.keySet().iterator();
      it.next();
      it.remove();
    }
  }

  /** The fragment ID of a hit: the SHA-256 of its canonical body bytes. */
  static ByteString fragmentKey(NetworkSearchHit h) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      return ByteString.copyFrom(sha.digest(h.getFragment().getBody().toByteArray()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  // ---- state, for metrics and tests ----

  /** Searches in progress (this node's and peers'). */
  public int inProgress() {
    return pending.size();
  }

  /** Peers' requests this node answered (duplicates excluded). */
  public long requestsServed() {
    return requestsServed;
  }

  /** Requests seen a second time and answered "duplicate". */
  public long duplicates() {
    return duplicates;
  }

  /** Requests forwarded to neighbours on a peer's behalf. */
  public long forwarded() {
    return forwarded;
  }

  /** Answers nobody was waiting for (late, unasked or repeated). */
  public long stray() {
    return stray;
  }

  /** Malformed requests and hits. */
  public long malformed() {
    return malformed;
  }

  /** Requests dropped because their peer sent more than its rate allows. */
  public long rateLimited() {
    return rateLimited;
  }

  /** Bytes of hits held for the searches in progress. */
  public long pendingBytes() {
    return pendingBytes;
  }

  /** Requests dropped because too many were in progress. */
  public long overloaded() {
    return overloaded;
  }
}
