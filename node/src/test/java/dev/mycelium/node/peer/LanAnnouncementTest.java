package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.PeerAddress;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LanAnnouncementTest {
  private final byte[] key = new byte[NetworkKeyring.KEY_BYTES];
  private final PeerAddress self =
      new PeerAddress(OwnerKeys.generate(new SecureRandom()).nodeId(), "192.168.1.20", 7946);

  LanAnnouncementTest() {
    new SecureRandom().nextBytes(key);
  }

  @Test
  void announcementCarriesNoKeyNoFingerprintAndATagBoundToTheAddress() {
    Optional<NetworkKeyring> ring = Optional.of(NetworkKeyring.of(key));
    String text = LanDiscovery.announcement(self, ring);
    assertThat(text).doesNotContain(NetworkKeyring.networkId(key))
        .doesNotContain(Base64.getEncoder().encodeToString(key));
    assertThat(LanDiscovery.accepted(text, ring)).contains(self);

    // An outsider moving the tag to an address of its own gets ignored.
    String forged = text.replace("192.168.1.20", "203.0.113.9");
    assertThat(LanDiscovery.accepted(forged, ring)).isEmpty();
    // Another network ignores it; so does an open node, and a private node ignores open ones.
    byte[] other = key.clone();
    other[0] ^= 1;
    assertThat(LanDiscovery.accepted(text, Optional.of(NetworkKeyring.of(other)))).isEmpty();
    assertThat(LanDiscovery.accepted(text, Optional.empty())).isEmpty();
    String open = LanDiscovery.announcement(self, Optional.empty());
    assertThat(LanDiscovery.accepted(open, Optional.empty())).contains(self);
    assertThat(LanDiscovery.accepted(open, ring)).isEmpty();
  }

  @Test
  void tagsDifferPerNodeSoOneNodesTagSaysNothingAboutAnother() {
    Optional<NetworkKeyring> ring = Optional.of(NetworkKeyring.of(key));
    PeerAddress other = new PeerAddress(OwnerKeys.generate(new SecureRandom()).nodeId(),
        "192.168.1.20", 7946);
    String a = LanDiscovery.announcement(self, ring);
    String b = LanDiscovery.announcement(other, ring);
    String tagA = a.substring(a.lastIndexOf(' ') + 1);
    String tagB = b.substring(b.lastIndexOf(' ') + 1);
    assertThat(tagA).hasSize(32).isNotEqualTo(tagB);
  }
}
