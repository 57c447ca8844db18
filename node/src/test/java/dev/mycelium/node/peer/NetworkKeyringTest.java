package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NetworkKeyringTest {
  private static byte[] key(int fill) {
    byte[] k = new byte[32];
    Arrays.fill(k, (byte) fill);
    return k;
  }

  @Test
  void idIsSixteenBytesOfHexAndDependsOnTheKey() {
    String a = NetworkKeyring.networkId(key(1));
    assertThat(a).hasSize(32).matches("[0-9a-f]+");
    assertThat(NetworkKeyring.networkId(key(2))).isNotEqualTo(a);
    assertThat(NetworkKeyring.networkId(key(1))).isEqualTo(a);
  }

  @Test
  void rotationAcceptsOldAndNewUntilTheOldIsRemoved() {
    NetworkKeyring ring = NetworkKeyring.of(key(1));
    String oldId = NetworkKeyring.networkId(key(1));
    String newId = NetworkKeyring.networkId(key(2));
    assertThat(ring.accepts(newId)).isFalse();
    ring.install(key(2));
    assertThat(ring.accepts(oldId)).isTrue();
    assertThat(ring.accepts(newId)).isTrue();
    assertThat(ring.sentId()).isEqualTo(oldId);
    ring.use(key(2));
    assertThat(ring.sentId()).isEqualTo(newId);
    ring.remove(key(1));
    assertThat(ring.accepts(oldId)).isFalse();
    assertThat(ring.accepts(newId)).isTrue();
    assertThat(ring.size()).isEqualTo(1);
  }

  @Test
  void keyInUseCannotBeRemoved() {
    NetworkKeyring ring = NetworkKeyring.of(key(1));
    assertThatThrownBy(() -> ring.remove(key(1))).hasMessageContaining("in use");
  }

  @Test
  void openNetworkAcceptsOnlyPeersWithoutKey() {
    assertThat(NetworkKeyring.accepts(Optional.empty(), "")).isTrue();
    assertThat(NetworkKeyring.accepts(Optional.empty(), NetworkKeyring.networkId(key(1))))
        .isFalse();
    assertThat(NetworkKeyring.accepts(Optional.of(NetworkKeyring.of(key(1))), "")).isFalse();
    assertThat(NetworkKeyring.sentId(Optional.empty())).isEmpty();
  }

  @Test
  void parseChecksLengthAndEncoding() {
    assertThat(NetworkKeyring.parse(Base64.getEncoder().encodeToString(key(3))))
        .isEqualTo(key(3));
    assertThatThrownBy(() -> NetworkKeyring.parse("abc!")).hasMessageContaining("base64");
    assertThatThrownBy(() -> NetworkKeyring.parse(Base64.getEncoder().encodeToString(new byte[5])))
        .hasMessageContaining("32 bytes");
  }
}
