package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A score per peer that falls with misbehaviour and recovers slowly with time; below a threshold
 * the peer is banned for a while. Honest peers lose a point now and then (a lost probe) and
 * recover; a peer that sends garbage, forged broadcasts or floods falls through the threshold
 * within a few messages, so one bad peer cannot wear the others down. The idea follows the peer
 * scoring of libp2p gossipsub v1.1, reduced to the penalties Mycelium can observe.
 */
public final class PeerScores {
  /** Score penalties, in points. */
  public static final double MALFORMED = 20;
  public static final double BAD_SIGNATURE = 25;
  public static final double FLOOD = 2;
  public static final double FAILED_PROBE = 2;

  static final int MAX_TRACKED = 4096;

  private final OverlayConfig config;
  private final Map<NodeId, Entry> peers = new LinkedHashMap<>();
  private long bans;

  private static final class Entry {
    double score;
    long updated;
    long bannedUntil = Long.MIN_VALUE;
    TokenBucket bucket;
  }

  public PeerScores(OverlayConfig config) {
    this.config = config;
  }

  private Entry entry(long now, NodeId peer) {
    Entry e = peers.get(peer);
    if (e == null) {
      e = new Entry();
      e.updated = now;
      e.bucket = new TokenBucket(config.peerMessagesPerSecond(), config.peerBurst(), now);
      peers.put(peer, e);
      if (peers.size() > MAX_TRACKED) {
        evictOne(now, peer);
      }
    } else if (now > e.updated) {
      double recovered = (now - e.updated) / 1000.0 * config.scoreRecoveryPerSecond();
      e.score = Math.min(0, e.score + recovered);
      e.updated = now;
    }
    return e;
  }

  /**
   * Forgets one record other than the one just added: a neutral one if any (oldest first),
   * else the least penalized one not banned, else the ban that ends first. Why this order:
   * identities are free, so a flood of new ones must not push out the record of an offender.
   */
  private void evictOne(long now, NodeId keep) {
    NodeId victim = null;
    Entry best = null;
    for (Iterator<Map.Entry<NodeId, Entry>> it = peers.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<NodeId, Entry> me = it.next();
      Entry e = me.getValue();
      if (me.getKey().equals(keep)) {
        continue;
      }
      boolean banned = e.bannedUntil > now;
      if (!banned && e.score >= 0) {
        it.remove();
        return;
      }
      if (best == null || forgetFirst(e, best, now)) {
        best = e;
        victim = me.getKey();
      }
    }
    if (victim != null) {
      peers.remove(victim);
    }
  }

  private static boolean forgetFirst(Entry a, Entry b, long now) {
    boolean aBanned = a.bannedUntil > now;
    boolean bBanned = b.bannedUntil > now;
    if (aBanned != bBanned) {
      return !aBanned;
    }
    return aBanned ? a.bannedUntil < b.bannedUntil : a.score > b.score;
  }

  /**
   * Admits one message from a peer against its token bucket. A message over the bucket costs
   * points and should be dropped.
   */
  public boolean admit(long now, NodeId peer, Outbox out) {
    Entry e = entry(now, peer);
    if (e.bucket.tryTake(now)) {
      return true;
    }
    penalize(now, peer, e, FLOOD, "flood", out);
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
      e.bannedUntil = now + config.banDurationMillis();
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

  /** Bans since this node started. */
  public long bans() {
    return bans;
  }
}
