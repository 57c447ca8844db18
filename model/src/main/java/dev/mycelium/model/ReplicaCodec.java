package dev.mycelium.model;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.FragmentBody;
import dev.mycelium.wire.proto.ReplicaBody;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.Arrays;

/**
 * Builds and checks {@link SignedReplica}s, the envelope a holder keeps for another owner.
 *
 * <p>A holder must be able to tell a good replica from a forged or rotten one without being
 * able to read it (private replicas are sealed), so the owner signs the SHA-256 of the canonical
 * {@link ReplicaBody}: the signature pins the fragment ID, the owner and the exact payload bytes.
 * For a shared replica the holder can check more, and does: the payload is the owner's
 * {@link SignedFragment}, whose body must hash to the fragment ID and name the same owner. The
 * payload of a private replica is opaque here; sealing and opening belong to the node.
 */
public final class ReplicaCodec {
  private ReplicaCodec() {}

  /**
   * A replica that passed {@link #verify}: its decoded body and the owner it belongs to.
   *
   * @param id the fragment ID the replica carries
   * @param owner the owner's node ID (SHA-256 of {@code ownerPublicKey})
   * @param visibility shared (payload in the clear) or private (sealed)
   * @param replica the signed replica as received
   * @param body its decoded body
   */
  public record Verified(
      FragmentId id, NodeId owner, Visibility visibility, SignedReplica replica, ReplicaBody body) {
    /** The raw Ed25519 public key of the owner. */
    public byte[] ownerPublicKey() {
      return body.getOwnerPublicKey().toByteArray();
    }

    /** Bytes of the signed replica as it travels and is stored. */
    public int size() {
      return replica.getSerializedSize();
    }
  }

  /**
   * Wraps one of the owner's shared fragments for a holder.
   *
   * @throws InvalidFragmentException when the fragment is not the owner's, is private (it must be
   *     sealed first, see {@link #sealed}) or does not parse
   */
  public static SignedReplica shared(OwnerKeys owner, SignedFragment fragment) {
    byte[] bodyBytes = fragment.getBody().toByteArray();
    FragmentBody body = parseFragmentBody(bodyBytes);
    if (!Arrays.equals(body.getOwnerPublicKey().toByteArray(), owner.publicKey())) {
      throw new InvalidFragmentException(
          "owner", "only the owner can replicate a fragment; this one belongs to someone else");
    }
    if (body.getVisibility() == dev.mycelium.wire.proto.Visibility.PRIVATE) {
      throw new InvalidFragmentException(
          "visibility", "a private fragment must be sealed before it leaves the owner");
    }
    ReplicaBody rb = ReplicaBody.newBuilder()
        .setFragmentId(ByteString.copyFrom(Canonical.sha256(bodyBytes)))
        .setOwnerPublicKey(ByteString.copyFrom(owner.publicKey()))
        .setVisibility(dev.mycelium.wire.proto.Visibility.SHARED)
        .setPayload(fragment.toByteString())
        .build();
    return sign(owner, rb);
  }

  /**
   * Wraps an already sealed private fragment (AEAD ciphertext and its nonce, made by the node).
   *
   * @throws InvalidFragmentException when the nonce or the payload is empty
   */
  public static SignedReplica sealed(OwnerKeys owner, FragmentId id, byte[] nonce, byte[] payload) {
    if (nonce == null || nonce.length == 0) {
      throw new InvalidFragmentException("nonce", "a sealed replica needs its AEAD nonce");
    }
    if (payload == null || payload.length == 0) {
      throw new InvalidFragmentException("payload", "a sealed replica needs its ciphertext");
    }
    ReplicaBody rb = ReplicaBody.newBuilder()
        .setFragmentId(ByteString.copyFrom(id.toBytes()))
        .setOwnerPublicKey(ByteString.copyFrom(owner.publicKey()))
        .setVisibility(dev.mycelium.wire.proto.Visibility.PRIVATE)
        .setNonce(ByteString.copyFrom(nonce))
        .setPayload(ByteString.copyFrom(payload))
        .build();
    return sign(owner, rb);
  }

