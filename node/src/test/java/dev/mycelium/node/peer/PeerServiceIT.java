package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Real overlay nodes over TLS on loopback. */
@Timeout(30)
class PeerServiceIT {
  private static final OverlayConfig CONFIG = OverlayConfig.test();
  private static final InetSocketAddress ANY = new InetSocketAddress("127.0.0.1", 0);
  private static final Duration CONVERGE = Duration.ofSeconds(20);

  private final List<PeerService> nodes = new ArrayList<>();
  private final EventLoopGroup rawGroup =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @AfterEach
  void stopAll() {
    for (PeerService n : nodes) {
      try {
        n.close();
      } catch (RuntimeException e) {
        // already closed or crashed
      }
    }
    rawGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private PeerService node(List<InetSocketAddress> seeds, Optional<NetworkKeyring> ring) {
    PeerService s = PeerService.start(OwnerKeys.generate(new SecureRandom()), ANY, null, seeds,
        CONFIG, ring, nodes.size() + 1);
    nodes.add(s);
    return s;
  }

  private static InetSocketAddress addr(PeerService s) {
    PeerAddress a = s.self();
    return new InetSocketAddress(a.host(), a.port());
  }

  /** Starts n nodes that all know the first as their seed. */
  private List<PeerService> network(int n, Optional<NetworkKeyring> ring) {
    List<PeerService> out = new ArrayList<>();
    PeerService seed = node(List.of(), ring);
    out.add(seed);
    for (int i = 1; i < n; i++) {
      out.add(node(List.of(addr(seed)), ring));
    }
    return out;
  }

  /** Every node has an active peer, and the union of active views connects them all. */
  static boolean converged(List<PeerService> group) {
    Map<NodeId, List<NodeId>> edges = new ConcurrentHashMap<>();
    for (PeerService s : group) {
      List<NodeId> active = s.activeView();
      if (active.isEmpty()) {
        return false;
      }
      edges.put(s.nodeId(), active);
    }
    Set<NodeId> members = edges.keySet();
    Map<NodeId, Set<NodeId>> undirected = new ConcurrentHashMap<>();
    edges.forEach((a, bs) -> {
      for (NodeId b : bs) {
        if (members.contains(b)) {
          undirected.computeIfAbsent(a, k -> new HashSet<>()).add(b);
          undirected.computeIfAbsent(b, k -> new HashSet<>()).add(a);
        }
      }
    });
    Set<NodeId> seen = new HashSet<>();
    Deque<NodeId> todo = new ArrayDeque<>();
    todo.add(group.get(0).nodeId());
    while (!todo.isEmpty()) {
      NodeId x = todo.poll();
      if (seen.add(x)) {
        todo.addAll(undirected.getOrDefault(x, Set.of()));
      }
    }
    return seen.size() == group.size();
  }

  /** Subscribes every node to a fresh topic, broadcasts from one, and waits for all. */
  static void broadcastReachesAll(List<PeerService> group, PeerService from,
      String topic) {
    Set<NodeId> got = ConcurrentHashMap.newKeySet();
    byte[] payload = ("hello from " + from.nodeId().shortString()).getBytes();
    for (PeerService s : group) {
      Consumer<byte[]> c = p -> {
        if (java.util.Arrays.equals(p, payload)) {
          got.add(s.nodeId());
        }
      };
      s.subscribe(topic, c);
    }
    // Subscriptions are applied on each node's loop; a stats() round trip waits for them.
    group.forEach(PeerService::stats);
    from.broadcast(topic, payload);
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == group.size());
  }

