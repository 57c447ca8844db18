package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.MemberState;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The failure scenarios of the simulated overlay tests, on real nodes over TLS on loopback: a
 * paused node, a partition that heals, seeds that come up after the node that needs them.
 * Faults come from {@link PeerService#freeze} and {@link PeerService#partition}.
 */
@Timeout(90)
class OverlayFaultsIT {
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

  private PeerService node(InetSocketAddress listen, List<InetSocketAddress> seeds,
      OverlayConfig config) {
    PeerService s = PeerService.start(OwnerKeys.generate(new SecureRandom()), listen, null,
        seeds, config, Optional.empty(), 100 + nodes.size());
    nodes.add(s);
    return s;
  }

  private static InetSocketAddress addr(PeerService s) {
    PeerAddress a = s.self();
    return new InetSocketAddress(a.host(), a.port());
  }

  private List<PeerService> network(int n, OverlayConfig config) {
    List<PeerService> out = new ArrayList<>();
    out.add(node(ANY, List.of(), config));
    for (int i = 1; i < n; i++) {
      out.add(node(ANY, List.of(addr(out.get(0))), config));
    }
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> PeerServiceIT.converged(out));
    return out;
  }

  /** What a peer's failure detector says about {@code who}, or null if it has no opinion. */
  private static MemberState stateOf(PeerService observer, NodeId who) {
    return observer.peers().stream().filter(p -> p.nodeId().equals(who)).findFirst()
        .map(PeerService.PeerInfo::state).orElse(null);
  }

  /**
   * Lifeguard's promise, with the timings nodes run with by default (the LAN preset: 1 s
   * probes, a suspicion lasting at least 6.3 s): a node that stops for 5 s is suspected, but
   * refutes when it wakes, and nobody declares it dead.
   */
  @Test
  void aNodePausedForFiveSecondsIsSuspectedButNeverDeclaredDead() {
    List<PeerService> net = network(4, OverlayConfig.lan());
    PeerService sleeper = net.get(2);
    List<PeerService> others = new ArrayList<>(net);
    others.remove(sleeper);

    CompletableFuture<Void> over = sleeper.freeze(Duration.ofSeconds(5));
    await().atMost(Duration.ofSeconds(10)).until(over::isDone);

    // Every suspicion has been refuted and the sleeper is back in the overlay.
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() ->
        others.stream().noneMatch(o -> stateOf(o, sleeper.nodeId()) == MemberState.SUSPECT)
            && PeerServiceIT.converged(net));
    assertThat(others.stream().mapToLong(o -> o.stats().suspicions()).sum())
        .as("the pause was noticed").isPositive();
    for (PeerService s : net) {
      assertThat(s.stats().deaths()).as("deaths seen by %s", s.nodeId().shortString()).isZero();
    }
    assertThat(sleeper.stats().refutations() + others.stream()
        .mapToLong(o -> o.stats().refutations()).sum()).isPositive();
    PeerServiceIT.broadcastReachesAll(net, sleeper, "after-pause");
  }

  @Test
  void aPartitionHealsIntoOneOverlay() {
    List<PeerService> net = network(6, OverlayConfig.test());
    List<PeerService> left = net.subList(0, 3);
    List<PeerService> right = net.subList(3, 6);
    Set<NodeId> leftIds = left.stream().map(PeerService::nodeId).collect(Collectors.toSet());
    Set<NodeId> rightIds = right.stream().map(PeerService::nodeId).collect(Collectors.toSet());
    left.forEach(s -> s.partition(rightIds));
    right.forEach(s -> s.partition(leftIds));

    // The cut holds: for 3 s on end, no node has an active peer on the other side.
    await().atMost(CONVERGE).during(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(200))
        .until(() -> left.stream().allMatch(s -> s.activeView().stream()
            .noneMatch(rightIds::contains))
            && right.stream().allMatch(s -> s.activeView().stream()
            .noneMatch(leftIds::contains)));
    assertThat(PeerServiceIT.converged(net)).isFalse();

    net.forEach(s -> s.partition(Set.of()));
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> PeerServiceIT.converged(net));
    PeerServiceIT.broadcastReachesAll(net, net.get(5), "after-heal");
  }

  @Test
  void aNodeWhoseSeedStartsLaterJoinsOnceItIsUp() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1,
        java.net.InetAddress.getByName("127.0.0.1"))) {
      port = probe.getLocalPort();
    }
    InetSocketAddress seedAddress = new InetSocketAddress("127.0.0.1", port);
    PeerService early = node(ANY, List.of(seedAddress), OverlayConfig.test());
    // It tried, failed and tried again while nothing listened there.
    await().atMost(CONVERGE).until(() -> early.stats().dialFailures() >= 2);
    assertThat(early.activeView()).isEmpty();

    PeerService seed = node(seedAddress, List.of(), OverlayConfig.test());
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200))
        .until(() -> PeerServiceIT.converged(List.of(seed, early)));
    assertThat(early.activeView()).containsExactly(seed.nodeId());
  }
}
