package dev.mycelium.storage.replica;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.ReplicaBody;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.Visibility;
import java.util.Arrays;

/**
 * The checks a holder can make on a replica it may not be able to read: the envelope parses,
 * names a 32-byte fragment ID and an Ed25519 owner key, and carries the owner's signature over
 * SHA-256 of its exact body bytes; a shared replica's clear payload must also hash to the ID.
 * A sealed payload is bound to the ID by its AEAD tag, which only the owner can check.
 */
public final class ReplicaChecks {
  private ReplicaChecks() {}

  /**
   * The parts of a checked replica a store needs.
   *
   * @param id the fragment it holds
   * @param owner the owner's node ID
   * @param body the decoded envelope body
   */
  public record Checked(FragmentId id, NodeId owner, ReplicaBody body) {}

  /**
   * Parses an envelope without checking its signature: the cheap part of a check, for reads of
   * bytes whose digest already matched.
   *
   * @throws InvalidFragmentException naming what is malformed
   */
  public static Checked parse(SignedReplica replica) {
    ReplicaBody body;
    try {
      body = ReplicaBody.parseFrom(replica.getBody());
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidFragmentException("replica", "the replica body is not a valid encoding");
    }
    if (body.getFragmentId().size() != FragmentId.LENGTH) {
      throw new InvalidFragmentException("replica", "the replica names no valid fragment ID");
    }
    if (body.getOwnerPublicKey().size() != 32) {
      throw new InvalidFragmentException("replica", "the replica names no valid owner key");
    }
    return new Checked(
        FragmentId.of(body.getFragmentId().toByteArray()),
        NodeId.fromPublicKey(body.getOwnerPublicKey().toByteArray()),
        body);
  }

  /**
   * Checks a replica in full.
   *
   * @throws InvalidFragmentException when it is malformed, forged, or (shared) its payload does
   *     not hash to the fragment ID
   */
  public static Checked verify(SignedReplica replica) {
    Checked c = parse(replica);
    if (!OwnerKeys.verify(
        c.body().getOwnerPublicKey().toByteArray(),
        Canonical.sha256(replica.getBody().toByteArray()),
        replica.getSignature().toByteArray())) {
      throw new InvalidFragmentException("signature", "the owner's signature over replica "
          + c.id() + " does not check");
    }
    if (c.body().getVisibility() == Visibility.SHARED) {
      SignedFragment f;
      try {
        f = SignedFragment.parseFrom(c.body().getPayload());
      } catch (InvalidProtocolBufferException e) {
        throw new InvalidFragmentException("replica", "the shared replica's payload of "
            + c.id() + " is not a signed fragment");
      }
      if (!Arrays.equals(Canonical.sha256(f.getBody().toByteArray()), c.id().toBytes())) {
        throw new InvalidFragmentException("replica", "the shared replica's payload does not "
            + "hash to fragment " + c.id());
      }
    } else if (c.body().getVisibility() != Visibility.PRIVATE) {
      throw new InvalidFragmentException("replica", "the replica of " + c.id()
          + " says neither private nor shared");
    }
    return c;
  }
}
