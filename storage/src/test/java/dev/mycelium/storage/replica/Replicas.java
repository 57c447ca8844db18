package dev.mycelium.storage.replica;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.storage.seal.ReplicaCipher;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.proto.ReplicaBody;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.Map;
import java.util.Random;

/** Replicas for tests, from fixed keys so that failures replay. */
final class Replicas {
  static final FragmentCodec CODEC = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  static final OwnerKeys ALICE = OwnerKeys.fromSeed(seed(1));
  static final OwnerKeys BOB = OwnerKeys.fromSeed(seed(2));
  private static final ReplicaCipher SEALER = new ReplicaCipher(new Random(3)::nextBytes);

  private Replicas() {}

  static byte[] seed(int b) {
    byte[] s = new byte[32];
    s[0] = (byte) b;
    return s;
  }

  static Fragment fragment(OwnerKeys owner, int n, Visibility v) {
    return CODEC.create(owner, 1_700_000_000_000L + n, "replica number " + n,
        new float[] {n, 1, 2, 3}, Map.of("n", "" + n), v);
  }

  /** A shared replica: the signed fragment in the clear. */
  static SignedReplica shared(OwnerKeys owner, int n) {
    Fragment f = fragment(owner, n, Visibility.SHARED);
    return sign(owner, ReplicaBody.newBuilder()
        .setFragmentId(ByteString.copyFrom(f.id().toBytes()))
        .setOwnerPublicKey(ByteString.copyFrom(owner.publicKey()))
        .setVisibility(dev.mycelium.wire.proto.Visibility.SHARED)
        .setPayload(f.signed().toByteString())
        .build());
  }

  /** A private replica, sealed. */
  static SignedReplica sealed(OwnerKeys owner, int n) {
    Fragment f = fragment(owner, n, Visibility.PRIVATE);
    ReplicaCipher.Sealed s = SEALER.seal(owner, f.signed());
    return sign(owner, ReplicaBody.newBuilder()
        .setFragmentId(ByteString.copyFrom(f.id().toBytes()))
        .setOwnerPublicKey(ByteString.copyFrom(owner.publicKey()))
        .setVisibility(dev.mycelium.wire.proto.Visibility.PRIVATE)
        .setNonce(ByteString.copyFrom(s.nonce()))
        .setPayload(ByteString.copyFrom(s.payload()))
        .build());
  }

  static SignedReplica sign(OwnerKeys owner, ReplicaBody body) {
    byte[] bytes = Canonical.encode(body);
    return SignedReplica.newBuilder()
        .setBody(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(owner.sign(Canonical.sha256(bytes))))
        .build();
  }

  static dev.mycelium.model.FragmentId idOf(SignedReplica r) {
    return ReplicaChecks.parse(r).id();
  }
}
