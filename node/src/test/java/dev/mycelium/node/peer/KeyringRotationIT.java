package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.PeerAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A network key rotated on running nodes: install the new key everywhere, use it everywhere,
 * remove the old one. During the rotation holders of either key get in; afterwards the old key
 * is refused.
 */
@Timeout(90)
class KeyringRotationIT {
  private static final InetSocketAddress ANY = new InetSocketAddress("127.0.0.1", 0);
  private static final Duration CONVERGE = Duration.ofSeconds(30);

  private final List<PeerService> nodes = new ArrayList<>();

  @AfterEach
  void stopAll() {
    for (PeerService n : nodes) {
      try {
        n.close();
      } catch (RuntimeException e) {
        // already closed
      }
    }
  }

  private static byte[] key() {
    byte[] k = new byte[NetworkKeyring.KEY_BYTES];
    new SecureRandom().nextBytes(k);
    return k;
  }

  private PeerService node(NetworkKeyring ring, PeerService seed) {
    List<InetSocketAddress> seeds = new ArrayList<>();
    if (seed != null) {
      PeerAddress a = seed.self();
      seeds.add(new InetSocketAddress(a.host(), a.port()));
    }
    PeerService s = PeerService.start(OwnerKeys.generate(new SecureRandom()), ANY, null, seeds,
        OverlayConfig.test(), Optional.of(ring), 200 + nodes.size());
    nodes.add(s);
    return s;
  }

  private static NetworkKeyring ring(PeerService s) {
    return s.keyring().orElseThrow();
  }

  @Test
  void duringARotationBothKeysWorkAndAfterRemovalTheOldOneIsRefused() {
    byte[] oldKey = key();
    byte[] newKey = key();
    PeerService a = node(NetworkKeyring.of(oldKey), null);
    PeerService b = node(NetworkKeyring.of(oldKey), a);
    PeerService c = node(NetworkKeyring.of(oldKey), a);
    List<PeerService> net = new ArrayList<>(List.of(a, b, c));
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> PeerServiceIT.converged(net));

    // Step 1: every node accepts the new key; a presents it already, the others not yet.
    net.forEach(s -> ring(s).install(newKey));
    ring(a).use(newKey);
    // Newcomers in the same middle state link up with nodes presenting either key: d presents
    // the old key and joins through a (presenting the new one), e the other way round.
    NetworkKeyring presentsOld = NetworkKeyring.of(oldKey);
    presentsOld.install(newKey);
    PeerService d = node(presentsOld, a);
    NetworkKeyring presentsNew = NetworkKeyring.of(newKey);
    presentsNew.install(oldKey);
    PeerService e = node(presentsNew, b);
    List<PeerService> mixed = List.of(a, b, c, d, e);
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> PeerServiceIT.converged(mixed) && d.activeView().contains(a.nodeId())
            && e.activeView().contains(b.nodeId()));
    for (PeerService s : mixed) {
      assertThat(s.stats().transport().networkMismatches()).isZero();
    }

    // Step 2: everyone presents the new key; step 3: everyone drops the old one.
    mixed.forEach(s -> ring(s).use(newKey));
    assertThatThrownBy(() -> ring(a).remove(newKey)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("in use");
    for (PeerService s : mixed) {
      ring(s).remove(oldKey);
      assertThat(ring(s).accepts(NetworkKeyring.networkId(oldKey))).isFalse();
    }

    PeerService late = node(NetworkKeyring.of(oldKey), c);
    await().atMost(CONVERGE).until(() -> c.stats().transport().networkMismatches() > 0);
    assertThat(late.activeView()).isEmpty();
    for (PeerService s : mixed) {
      assertThat(s.peers()).noneMatch(p -> p.nodeId().equals(late.nodeId()));
    }
    // The rotated network is still one overlay, and a broadcast reaches every member.
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> PeerServiceIT.converged(mixed));
    PeerServiceIT.broadcastReachesAll(mixed, e, "after-rotation");
  }
}
