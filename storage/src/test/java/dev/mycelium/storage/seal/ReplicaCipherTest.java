package dev.mycelium.storage.seal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.proto.ReplicaBody;
import dev.mycelium.wire.proto.SignedFragment;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReplicaCipherTest {
  private static final FragmentCodec CODEC =
      new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  private static final OwnerKeys ALICE = OwnerKeys.fromSeed(seed(1));
  private static final OwnerKeys BOB = OwnerKeys.fromSeed(seed(2));

  private final Random random = new Random(7);
  private final ReplicaCipher sealer = new ReplicaCipher(random::nextBytes);

  private static byte[] seed(int b) {
    byte[] s = new byte[32];
    s[0] = (byte) b;
    return s;
  }

  private static Fragment fragment(OwnerKeys owner, String text) {
    return CODEC.create(owner, 1_700_000_000_000L, text, new float[] {1, 2, 3, 4},
        Map.of("k", "v"), Visibility.PRIVATE);
  }

  private ReplicaBody sealed(OwnerKeys owner, Fragment f) {
    ReplicaCipher.Sealed s = sealer.seal(owner, f.signed());
    return ReplicaBody.newBuilder()
        .setFragmentId(ByteString.copyFrom(f.id().toBytes()))
        .setOwnerPublicKey(ByteString.copyFrom(owner.publicKey()))
        .setVisibility(dev.mycelium.wire.proto.Visibility.PRIVATE)
        .setNonce(ByteString.copyFrom(s.nonce()))
        .setPayload(ByteString.copyFrom(s.payload()))
        .build();
  }

  @Test
  void roundTripGivesBackTheExactSignedFragment() {
    Fragment f = fragment(ALICE, "the secret recipe");
    ReplicaBody body = sealed(ALICE, f);
    SignedFragment back = sealer.open(ALICE, body);
    assertThat(back).isEqualTo(f.signed());
    assertThat(CODEC.verify(f.id(), back).text()).isEqualTo("the secret recipe");
  }

  @Test
  void theHolderCannotSeeThePlaintext() {
    Fragment f = fragment(ALICE, "a rather distinctive plaintext sentence");
    byte[] payload = sealed(ALICE, f).getPayload().toByteArray();
    String asText = new String(payload, StandardCharsets.ISO_8859_1);
    assertThat(asText).doesNotContain("distinctive");
    assertThat(HexFormat.of().formatHex(payload))
        .doesNotContain(HexFormat.of().formatHex(f.signed().getBody().toByteArray())
            .substring(0, 40));
  }

  @Test
  void anyAlteredByteFailsToOpen() {
    Fragment f = fragment(ALICE, "tamper with me");
    ReplicaBody body = sealed(ALICE, f);
    byte[] payload = body.getPayload().toByteArray();
    for (int i = 1; i < payload.length; i += 7) {
      byte[] bad = payload.clone();
      bad[i] ^= 0x40;
      ReplicaBody altered = body.toBuilder().setPayload(ByteString.copyFrom(bad)).build();
      assertThatThrownBy(() -> sealer.open(ALICE, altered))
          .isInstanceOf(SealException.class)
          .hasMessageContaining("do not authenticate");
    }
    byte[] nonce = body.getNonce().toByteArray();
    nonce[0] ^= 1;
    ReplicaBody otherNonce = body.toBuilder().setNonce(ByteString.copyFrom(nonce)).build();
    assertThatThrownBy(() -> sealer.open(ALICE, otherNonce)).isInstanceOf(SealException.class);
  }

  @Test
  void aCiphertextMovedUnderAnotherIdFails() {
    Fragment f = fragment(ALICE, "one");
    Fragment g = fragment(ALICE, "two");
    ReplicaBody moved = sealed(ALICE, f).toBuilder()
        .setFragmentId(ByteString.copyFrom(g.id().toBytes())).build();
    assertThatThrownBy(() -> sealer.open(ALICE, moved))
        .isInstanceOf(SealException.class)
        .hasMessageContaining(g.id().toString());
  }

  @Test
  void anotherOwnerCannotOpen() {
    Fragment f = fragment(ALICE, "alice only");
    ReplicaBody body = sealed(ALICE, f);
    assertThatThrownBy(() -> sealer.open(BOB, body))
        .isInstanceOf(SealException.class)
        .hasMessageContaining("another owner");
    // Even when the envelope is relabelled with Bob's key, Bob's derived key does not open it.
    ReplicaBody relabelled = body.toBuilder()
        .setOwnerPublicKey(ByteString.copyFrom(BOB.publicKey())).build();
    assertThatThrownBy(() -> sealer.open(BOB, relabelled))
        .isInstanceOf(SealException.class)
        .hasMessageContaining("do not authenticate");
  }

  @Test
  void onlyTheOwnerSealsItsFragments() {
    Fragment f = fragment(ALICE, "not bob's");
    assertThatThrownBy(() -> sealer.seal(BOB, f.signed()))
        .isInstanceOf(SealException.class)
        .hasMessageContaining("another owner");
  }

  @Test
  void sharedOrMalformedEnvelopesAreRefusedWithAReason() {
    Fragment f = fragment(ALICE, "x");
    ReplicaBody body = sealed(ALICE, f);
    assertThatThrownBy(() -> sealer.open(ALICE,
        body.toBuilder().setVisibility(dev.mycelium.wire.proto.Visibility.SHARED).build()))
        .isInstanceOf(SealException.class).hasMessageContaining("not sealed");
    assertThatThrownBy(() -> sealer.open(ALICE,
        body.toBuilder().setNonce(ByteString.copyFrom(new byte[5])).build()))
        .isInstanceOf(SealException.class).hasMessageContaining("nonce is 5 bytes");
    byte[] payload = body.getPayload().toByteArray();
    payload[0] = 9;
    assertThatThrownBy(() -> sealer.open(ALICE,
        body.toBuilder().setPayload(ByteString.copyFrom(payload)).build()))
        .isInstanceOf(SealException.class).hasMessageContaining("version 9");
  }

  @Test
  void noncesAreFreshAndCiphertextsDifferForTheSameFragment() {
    Fragment f = fragment(ALICE, "same every time");
    ReplicaCipher real = ReplicaCipher.withSecureRandom();
    Set<String> nonces = new HashSet<>();
    Set<String> payloads = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      ReplicaCipher.Sealed s = real.seal(ALICE, f.signed());
      assertThat(s.nonce()).hasSize(ReplicaCipher.NONCE_BYTES);
      nonces.add(HexFormat.of().formatHex(s.nonce()));
      payloads.add(HexFormat.of().formatHex(s.payload()));
    }
    assertThat(nonces).hasSize(200);
    assertThat(payloads).hasSize(200);
  }

  @Test
  void theKeyIsPerOwnerAndStable() {
    assertThat(ReplicaCipher.deriveKey(ALICE)).isEqualTo(ReplicaCipher.deriveKey(ALICE))
        .hasSize(32)
        .isNotEqualTo(ReplicaCipher.deriveKey(BOB))
        .isNotEqualTo(ALICE.seed());
  }
}
