package dev.mycelium.storage.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;

/**
 * Fragments, tombstones and replicas arrive from clients, peers and the disk, so their decoders
 * must answer any bytes with {@link InvalidProtocolBufferException} or
 * {@link InvalidFragmentException} and nothing else. Random bytes never carry a valid signature,
 * so the second target of each pair signs what the fuzzer made with a fixed owner key: that is
 * what lets it reach the checks that come after the signature.
 */
class CodecFuzzTest {
  private static final OwnerKeys OWNER = OwnerKeys.fromSeed(new byte[32]);
  private static final FragmentCodec CODEC =
      new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));

  @FuzzTest
  void signedFragment(byte[] input) {
    SignedFragment signed;
    try {
      signed = SignedFragment.parseFrom(input);
    } catch (InvalidProtocolBufferException e) {
      return;
    }
    FragmentId id = FragmentId.of(Canonical.sha256(signed.getBody().toByteArray()));
    expectFragment(() -> CODEC.verify(signed), id, true);
    expectFragment(() -> CODEC.verify(id, signed), id, true);
    // The read path of the node's own store checks the hash only, not the limits.
    expectFragment(() -> CODEC.decodeStored(id, signed), id, false);
  }

  @FuzzTest
  void ownerSignedFragmentBody(byte[] body) {
    byte[] id = Canonical.sha256(body);
    SignedFragment signed = SignedFragment.newBuilder()
        .setBody(ByteString.copyFrom(body))
        .setSignature(ByteString.copyFrom(OWNER.sign(id)))
        .build();
    expectFragment(() -> CODEC.verify(signed), FragmentId.of(id), true);
  }

  @FuzzTest
  void tombstone(byte[] input) {
    try {
      SignedTombstone t = SignedTombstone.parseFrom(input);
      CODEC.verifyTombstone(t);
    } catch (InvalidProtocolBufferException | InvalidFragmentException e) {
      // the documented answers to bad bytes
    }
  }

  @FuzzTest
  void ownerSignedTombstoneBody(byte[] body) {
    SignedTombstone t = SignedTombstone.newBuilder()
        .setBody(ByteString.copyFrom(body))
        .setSignature(ByteString.copyFrom(OWNER.sign(Canonical.sha256(body))))
        .build();
    try {
      CODEC.verifyTombstone(t);
    } catch (InvalidFragmentException e) {
      // the documented answer to a malformed tombstone
    }
  }

  @FuzzTest
  void signedReplica(byte[] input) {
    SignedReplica replica;
    try {
      replica = SignedReplica.parseFrom(input);
    } catch (InvalidProtocolBufferException e) {
      return;
    }
    checkReplica(replica);
  }

  @FuzzTest
  void ownerSignedReplicaBody(byte[] body) {
    checkReplica(SignedReplica.newBuilder()
        .setBody(ByteString.copyFrom(body))
        .setSignature(ByteString.copyFrom(OWNER.sign(Canonical.sha256(body))))
        .build());
  }

  private static void checkReplica(SignedReplica replica) {
    ReplicaCodec.Verified v;
    try {
      v = ReplicaCodec.verify(replica);
    } catch (InvalidFragmentException e) {
      return;
    }
    assertThat(v.size()).isEqualTo(replica.getSerializedSize());
    try {
      SignedFragment inner = ReplicaCodec.sharedFragment(v);
      assertThat(Canonical.sha256(inner.getBody().toByteArray())).isEqualTo(v.id().toBytes());
    } catch (InvalidFragmentException e) {
      // a private replica: opaque here
    }
  }

  private interface Decode {
    Fragment run();
  }

  private static void expectFragment(Decode decode, FragmentId id, boolean checked) {
    Fragment f;
    try {
      f = decode.run();
    } catch (InvalidFragmentException e) {
      assertThat(e.field()).isNotBlank();
      return;
    }
    assertThat(f.id()).isEqualTo(id);
    if (checked) {
      assertThat(f.vector().length).isIn(0, CODEC.limits().dimension());
      assertThat(f.metadata().size()).isLessThanOrEqualTo(CODEC.limits().maxMetadataEntries());
    }
  }
}