  @Test
  void fiveNodesConvergeAndABroadcastReachesAll() {
    List<PeerService> net = network(5, Optional.empty());
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> converged(net));
    for (PeerService s : net) {
      assertThat(s.activeView()).isNotEmpty().doesNotContain(s.nodeId());
      assertThat(s.activeView().size()).isLessThanOrEqualTo(CONFIG.activeViewSize());
      assertThat(s.peers()).allSatisfy(p -> assertThat(p.nodeId()).isNotEqualTo(s.nodeId()));
    }
    broadcastReachesAll(net, net.get(3), "greetings");
    assertThat(net.get(0).stats().transport().linksOpened()).isPositive();
    assertThat(net.get(0).stats().transport().certificateMismatches()).isZero();
  }

  @Test
  void crashedNodeLeavesActiveViewsAndTheRestStillReachEachOther() {
    List<PeerService> net = network(5, Optional.empty());
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> converged(net));
    PeerService victim = net.get(2);
    NodeId gone = victim.nodeId();
    victim.crash();
    List<PeerService> rest = new ArrayList<>(net);
    rest.remove(victim);
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() ->
        rest.stream().noneMatch(s -> s.activeView().contains(gone)) && converged(rest));
    broadcastReachesAll(rest, rest.get(rest.size() - 1), "after-crash");
  }

  @Test
  void nodeWithAnotherNetworkKeyIsRefused() {
    byte[] ours = new byte[32];
    new SecureRandom().nextBytes(ours);
    byte[] theirs = new byte[32];
    new SecureRandom().nextBytes(theirs);
    List<PeerService> net = network(3, Optional.of(NetworkKeyring.of(ours)));
    PeerService intruder = node(List.of(addr(net.get(0))),
        Optional.of(NetworkKeyring.of(theirs)));
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> converged(net)
        && net.get(0).stats().transport().networkMismatches() > 0);
    assertThat(intruder.activeView()).isEmpty();
    for (PeerService s : net) {
      assertThat(s.peers()).noneMatch(p -> p.nodeId().equals(intruder.nodeId()));
    }
  }

  private Channel rawClient(OwnerKeys certKeys, InetSocketAddress to, List<byte[]> frames) {
    return RawTlsClient.connect(rawGroup, certKeys, to, frames, false);
  }

  @Test
  void certificateThatDoesNotMatchTheClaimedIdIsRefused() {
    List<PeerService> net = network(2, Optional.empty());
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> converged(net));
    OwnerKeys impostor = OwnerKeys.generate(new SecureRandom());
    OwnerKeys victim = OwnerKeys.generate(new SecureRandom());
    Channel ch = RawTlsClient.handshake(rawGroup, impostor, addr(net.get(0)), Optional.empty(),
        List.of(RawTlsClient.hello(victim.nodeId())), false).channel();
    await().atMost(Duration.ofSeconds(10)).until(() -> !ch.isActive());
    assertThat(net.get(0).stats().transport().certificateMismatches()).isEqualTo(1);
    assertThat(net.get(0).score(impostor.nodeId())).isNegative();
    assertThat(net.get(0).peers()).noneMatch(p -> p.nodeId().equals(victim.nodeId())
        || p.nodeId().equals(impostor.nodeId()));
  }

  @Test
  void peerSendingGarbageIsDroppedAndBannedWhileOthersCarryOn() {
    List<PeerService> net = network(4, Optional.empty());
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> converged(net));
    OwnerKeys vandal = OwnerKeys.generate(new SecureRandom());
    PeerService target = net.get(1);
    byte[] garbage = new byte[64];
    java.util.Arrays.fill(garbage, (byte) 0xff);
    int attempts = 0;
    while (!target.isBanned(vandal.nodeId()) && attempts < 10) {
      Channel ch = rawClient(vandal, addr(target), List.of(garbage, garbage));
      await().atMost(Duration.ofSeconds(10)).until(() -> !ch.isActive());
      attempts++;
    }
    assertThat(target.isBanned(vandal.nodeId())).isTrue();
    assertThat(attempts).isGreaterThan(1);
    assertThat(target.stats().bans()).isEqualTo(1);
    assertThat(target.stats().malformed()).isGreaterThanOrEqualTo(attempts);
    broadcastReachesAll(net, target, "still-working");
  }

  @Test
  void nodeRejoinsThroughKnownPeersWithoutSeeds() {
    List<PeerService> net = network(2, Optional.empty());
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> converged(net));
    assertThat(net.get(1).knownPeers()).extracting(PeerAddress::id)
        .contains(net.get(0).nodeId());
    PeerService loner = node(List.of(), Optional.empty());
    assertThat(loner.activeView()).isEmpty();
    loner.join(List.of(net.get(0).self()));
    List<PeerService> all = List.of(net.get(0), net.get(1), loner);
    await().atMost(CONVERGE).pollInterval(Duration.ofMillis(200)).until(() -> converged(all));
  }

  @Test
  void wildcardListenWithoutAdvertisedAddressIsAClearError() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PeerService.start(
            OwnerKeys.generate(new SecureRandom()), new InetSocketAddress("0.0.0.0", 0), null,
            List.of(), CONFIG, Optional.empty(), 1))
        .hasMessageContaining("advertised address");
  }
}
