package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.node.peer.AddressGuard.Verdict;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

class AddressGuardTest {
  private static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** 2 links per address, 3 per subnet, 100 handshakes/s (rates out of the way), no exemption. */
  private static AddressGuard.Settings caps() {
    return AddressGuard.Settings.defaults().withMaxConnectionsPerIp(2).withRates(3, 100, 100)
        .withExemptLoopback(false);
  }

  @Test
  void connectionsAreCappedPerAddressAndPerIpv4Slash24() {
    AddressGuard g = new AddressGuard(caps());
    assertThat(g.admitInbound(ip("198.51.100.7"), 0)).isEqualTo(Verdict.ADMIT);
    assertThat(g.admitInbound(ip("198.51.100.7"), 0)).isEqualTo(Verdict.ADMIT);
    assertThat(g.admitInbound(ip("198.51.100.7"), 0)).isEqualTo(Verdict.OVER_IP_CAP);
    // A neighbour in the same /24 gets the subnet's last slot, then the /24 is full.
    assertThat(g.admitInbound(ip("198.51.100.8"), 0)).isEqualTo(Verdict.ADMIT);
    assertThat(g.admitInbound(ip("198.51.100.9"), 0)).isEqualTo(Verdict.OVER_SUBNET_CAP);
    // Another /24 is not affected.
    assertThat(g.admitInbound(ip("198.51.101.9"), 0)).isEqualTo(Verdict.ADMIT);
    // A closed link gives its slot back.
    g.release(ip("198.51.100.7"));
    assertThat(g.admitInbound(ip("198.51.100.9"), 0)).isEqualTo(Verdict.ADMIT);
  }

  @Test
  void ipv6AddressesAreGroupedBySlash64() {
    AddressGuard g = new AddressGuard(caps());
    assertThat(g.admitInbound(ip("2001:db8:0:1::1"), 0)).isEqualTo(Verdict.ADMIT);
    assertThat(g.admitInbound(ip("2001:db8:0:1::2"), 0)).isEqualTo(Verdict.ADMIT);
    assertThat(g.admitInbound(ip("2001:db8:0:1:ffff::3"), 0)).isEqualTo(Verdict.ADMIT);
    // A fourth address in the same /64: a host rotating through its addresses gains nothing.
    assertThat(g.admitInbound(ip("2001:db8:0:1::4"), 0)).isEqualTo(Verdict.OVER_SUBNET_CAP);
    assertThat(g.admitInbound(ip("2001:db8:0:2::4"), 0)).isEqualTo(Verdict.ADMIT);
  }

  @Test
  void handshakesPerSecondAreLimitedPerAddressAndPerSubnet() {
    AddressGuard g = new AddressGuard(AddressGuard.Settings.defaults().withRates(1_000, 2, 3)
        .withExemptLoopback(false));
    InetAddress a = ip("203.0.113.1");
    for (int i = 0; i < 2; i++) {
      assertThat(g.admitInbound(a, 0)).isEqualTo(Verdict.ADMIT);
      g.release(a);
    }
    assertThat(g.admitInbound(a, 0)).isEqualTo(Verdict.OVER_IP_RATE);
    assertThat(g.admitInbound(ip("203.0.113.2"), 0)).isEqualTo(Verdict.ADMIT);
    assertThat(g.admitInbound(ip("203.0.113.3"), 0)).isEqualTo(Verdict.OVER_SUBNET_RATE);
    // A second later both buckets have refilled.
    assertThat(g.admitInbound(a, 1_000)).isEqualTo(Verdict.ADMIT);
  }

  @Test
  void penaltiesBanAnAddressForAWhileWhateverIdentityItUses() {
    AddressGuard.Settings s = caps();
    AddressGuard g = new AddressGuard(s);
    InetAddress a = ip("192.0.2.10");
    assertThat(g.penalize(a, AddressGuard.BAD_PROOF, 0)).isFalse();
    assertThat(g.penalize(a, AddressGuard.BAD_PROOF, 0)).isFalse();
    assertThat(g.penalize(a, AddressGuard.BAD_PROOF, 0)).isFalse();
    assertThat(g.penalize(a, AddressGuard.BAD_PROOF, 0)).isTrue();
    assertThat(g.admitInbound(a, 1)).isEqualTo(Verdict.BANNED);
    assertThat(g.admitInbound(ip("192.0.2.11"), 1)).isEqualTo(Verdict.ADMIT);
    assertThat(g.admitInbound(a, s.banMillis() + 1)).isEqualTo(Verdict.ADMIT);
    assertThat(g.bans()).isEqualTo(1);
  }

  @Test
  void penaltiesRecoverSoAnOccasionalFailureNeverBans() {
    AddressGuard g = new AddressGuard(caps());
    InetAddress a = ip("192.0.2.20");
    for (int i = 0; i < 20; i++) {
      g.penalize(a, AddressGuard.FAILED_HANDSHAKE, i * 60_000L);
    }
    assertThat(g.isBanned(a, 20 * 60_000L)).isFalse();
  }

  @Test
  void loopbackIsExemptByDefaultAndCountedWhenConfigured() {
    AddressGuard exempt = new AddressGuard(AddressGuard.Settings.defaults()
        .withMaxConnectionsPerIp(1));
    AddressGuard counted = new AddressGuard(AddressGuard.Settings.defaults()
        .withMaxConnectionsPerIp(1).withExemptLoopback(false));
    InetAddress lo = ip("127.0.0.1");
    for (int i = 0; i < 50; i++) {
      assertThat(exempt.admitInbound(lo, 0)).isEqualTo(Verdict.ADMIT);
      exempt.penalize(lo, AddressGuard.MALFORMED, 0);
    }
    assertThat(exempt.isBanned(lo, 0)).isFalse();
    assertThat(counted.admitInbound(lo, 0)).isEqualTo(Verdict.ADMIT);
    assertThat(counted.admitInbound(lo, 0)).isEqualTo(Verdict.OVER_IP_CAP);
  }

  @Test
  void aFloodOfFreshAddressesNeitherGrowsMemoryNorErasesAnOffender() {
    AddressGuard.Settings s = new AddressGuard.Settings(32, 1 << 20, 1_000, 1_000, false, -60,
        600_000, 0.5, 64);
    AddressGuard g = new AddressGuard(s);
    InetAddress offender = ip("192.0.2.66");
    g.penalize(offender, AddressGuard.BAD_PROOF, 0);
    for (int i = 0; i < 10_000; i++) {
      InetAddress fresh = ip("10." + (i >>> 8 & 0xff) + "." + (i & 0xff) + ".1");
      assertThat(g.admitInbound(fresh, 0)).isEqualTo(Verdict.ADMIT);
      g.release(fresh);
    }
    assertThat(g.tracked()).isLessThanOrEqualTo(64);
    assertThat(g.score(offender, 0)).isEqualTo(-AddressGuard.BAD_PROOF);
  }
}
