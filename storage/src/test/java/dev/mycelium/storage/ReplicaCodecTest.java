package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.proto.ReplicaBody;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReplicaCodecTest {
  private final Fragment f = Fixtures.fragment(7);

  @Test
  void sharedReplicaRoundTripsAndCarriesTheFragment() {
    SignedReplica r = ReplicaCodec.shared(Fixtures.ALICE, f.signed());
    ReplicaCodec.Verified v = ReplicaCodec.verify(f.id(), r);
    assertThat(v.id()).isEqualTo(f.id());
    assertThat(v.owner()).isEqualTo(Fixtures.ALICE.nodeId());
    assertThat(v.visibility()).isEqualTo(Visibility.SHARED);
    assertThat(ReplicaCodec.sharedFragment(v)).isEqualTo(f.signed());
    assertThat(Fixtures.CODEC.verify(ReplicaCodec.sharedFragment(v)).id()).isEqualTo(f.id());
  }

  @Test
  void onlyTheOwnerCanWrapAndPrivateFragmentsMustBeSealed() {
    assertThatThrownBy(() -> ReplicaCodec.shared(Fixtures.BOB, f.signed()))
        .isInstanceOf(InvalidFragmentException.class).hasMessageContaining("owner");
    Fragment priv = Fixtures.CODEC.create(Fixtures.ALICE, 1, "secret", new float[0], Map.of(),
        Visibility.PRIVATE);
    assertThatThrownBy(() -> ReplicaCodec.shared(Fixtures.ALICE, priv.signed()))
        .isInstanceOf(InvalidFragmentException.class).hasMessageContaining("sealed");
  }

  @Test
  void sealedReplicaVerifiesWithoutBeingReadable() {
    SignedReplica r = ReplicaCodec.sealed(Fixtures.ALICE, f.id(), new byte[12], new byte[] {1, 2, 3});
    ReplicaCodec.Verified v = ReplicaCodec.verify(r);
    assertThat(v.visibility()).isEqualTo(Visibility.PRIVATE);
    assertThat(v.id()).isEqualTo(f.id());
    assertThatThrownBy(() -> ReplicaCodec.sharedFragment(v))
        .isInstanceOf(InvalidFragmentException.class);
    assertThatThrownBy(() -> ReplicaCodec.sealed(Fixtures.ALICE, f.id(), new byte[0], new byte[1]))
        .hasMessageContaining("nonce");
  }

  @Test
  void alteredPayloadOrSignatureIsRejected() {
    SignedReplica r = ReplicaCodec.shared(Fixtures.ALICE, f.signed());
    byte[] body = r.getBody().toByteArray();
    body[body.length - 3] ^= 1;
    SignedReplica altered = r.toBuilder().setBody(ByteString.copyFrom(body)).build();
    assertThatThrownBy(() -> ReplicaCodec.verify(altered))
        .isInstanceOf(InvalidFragmentException.class);
    byte[] sig = r.getSignature().toByteArray();
    sig[0] ^= 1;
    assertThatThrownBy(() -> ReplicaCodec.verify(r.toBuilder().setSignature(ByteString.copyFrom(sig)).build()))
        .hasMessageContaining("signature");
  }

  @Test
  void ownerSignedButInconsistentSharedPayloadIsRejected() {
    // The owner's key signs an envelope whose ID does not match its payload: still refused.
    Fragment other = Fixtures.fragment(8);
    ReplicaBody rb = ReplicaBody.newBuilder()
        .setFragmentId(ByteString.copyFrom(other.id().toBytes()))
        .setOwnerPublicKey(ByteString.copyFrom(Fixtures.ALICE.publicKey()))
        .setVisibility(dev.mycelium.wire.proto.Visibility.SHARED)
        .setPayload(f.signed().toByteString()).build();
    assertThatThrownBy(() -> ReplicaCodec.verify(signed(rb)))
        .hasMessageContaining("does not hash");
    // Bob's fragment wrapped and signed by Alice.
    Fragment bobs = Fixtures.fragment(Fixtures.BOB, 9);
    ReplicaBody rb2 = rb.toBuilder().setFragmentId(ByteString.copyFrom(bobs.id().toBytes()))
        .setPayload(bobs.signed().toByteString()).build();
    assertThatThrownBy(() -> ReplicaCodec.verify(signed(rb2)))
        .hasMessageContaining("another owner");
  }

  @Test
  void aReplicaOfAnotherIdIsRejectedWhenAnIdIsExpected() {
    SignedReplica r = ReplicaCodec.shared(Fixtures.ALICE, f.signed());
    assertThatThrownBy(() -> ReplicaCodec.verify(Fixtures.fragment(8).id(), r))
        .hasMessageContaining("expected");
  }

  @Test
  void garbageIsRejectedWithAClearError() {
    SignedReplica junk = SignedReplica.newBuilder()
        .setBody(ByteString.copyFrom(new byte[] {(byte) 0xff, 1, 2})).build();
    assertThatThrownBy(() -> ReplicaCodec.verify(junk)).isInstanceOf(InvalidFragmentException.class);
    SignedFragment notAFragment = SignedFragment.getDefaultInstance();
    assertThatThrownBy(() -> ReplicaCodec.shared(Fixtures.ALICE, notAFragment))
        .isInstanceOf(InvalidFragmentException.class);
  }

  private static SignedReplica signed(ReplicaBody rb) {
    byte[] bytes = Canonical.encode(rb);
    return SignedReplica.newBuilder().setBody(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(Fixtures.ALICE.sign(Canonical.sha256(bytes)))).build();
  }
}
