package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.overlay.PeerAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodePeersTest {
  @TempDir Path dir;

  private static NodeConfig.Peer peer(String listenHost, String advertise, List<String> seeds) {
    return new NodeConfig.Peer(true, listenHost, advertise, 0, seeds, Optional.empty(), "test");
  }

  @Test
  void wildcardListenWithoutAdvertiseHostNamesTheKey() {
    Identity id = Identity.loadOrCreate(dir);
    assertThatThrownBy(() -> NodePeers.start(peer("0.0.0.0", "", List.of()), id, dir))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.peer.advertise-host");
  }

  @Test
  void lanDiscoveryOnAllInterfacesWithoutABindHostNamesTheKey() {
    Identity id = Identity.loadOrCreate(dir);
    NodeConfig.Peer config = new NodeConfig.Peer(true, "0.0.0.0", "127.0.0.1", 0, List.of(),
        Optional.empty(), "test", java.time.Duration.ofSeconds(30), 32,
        new NodeConfig.LanDiscovery(true, "mycelium", "", "228.8.8.8", 45588));
    assertThatThrownBy(() -> NodePeers.start(config, id, dir))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.peer.lan-discovery.bind-host");
  }

  @Test
  void unresolvableSeedNamesTheKey() {
    Identity id = Identity.loadOrCreate(dir);
    assertThatThrownBy(() -> NodePeers.start(
            peer("127.0.0.1", "", List.of("no-such-host.invalid:7946")), id, dir))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.peer.seeds")
        .hasMessageContaining("no-such-host.invalid:7946");
  }

  @Test
  void advertiseHostIsWhatPeersAreToldWithTheBoundPort() {
    Identity id = Identity.loadOrCreate(dir);
    try (NodePeers p = NodePeers.start(peer("127.0.0.1", "localhost", List.of()), id, dir)) {
      PeerAddress self = p.service().self();
      assertThat(self.host()).isEqualTo("localhost");
      assertThat(self.port()).isPositive();
    }
  }

  @Test
  void knownPeersRoundTripAndADamagedFileReadsAsNone() throws Exception {
    Path f = dir.resolve(KnownPeersFile.FILE_NAME);
    assertThat(KnownPeersFile.read(f)).isEmpty();
    PeerAddress a = new PeerAddress(OwnerKeys.generate(new SecureRandom()).nodeId(), "10.0.0.1",
        7946);
    PeerAddress b = new PeerAddress(OwnerKeys.generate(new SecureRandom()).nodeId(), "::1", 9);
    KnownPeersFile.write(f, List.of(a, b));
    assertThat(KnownPeersFile.read(f)).containsExactly(a, b);
    Files.writeString(f, "{\"peers\":[{\"node_id\":\"nope\"}]}");
    assertThat(KnownPeersFile.read(f)).isEmpty();
  }
}