  private static SignedReplica sign(OwnerKeys owner, ReplicaBody body) {
    byte[] bytes = Canonical.encode(body);
    return SignedReplica.newBuilder()
        .setBody(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(owner.sign(Canonical.sha256(bytes))))
        .build();
  }

  /**
   * Checks a replica from anywhere: the owner's signature over its body, a well-formed ID and
   * key, and for a shared replica that the payload is a fragment of the same owner whose body
   * hashes to the fragment ID.
   *
   * @throws InvalidFragmentException naming the first check that failed
   */
  public static Verified verify(SignedReplica replica) {
    byte[] bytes = replica.getBody().toByteArray();
    ReplicaBody body;
    try {
      body = ReplicaBody.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidFragmentException("replica", "replica body is not a valid encoding");
    }
    if (body.getFragmentId().size() != FragmentId.LENGTH) {
      throw new InvalidFragmentException("replica", "replica names no valid fragment ID");
    }
    byte[] key = body.getOwnerPublicKey().toByteArray();
    if (!OwnerKeys.verify(key, Canonical.sha256(bytes), replica.getSignature().toByteArray())) {
      throw new InvalidFragmentException("signature", "replica signature does not check");
    }
    FragmentId id = FragmentId.of(body.getFragmentId().toByteArray());
    Visibility visibility;
    switch (body.getVisibility()) {
      case SHARED -> {
        visibility = Visibility.SHARED;
        SignedFragment inner = sharedPayload(body);
        byte[] innerBody = inner.getBody().toByteArray();
        if (!Arrays.equals(Canonical.sha256(innerBody), id.toBytes())) {
          throw new InvalidFragmentException(
              "payload", "shared replica payload does not hash to fragment " + id);
        }
        if (!Arrays.equals(parseFragmentBody(innerBody).getOwnerPublicKey().toByteArray(), key)) {
          throw new InvalidFragmentException(
              "owner", "shared replica payload belongs to another owner than its envelope");
        }
      }
      case PRIVATE -> {
        visibility = Visibility.PRIVATE;
        if (body.getNonce().isEmpty() || body.getPayload().isEmpty()) {
          throw new InvalidFragmentException("payload", "sealed replica lacks nonce or payload");
        }
      }
      default -> throw new InvalidFragmentException(
          "visibility", "replica visibility must be SHARED or PRIVATE");
    }
    return new Verified(id, NodeId.fromPublicKey(key), visibility, replica, body);
  }

  /**
   * As {@link #verify(SignedReplica)}, and the replica must carry the expected ID (a holder that
   * answers a fetch for one ID with a valid replica of another is as wrong as a forger).
   */
  public static Verified verify(FragmentId expected, SignedReplica replica) {
    Verified v = verify(replica);
    if (!v.id().equals(expected)) {
      throw new InvalidFragmentException(
          "id", "replica carries fragment " + v.id() + ", expected " + expected);
    }
    return v;
  }

  /**
   * The owner's signed fragment inside a verified shared replica.
   *
   * @throws InvalidFragmentException when the replica is private
   */
  public static SignedFragment sharedFragment(Verified replica) {
    if (replica.visibility() != Visibility.SHARED) {
      throw new InvalidFragmentException("visibility", "a private replica must be opened by its owner");
    }
    return sharedPayload(replica.body());
  }

  private static SignedFragment sharedPayload(ReplicaBody body) {
    try {
      return SignedFragment.parseFrom(body.getPayload());
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidFragmentException("payload", "shared replica payload is not a fragment");
    }
  }

  private static FragmentBody parseFragmentBody(byte[] bodyBytes) {
    try {
      return FragmentBody.parseFrom(bodyBytes);
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidFragmentException("body", "fragment body is not a valid encoding");
    }
  }
}
