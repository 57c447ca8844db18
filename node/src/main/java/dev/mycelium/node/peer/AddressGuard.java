package dev.mycelium.node.peer;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * What one network address, and one network around it, may cost this node before it has
 * proven anything: inbound connections held open, handshakes started per second, and a
 * penalty score that ends in a temporary ban.
 *
 * <p>Why addresses and not only node IDs: a node ID is free (a fresh key pair), so limits and
 * bans keyed by ID alone are erased by minting new identities. An address costs the attacker
 * something, and a block of them more: IPv4 addresses are grouped by /24 and IPv6 by /64 (the
 * smallest block a site is normally given), so that one host or one site cannot take every
 * slot by rotating through its addresses.
 *
 * <p>Loopback addresses are exempt by default ({@link Settings#exemptLoopback()}): nodes of a
 * test network on one machine all come from 127.0.0.1, and whoever can connect from loopback
 * already runs code on this host.
 *
 * <p>Memory is bounded: at most {@link Settings#maxTracked()} addresses and as many subnets
 * are remembered. When full, a clean record (no open connection, no penalty) is forgotten
 * first, and a penalized one only when nothing else is left, the least penalized first, so a
 * flood of fresh addresses cannot push an offender's record out. Thread-safe.
 */
public final class AddressGuard {
  /** Penalty of a frame that does not parse or a Hello that lies, before or after the Hello. */
  public static final double MALFORMED = 20;
  /** Penalty of a key proof that does not check (a stranger, or a node of another network). */
  public static final double BAD_PROOF = 20;
  /** Penalty of a TLS handshake that failed or a handshake that missed its deadline. */
  public static final double FAILED_HANDSHAKE = 5;

  /**
   * Address limits.
   *
   * @param maxConnectionsPerIp inbound links one address may hold open (handshaking or up)
   * @param maxConnectionsPerSubnet inbound links one IPv4 /24 or IPv6 /64 may hold open
   * @param handshakesPerSecondPerIp inbound connections one address may start per second
   *     (also the burst)
   * @param handshakesPerSecondPerSubnet the same for one /24 or /64
   * @param exemptLoopback whether loopback addresses skip every limit and penalty here
   * @param banThreshold score below which an address is banned (negative)
   * @param banMillis how long an address ban lasts
   * @param recoveryPerSecond points a penalized address regains per second
   * @param maxTracked addresses (and subnets) remembered at most
   */
  public record Settings(int maxConnectionsPerIp, int maxConnectionsPerSubnet,
      int handshakesPerSecondPerIp, int handshakesPerSecondPerSubnet, boolean exemptLoopback,
      double banThreshold, long banMillis, double recoveryPerSecond, int maxTracked) {
    public Settings {
      if (maxConnectionsPerIp < 1 || maxConnectionsPerSubnet < 1 || handshakesPerSecondPerIp < 1
          || handshakesPerSecondPerSubnet < 1 || banMillis < 1 || maxTracked < 16
          || recoveryPerSecond < 0 || !(banThreshold < 0)) {
        throw new IllegalArgumentException("address limits out of range: " + maxConnectionsPerIp
            + ", " + maxConnectionsPerSubnet + ", " + handshakesPerSecondPerIp + ", "
            + handshakesPerSecondPerSubnet + ", " + banThreshold + ", " + banMillis + ", "
            + recoveryPerSecond + ", " + maxTracked);
      }
    }

    /**
     * 32 links per address and 64 per subnet, 10 handshakes per second per address and 40
     * per subnet, loopback exempt, banned below -60 points (three bad proofs or malformed
     * frames in a row) for 10 minutes, recovering 0.5 points per second, 16,384 addresses
     * remembered.
     */
    public static Settings defaults() {
      return new Settings(32, 64, 10, 40, true, -60, 600_000, 0.5, 16_384);
    }

    /** A copy with another per-address link cap. */
    public Settings withMaxConnectionsPerIp(int perIp) {
      return new Settings(perIp, maxConnectionsPerSubnet, handshakesPerSecondPerIp,
          handshakesPerSecondPerSubnet, exemptLoopback, banThreshold, banMillis,
          recoveryPerSecond, maxTracked);
    }

    /** A copy with loopback exempt or not. */
    public Settings withExemptLoopback(boolean exempt) {
      return new Settings(maxConnectionsPerIp, maxConnectionsPerSubnet,
          handshakesPerSecondPerIp, handshakesPerSecondPerSubnet, exempt, banThreshold,
          banMillis, recoveryPerSecond, maxTracked);
    }

    /** A copy with other subnet and rate limits. */
    public Settings withRates(int perSubnet, int perIpPerSecond, int perSubnetPerSecond) {
      return new Settings(maxConnectionsPerIp, perSubnet, perIpPerSecond, perSubnetPerSecond,
          exemptLoopback, banThreshold, banMillis, recoveryPerSecond, maxTracked);
    }
  }

  /** The answer to a new inbound connection. */
  public enum Verdict {
    ADMIT("admitted"),
    BANNED("the address is banned"),
    OVER_IP_CAP("too many links from this address"),
    OVER_SUBNET_CAP("too many links from this subnet"),
    OVER_IP_RATE("too many handshakes per second from this address"),
    OVER_SUBNET_RATE("too many handshakes per second from this subnet");

    private final String why;

    Verdict(String why) {
      this.why = why;
    }

    /** Why, in words, for logs. */
    public String why() {
      return why;
    }
  }

  private static final class Record {
    int connections;
    double tokens;
    long refilled;
    double score;
    long scored;
    long bannedUntil = Long.MIN_VALUE;

    boolean clean(long now) {
      return connections == 0 && score >= 0 && bannedUntil <= now;
    }
  }

  private final Settings settings;
  private final Map<InetAddress, Record> addresses = new HashMap<>();
  private final Map<Subnet, Record> subnets = new HashMap<>();
  private long bans;

  public AddressGuard(Settings settings) {
    this.settings = settings;
  }

  public Settings settings() {
    return settings;
  }

  /**
   * Decides on a new inbound connection from this address and, when admitted, counts it: the
   * caller must {@link #release} it when it closes.
   */
  public synchronized Verdict admitInbound(InetAddress ip, long now) {
    if (exempt(ip)) {
      return Verdict.ADMIT;
    }
    Record a = record(addresses, ip, now, settings.handshakesPerSecondPerIp());
    if (a.bannedUntil > now) {
      return Verdict.BANNED;
    }
    Record s = record(subnets, Subnet.of(ip), now, settings.handshakesPerSecondPerSubnet());
    if (a.connections >= settings.maxConnectionsPerIp()) {
      return Verdict.OVER_IP_CAP;
    }
    if (s.connections >= settings.maxConnectionsPerSubnet()) {
      return Verdict.OVER_SUBNET_CAP;
    }
    refill(a, now, settings.handshakesPerSecondPerIp());
    refill(s, now, settings.handshakesPerSecondPerSubnet());
    if (a.tokens < 1) {
      return Verdict.OVER_IP_RATE;
    }
    if (s.tokens < 1) {
      return Verdict.OVER_SUBNET_RATE;
    }
    a.tokens--;
    s.tokens--;
    a.connections++;
    s.connections++;
    return Verdict.ADMIT;
  }

  /** Gives back the slot of an admitted inbound connection that closed. */
  public synchronized void release(InetAddress ip) {
    if (exempt(ip)) {
      return;
    }
    Record a = addresses.get(ip);
    if (a != null && a.connections > 0) {
      a.connections--;
    }
    Record s = subnets.get(Subnet.of(ip));
    if (s != null && s.connections > 0) {
      s.connections--;
    }
  }

  /**
   * Lowers an address's score; below the threshold it is banned for {@link
   * Settings#banMillis()}.
   *
   * @return true when this penalty banned it
   */
  public synchronized boolean penalize(InetAddress ip, double points, long now) {
    if (exempt(ip)) {
      return false;
    }
    Record a = record(addresses, ip, now, settings.handshakesPerSecondPerIp());
    recover(a, now);
    a.score -= points;
    if (a.score < settings.banThreshold() && a.bannedUntil <= now) {
      ban(a, now);
      return true;
    }
    return false;
  }

  /** Bans an address at once (its node was banned for what it did after its Hello). */
  public synchronized void ban(InetAddress ip, long now) {
    if (exempt(ip)) {
      return;
    }
    Record a = record(addresses, ip, now, settings.handshakesPerSecondPerIp());
    if (a.bannedUntil <= now) {
      ban(a, now);
    }
  }

  private void ban(Record a, long now) {
    a.bannedUntil = now + settings.banMillis();
    // The ban is the punishment; its end starts the address afresh but below neutral.
    a.score = settings.banThreshold() / 2;
    a.scored = now;
    bans++;
  }

  public synchronized boolean isBanned(InetAddress ip, long now) {
    Record a = addresses.get(ip);
    return a != null && a.bannedUntil > now;
  }

  /** The address's score now (0 neutral, negative worse). */
  public synchronized double score(InetAddress ip, long now) {
    Record a = addresses.get(ip);
    if (a == null) {
      return 0;
    }
    recover(a, now);
    return a.score;
  }

  /** Address bans since start. */
  public synchronized long bans() {
    return bans;
  }

  /** Addresses remembered now (bounded by {@link Settings#maxTracked()}). */
  public synchronized int tracked() {
    return addresses.size();
  }

  private boolean exempt(InetAddress ip) {
    return settings.exemptLoopback() && ip.isLoopbackAddress();
  }

  private void recover(Record r, long now) {
    if (now > r.scored) {
      r.score = Math.min(0, r.score + (now - r.scored) / 1000.0 * settings.recoveryPerSecond());
      r.scored = now;
    }
  }

  private static void refill(Record r, long now, int perSecond) {
    if (now > r.refilled) {
      r.tokens = Math.min(perSecond, r.tokens + (now - r.refilled) / 1000.0 * perSecond);
      r.refilled = now;
    }
  }

  private <K> Record record(Map<K, Record> map, K key, long now, int perSecond) {
    Record r = map.get(key);
    if (r == null) {
      if (map.size() >= settings.maxTracked()) {
        evictOne(map, now);
      }
      r = new Record();
      r.tokens = perSecond;
      r.refilled = now;
      r.scored = now;
      map.put(key, r);
    }
    return r;
  }

  /**
   * Forgets one record: a clean one if any, else the least penalized one without open
   * connections or a running ban, else the ban that ends first.
   */
  private static <K> void evictOne(Map<K, Record> map, long now) {
    K victim = null;
    Record worst = null;
    for (Iterator<Map.Entry<K, Record>> it = map.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<K, Record> e = it.next();
      Record r = e.getValue();
      if (r.clean(now)) {
        it.remove();
        return;
      }
      if (r.connections > 0) {
        continue;
      }
      if (worst == null || better(r, worst, now)) {
        worst = r;
        victim = e.getKey();
      }
    }
    if (victim != null) {
      map.remove(victim);
    }
  }

  /** Whether {@code a} is the better one to forget than {@code b}. */
  private static boolean better(Record a, Record b, long now) {
    boolean aBanned = a.bannedUntil > now;
    boolean bBanned = b.bannedUntil > now;
    if (aBanned != bBanned) {
      return !aBanned;
    }
    if (aBanned) {
      return a.bannedUntil < b.bannedUntil;
    }
    return a.score > b.score;
  }

  /** An IPv4 /24 or IPv6 /64. */
  record Subnet(byte[] prefix) {
    static Subnet of(InetAddress ip) {
      byte[] b = ip.getAddress();
      int bytes = ip instanceof Inet4Address ? 3 : ip instanceof Inet6Address ? 8 : b.length;
      return new Subnet(Arrays.copyOf(b, Math.min(bytes, b.length)));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Subnet s && Arrays.equals(prefix, s.prefix);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(prefix);
    }

    @Override
    public String toString() {
      return Arrays.toString(prefix);
    }
  }
}
