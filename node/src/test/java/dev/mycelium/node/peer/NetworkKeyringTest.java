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
    assertThat(ring.keyInUse()).isEqualTo(key(1));
    ring.use(key(2));
    assertThat(ring.keyInUse()).isEqualTo(key(2));
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

  private static byte[] bytes(int fill, int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) fill);
    return b;
  }

  private static final byte[] CERT_A = bytes(0xa, 32);
  private static final byte[] CERT_B = bytes(0xb, 32);
  private static final byte[] NONCE_A = bytes(0x1, 32);
  private static final byte[] NONCE_B = bytes(0x2, 32);

  private static boolean verifiesAtB(Optional<NetworkKeyring> ring, byte[] proofFromA) {
    return NetworkKeyring.verify(ring, NetworkKeyring.Role.DIALER, CERT_A, CERT_B, NONCE_A,
        NONCE_B, proofFromA);
  }

  @Test
  void proofChecksOnlyForItsRoleCertificatesAndNonces() {
    Optional<NetworkKeyring> ring = Optional.of(NetworkKeyring.of(key(1)));
    byte[] proof = NetworkKeyring.prove(ring, NetworkKeyring.Role.DIALER, CERT_A, CERT_B,
        NONCE_A, NONCE_B);
    assertThat(proof).hasSize(32);
    assertThat(verifiesAtB(ring, proof)).isTrue();
    // Same key, anything else different: worthless.
    assertThat(NetworkKeyring.verify(ring, NetworkKeyring.Role.LISTENER, CERT_A, CERT_B,
        NONCE_A, NONCE_B, proof)).isFalse();
    assertThat(NetworkKeyring.verify(ring, NetworkKeyring.Role.DIALER, CERT_B, CERT_A,
        NONCE_A, NONCE_B, proof)).isFalse();
    assertThat(NetworkKeyring.verify(ring, NetworkKeyring.Role.DIALER, CERT_A, CERT_B,
        NONCE_B, NONCE_A, proof)).isFalse();
    assertThat(NetworkKeyring.verify(ring, NetworkKeyring.Role.DIALER, CERT_A, CERT_B,
        NONCE_A, bytes(0x3, 32), proof)).isFalse();
    assertThat(verifiesAtB(Optional.of(NetworkKeyring.of(key(2))), proof)).isFalse();
    assertThat(verifiesAtB(ring, new byte[0])).isFalse();
  }

  @Test
  void duringRotationProofsUnderEitherInstalledKeyCheck() {
    NetworkKeyring rotating = NetworkKeyring.of(key(1));
    rotating.install(key(2));
    Optional<NetworkKeyring> ring = Optional.of(rotating);
    for (int k : new int[] {1, 2}) {
      byte[] proof = NetworkKeyring.prove(Optional.of(NetworkKeyring.of(key(k))),
          NetworkKeyring.Role.DIALER, CERT_A, CERT_B, NONCE_A, NONCE_B);
      assertThat(verifiesAtB(ring, proof)).as("key %d", k).isTrue();
    }
    rotating.use(key(2));
    rotating.remove(key(1));
    byte[] old = NetworkKeyring.prove(Optional.of(NetworkKeyring.of(key(1))),
        NetworkKeyring.Role.DIALER, CERT_A, CERT_B, NONCE_A, NONCE_B);
    assertThat(verifiesAtB(ring, old)).isFalse();
  }

  @Test
  void openNetworkAcceptsOnlyPeersWithoutKey() {
    assertThat(NetworkKeyring.prove(Optional.empty(), NetworkKeyring.Role.DIALER, CERT_A,
        CERT_B, NONCE_A, NONCE_B)).isEmpty();
    assertThat(verifiesAtB(Optional.empty(), new byte[0])).isTrue();
    byte[] keyed = NetworkKeyring.prove(Optional.of(NetworkKeyring.of(key(1))),
        NetworkKeyring.Role.DIALER, CERT_A, CERT_B, NONCE_A, NONCE_B);
    assertThat(verifiesAtB(Optional.empty(), keyed)).isFalse();
  }

  @Test
  void lanTagIsBoundToTheAnnouncedTextAndNeverTheFingerprint() {
    Optional<NetworkKeyring> ring = Optional.of(NetworkKeyring.of(key(1)));
    String tag = NetworkKeyring.lanTag(ring, "node-a 10.0.0.1 7946");
    assertThat(tag).hasSize(32).isNotEqualTo(NetworkKeyring.networkId(key(1)));
    assertThat(NetworkKeyring.acceptsLanTag(ring, "node-a 10.0.0.1 7946", tag)).isTrue();
    assertThat(NetworkKeyring.acceptsLanTag(ring, "node-a 10.0.0.66 7946", tag)).isFalse();
    assertThat(NetworkKeyring.acceptsLanTag(ring, "node-a 10.0.0.1 7946", "zz")).isFalse();
    assertThat(NetworkKeyring.acceptsLanTag(Optional.of(NetworkKeyring.of(key(2))),
        "node-a 10.0.0.1 7946", tag)).isFalse();
    assertThat(NetworkKeyring.lanTag(Optional.empty(), "x")).isEmpty();
    assertThat(NetworkKeyring.acceptsLanTag(Optional.empty(), "x", tag)).isFalse();
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
