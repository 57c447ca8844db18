package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.proto.SignedManifest;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestTest {
  static OwnerKeys keys(int b) {
    byte[] s = new byte[32];
    s[0] = (byte) b;
    return OwnerKeys.fromSeed(s);
  }

  @Test
  void signedManifestRoundTrips() {
    OwnerKeys o = keys(1);
    PeerAddress h1 = new PeerAddress(keys(2).nodeId(), "10.0.0.2", 7000);
    PeerAddress h2 = new PeerAddress(keys(3).nodeId(), "10.0.0.3", 7001);
    Manifest m = Manifest.sign(o, 42, List.of(h1, h2), 3);
    Manifest v = Manifest.verify(m.signed());
    assertThat(v.owner()).isEqualTo(o.nodeId());
    assertThat(v.version()).isEqualTo(42);
    assertThat(v.holders()).containsExactly(h1, h2);
    assertThat(v.replicationFactor()).isEqualTo(3);
    assertThat(v.names(h2.id())).isTrue();
    assertThat(v.names(o.nodeId())).isFalse();
    assertThat(v.participants()).containsExactly(o.nodeId(), h1.id(), h2.id());
  }

  @Test
  void alteredOrGarbageManifestsAreRefused() {
    Manifest m = Manifest.sign(keys(1), 1, List.of(), 3);
    byte[] body = m.signed().getBody().toByteArray();
    body[body.length - 1] ^= 1;
    SignedManifest altered = m.signed().toBuilder().setBody(ByteString.copyFrom(body)).build();
    assertThatThrownBy(() -> Manifest.verify(altered)).hasMessageContaining("signature");
    SignedManifest junk = SignedManifest.newBuilder()
        .setBody(ByteString.copyFrom(new byte[] {(byte) 0xff})).build();
    assertThatThrownBy(() -> Manifest.verify(junk)).isInstanceOf(IllegalArgumentException.class);
  }
}
