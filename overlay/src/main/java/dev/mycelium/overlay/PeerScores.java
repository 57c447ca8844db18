package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A score per peer that falls with misbehaviour and recovers slowly with time; below a threshold
 * the peer is banned for a while. Honest peers lose a point now and then (a lost probe) and
 * recover; a peer that sends garbage, forged broadcasts or floods falls through the threshold
 * within a few messages, so one bad peer cannot wear the others down. The idea follows the peer
 * scoring of libp2p gossipsub v1.1, reduced to the penalties Mycelium can observe.
 *
 * <p>The table is bounded ({@link #MAX_TRACKED} peers), and identities cost nothing, so what
 * it forgets when full matters: a newcomer displaces the oldest peer with a clean record,
 * never an offender while a clean record is left, and among offenders the least bad. A flood
 * of fresh identities therefore cannot wash out a bad record. A peer banned before is banned
 * for twice as long each time (up to {@link #MAX_BAN_DOUBLINGS} doublings).
 */
public final class PeerScores {
  /** Score penalties, in points. */
  public static final double MALFORMED = 20;
  public static final double BAD_SIGNATURE = 25;
  public static final double FLOOD = 2;
  public static final double FAILED_PROBE = 2;

  /**
   * Bytes a peer may send per second, on average. Re-replication to a new holder is the
   * heaviest honest stream: {@code replication.stream-per-tick} replicas a tick, 10,000 a
   * second by default, 16 to 30 MB/s at 1.6 to 3 KB each. The budget leaves that room twice
   * over: a stream refused here is dropped, costs the owner score and is sent again, so a
   * budget under the stream's pace (8 MiB/s was) cuts an honest re-replication short.
   * Memory is bounded by the transport's read backpressure, not by this budget.
   */
  public static final double PEER_BYTES_PER_SECOND = 64 << 20;

  /** Bytes a peer may send at once after a quiet spell. */
  public static final double PEER_BYTE_BURST = 64 << 20;

  /** Peers whose scores are kept at once. */
  public static final int MAX_TRACKED = 4096;

  /** A repeat offender's ban doubles with each ban, at most this many times. */
  public static final int MAX_BAN_DOUBLINGS = 4;

  private final OverlayConfig config;
  private final Map<NodeId, Entry> peers = new LinkedHashMap<>();
  private long bans;

  private static final class Entry {
    double score;
    long updated;
    long bannedUntil = Long.MIN_VALUE;
    int bans;
    TokenBucket bucket;
    TokenBucket bytes;

    boolean clean(long now) {
      return bans == 0 && score >= 0 && bannedUntil <= now;
    }
  }

  public PeerScores(OverlayConfig config) {
    this.config = config;
  }

  private Entry entry(long now, NodeId peer) {
    return entry(now, now, peer);
  }

  /** The peer's entry; a new one's token buckets start their clocks at {@code bucketClock}. */
  private Entry entry(long now, long bucketClock, NodeId peer) {
    Entry e = peers.get(peer);
    if (e == null) {
      if (peers.size() >= MAX_TRACKED) {
        evictOne(now);
      }
      e = new Entry();
      e.updated = now;
      e.bucket = new TokenBucket(config.peerMessagesPerSecond(), config.peerBurst(),
          bucketClock);
      e.bytes = new TokenBucket(PEER_BYTES_PER_SECOND, PEER_BYTE_BURST, bucketClock);
      peers.put(peer, e);
    } else if (now > e.updated) {
      double recovered = (now - e.updated) / 1000.0 * config.scoreRecoveryPerSecond();
      e.score = Math.min(0, e.score + recovered);
      e.updated = now;
    }
    return e;
  }

  /**
   * Forgets one peer to make room: the oldest clean record if there is one, else the least bad
   * offender (not banned before banned, then the highest score, then the fewest bans).
   */
  private void evictOne(long now) {
    NodeId victim = null;
    Entry worstKept = null;
    for (Map.Entry<NodeId, Entry> en : peers.entrySet()) {
      Entry e = en.getValue();
      if (e.clean(now)) {
        victim = en.getKey();
        break;
      }
      if (worstKept == null || lessBad(now, e, worstKept)) {
        worstKept = e;
        victim = en.getKey();
      }
    }
    if (victim != null) {
      peers.remove(victim);
    }
  }

  private boolean lessBad(long now, Entry a, Entry b) {
    boolean aBanned = a.bannedUntil > now;
    boolean bBanned = b.bannedUntil > now;
    if (aBanned != bBanned) {
      return !aBanned;
    }
    if (a.score != b.score) {
      return a.score > b.score;
    }
    return a.bans < b.bans;
  }

  /**
   * Admits one message of {@code bytes} bytes from a peer against both its buckets: messages
   * and bytes, since a peer within its message rate can still send 4 MiB frames at it. A
   * message over either bucket costs points and should be dropped.
   */
  public boolean admit(long now, NodeId peer, long bytes, Outbox out) {
    return admit(now, now, peer, bytes, out);
  }

  /**
   * As {@link #admit(long, NodeId, long, Outbox)}, for a message that arrived at {@code
   * arrived} and was taken up at {@code now}: the buckets count it at its arrival (never later
   * than now), so that messages which queued while the node was busy are judged by the rate at
   * which the peer sent them. The buckets' clocks never go back: an arrival before the last
   * one counted refills nothing.
   */
  public boolean admit(long now, long arrived, NodeId peer, long bytes, Outbox out) {
    long at = Math.min(arrived, now);
    Entry e = entry(now, at, peer);
    if (e.bucket.tryTake(at) && (bytes <= 0 || e.bytes.tryTake(at, bytes))) {
      return true;
    }
    penalize(now, peer, e, FLOOD, bytes > 0 && e.bytes.available(at) < bytes
        ? "flood of bytes" : "flood", out);
    return false;
  }

  public boolean isBanned(long now, NodeId peer) {
    Entry e = peers.get(peer);
    return e != null && e.bannedUntil > now;
  }

  /** Lowers a peer's score; returns true if this made it banned. */
  public boolean penalize(long now, NodeId peer, double points, String reason, Outbox out) {
    return penalize(now, peer, entry(now, peer), points, reason, out);
  }

  private boolean penalize(long now, NodeId peer, Entry e, double points, String reason,
      Outbox out) {
    e.score -= points;
    if (e.score < config.banThreshold() && e.bannedUntil <= now) {
      long duration = config.banDurationMillis() << Math.min(e.bans, MAX_BAN_DOUBLINGS);
      e.bans++;
      e.bannedUntil = now + duration;
      e.score = 0;
      bans++;
      out.report(new OverlayEvent.Banned(peer, e.bannedUntil, reason));
      return true;
    }
    return false;
  }

  /** The current score (0 is neutral, negative is worse). */
  public double score(long now, NodeId peer) {
    return peers.containsKey(peer) ? entry(now, peer).score : 0;
  }

  /** Peers whose records are kept. */
  public int tracked() {
    return peers.size();
  }

  /** Bans since this node started. */
  public long bans() {
    return bans;
  }
}
