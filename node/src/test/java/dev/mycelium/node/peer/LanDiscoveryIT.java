package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.OverlayConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Nodes without seeds find each other through LAN discovery (JGroups, UDP multicast bound to
 * 127.0.0.1) and form one overlay over the normal TLS transport. A fresh cluster name and
 * multicast port per run keep concurrent builds apart. Where the machine cannot multicast on
 * loopback, the test is skipped and says why.
 */
@Timeout(90)
class LanDiscoveryIT {
  private static final InetSocketAddress ANY = new InetSocketAddress("127.0.0.1", 0);

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void stopAll() {
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        // already closed
      }
    }
  }

  private PeerService node(Optional<NetworkKeyring> ring) {
    PeerService s = PeerService.start(OwnerKeys.generate(new SecureRandom()), ANY, null,
        List.of(), OverlayConfig.test(), ring, 300 + open.size());
    open.add(s);
    return s;
  }

  private LanDiscovery discover(PeerService s, LanDiscovery.Settings settings) {
    LanDiscovery d;
    try {
      d = LanDiscovery.start(s, settings);
    } catch (IllegalStateException e) {
      System.out.println("LanDiscoveryIT skipped: " + e.getMessage());
      Assumptions.abort("no UDP multicast on loopback here: " + e.getMessage());
      throw e;
    }
    open.add(d);
    return d;
  }

  @Test
  void nodesWithoutSeedsFindEachOtherOnTheLanAndFormOneOverlay() throws Exception {
    LanDiscovery.Settings settings = new LanDiscovery.Settings(
        "mycelium-it-" + Long.toHexString(new SecureRandom().nextLong()),
        InetAddress.getByName("127.0.0.1"), InetAddress.getByName("228.8.8.8"),
        ThreadLocalRandom.current().nextInt(46_000, 56_000));
    byte[] key = new byte[NetworkKeyring.KEY_BYTES];
    new SecureRandom().nextBytes(key);
    List<PeerService> net = new ArrayList<>();
    List<LanDiscovery> discovery = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      PeerService s = node(Optional.of(NetworkKeyring.of(key)));
      net.add(s);
      discovery.add(discover(s, settings));
    }
    // A node of another network on the same LAN hears the others but does not join them.
    byte[] otherKey = new byte[NetworkKeyring.KEY_BYTES];
    new SecureRandom().nextBytes(otherKey);
    PeerService stranger = node(Optional.of(NetworkKeyring.of(otherKey)));
    LanDiscovery strangerDiscovery = discover(stranger, settings);

    boolean grouped = false;
    try {
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
          .until(() -> discovery.stream().allMatch(d -> d.groupSize() == 4));
      grouped = true;
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      String why = "the discovery group did not form within 20 s (group sizes "
          + discovery.stream().map(d -> Integer.toString(d.groupSize())).toList()
          + "): multicast on loopback does not work here";
      System.out.println("LanDiscoveryIT skipped: " + why);
      Assumptions.abort(why);
    }
    assertThat(grouped).isTrue();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
        .until(() -> PeerServiceIT.converged(net));
    assertThat(strangerDiscovery.announcementsHeard()).isPositive();
    assertThat(stranger.activeView()).isEmpty();
    for (PeerService s : net) {
      assertThat(s.activeView()).doesNotContain(stranger.nodeId());
    }
    PeerServiceIT.broadcastReachesAll(net, net.get(0), "found-on-the-lan");
  }
}
