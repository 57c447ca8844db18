package dev.mycelium.model;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.FragmentBody;
import dev.mycelium.wire.proto.MetadataEntry;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import dev.mycelium.wire.proto.TombstoneBody;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds, signs, checks and decodes fragments and tombstones. Everything that enters a store or
 * leaves a node passes through here, so the limits and the signature rules live in one place.
 */
public final class FragmentCodec {
  private final FragmentLimits limits;

  /** A codec that enforces the given limits. */
  public FragmentCodec(FragmentLimits limits) {
    this.limits = limits;
  }

  /** The limits this codec enforces. */
  public FragmentLimits limits() {
    return limits;
  }

  /**
   * Makes and signs a new fragment.
   *
   * @param vector the embedding, or an empty array to have it embedded later
   * @throws InvalidFragmentException when an argument is over a limit
   */
  public Fragment create(
      OwnerKeys owner,
      long createdAtMillis,
      String text,
      float[] vector,
      Map<String, String> metadata,
      Visibility visibility) {
    checkText(text);
    checkVector(vector);
    checkMetadata(metadata);
    FragmentBody.Builder body =
        FragmentBody.newBuilder()
            .setOwnerPublicKey(ByteString.copyFrom(owner.publicKey()))
            .setCreatedAtMillis(createdAtMillis)
            .setText(text)
            .setVisibility(
                visibility == Visibility.PRIVATE
                    ? dev.mycelium.wire.proto.Visibility.PRIVATE
                    : dev.mycelium.wire.proto.Visibility.SHARED);
    for (float f : vector) {
      body.addVector(f);
    }
    new TreeMap<>(metadata)
        .forEach((k, v) -> body.addMetadata(MetadataEntry.newBuilder().setKey(k).setValue(v)));
    byte[] bodyBytes = Canonical.encode(body.build());
    byte[] id = Canonical.sha256(bodyBytes);
    SignedFragment signed =
        SignedFragment.newBuilder()
            .setBody(ByteString.copyFrom(bodyBytes))
            .setSignature(ByteString.copyFrom(owner.sign(id)))
            .build();
    // Built from checked arguments and signed here: checking our own signature again would
    // double the cost of a put for nothing.
    return decode(FragmentId.of(id), signed, body.build());
  }

  /**
   * Checks a signed fragment from anywhere (client, peer, disk) and decodes it.
   *
   * @throws InvalidFragmentException when it is malformed, over a limit, not canonical, or its
   *     signature does not check
   */
  public Fragment verify(SignedFragment signed) {
    byte[] bodyBytes = signed.getBody().toByteArray();
    byte[] id = Canonical.sha256(bodyBytes);
    return verify(FragmentId.of(id), signed, bodyBytes);
  }

  /**
   * Checks a stored fragment against the ID it is stored under: the hash must match exactly.
   *
   * @throws InvalidFragmentException when it does not
   */
  public Fragment verify(FragmentId expected, SignedFragment signed) {
    byte[] bodyBytes = signed.getBody().toByteArray();
    byte[] id = Canonical.sha256(bodyBytes);
    if (!Arrays.equals(id, expected.toBytes())) {
      throw new InvalidFragmentException("id", "content hash does not match fragment " + expected);
    }
    return verify(expected, signed, bodyBytes);
  }

  /**
   * Decodes a fragment read back from this node's own store, checking only that its bytes
   * still hash to the ID they are stored under.
   *
   * <p>Every fragment had its signature and canonical form checked by {@link #verify} before
   * it was stored, and the SHA-256 content address pins those exact bytes; so on the read path
   * the hash alone detects corruption, at a small fraction of the cost of an Ed25519 check.
   * The scrubber still runs the full check.
   *
   * @throws InvalidFragmentException when the hash does not match or the bytes do not parse
   */
  public Fragment decodeStored(FragmentId expected, SignedFragment signed) {
    byte[] bodyBytes = signed.getBody().toByteArray();
    if (!Arrays.equals(Canonical.sha256(bodyBytes), expected.toBytes())) {
      throw new InvalidFragmentException("id", "content hash does not match fragment " + expected);
    }
    try {
      return decode(expected, signed, FragmentBody.parseFrom(bodyBytes));
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidFragmentException("body", "fragment body is not a valid encoding");
    }
  }

  private Fragment verify(FragmentId id, SignedFragment signed, byte[] bodyBytes) {
    FragmentBody body;
    try {
      body = FragmentBody.parseFrom(bodyBytes);
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidFragmentException("body", "fragment body is not a valid encoding");
    }
    FragmentBody normal;
    try {
      normal = Canonical.normalize(body);
    } catch (IllegalArgumentException e) {
      throw new InvalidFragmentException("metadata", e.getMessage());
    }
    if (!Arrays.equals(Canonical.encode(normal), bodyBytes)) {
      throw new InvalidFragmentException("body", "fragment body is not in canonical form");
    }
    byte[] publicKey = body.getOwnerPublicKey().toByteArray();
    if (!OwnerKeys.verify(publicKey, id.toBytes(), signed.getSignature().toByteArray())) {
      throw new InvalidFragmentException("signature", "owner signature does not check");
    }
    checkText(body.getText());
    Fragment fragment = decode(id, signed, body);
    checkVector(fragment.vector());
    checkMetadata(fragment.metadata());
    return fragment;
  }

  private static Fragment decode(FragmentId id, SignedFragment signed, FragmentBody body) {
    byte[] publicKey = body.getOwnerPublicKey().toByteArray();
    float[] vector = new float[body.getVectorCount()];
    for (int i = 0; i < vector.length; i++) {
      vector[i] = body.getVector(i);
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    for (MetadataEntry e : body.getMetadataList()) {
      metadata.put(e.getKey(), e.getValue());
    }
    return new Fragment(
        id,
        NodeId.fromPublicKey(publicKey),
        body.getCreatedAtMillis(),
        body.getText(),
        vector,
        Collections.unmodifiableMap(metadata),
        body.getVisibility() == dev.mycelium.wire.proto.Visibility.PRIVATE
            ? Visibility.PRIVATE
            : Visibility.SHARED,
        signed);
  }

  /** Makes a signed tombstone for one of the owner's fragments. */
  public SignedTombstone tombstone(OwnerKeys owner, FragmentId id, long deletedAtMillis) {
    byte[] body =
        Canonical.encode(
            TombstoneBody.newBuilder()
                .setFragmentId(ByteString.copyFrom(id.toBytes()))
                .setOwnerPublicKey(ByteString.copyFrom(owner.publicKey()))
                .setDeletedAtMillis(deletedAtMillis)
                .build());
    return SignedTombstone.newBuilder()
        .setBody(ByteString.copyFrom(body))
        .setSignature(ByteString.copyFrom(owner.sign(Canonical.sha256(body))))
        .build();
  }

  /**
   * Checks a tombstone's signature and decodes it.
   *
   * @throws InvalidFragmentException when it is malformed or forged
   */
  public TombstoneBody verifyTombstone(SignedTombstone tombstone) {
    byte[] bytes = tombstone.getBody().toByteArray();
    TombstoneBody body;
    try {
      body = TombstoneBody.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidFragmentException("tombstone", "tombstone is not a valid encoding");
    }
    if (body.getFragmentId().size() != FragmentId.LENGTH) {
      throw new InvalidFragmentException("tombstone", "tombstone names no valid fragment ID");
    }
    if (!OwnerKeys.verify(
        body.getOwnerPublicKey().toByteArray(),
        Canonical.sha256(bytes),
        tombstone.getSignature().toByteArray())) {
      throw new InvalidFragmentException("signature", "tombstone signature does not check");
    }
    return body;
  }

  /**
   * Checks a tombstone for one fragment: its signature, and that it names that fragment.
   *
   * @return the node ID of the tombstone's signer
   * @throws InvalidFragmentException when it is forged, malformed or for another fragment
   */
  public NodeId verifyTombstoneFor(FragmentId id, SignedTombstone tombstone) {
    TombstoneBody body = verifyTombstone(tombstone);
    if (!Arrays.equals(body.getFragmentId().toByteArray(), id.toBytes())) {
      throw new InvalidFragmentException(
          "tombstone", "the tombstone is for another fragment than " + id);
    }
    return NodeId.fromPublicKey(body.getOwnerPublicKey().toByteArray());
  }

  private void checkText(String text) {
    if (text == null) {
      throw new InvalidFragmentException("text", "text is missing");
    }
    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > limits.maxTextBytes()) {
      throw new InvalidFragmentException(
          "text",
          "text is " + bytes + " bytes; the limit is " + limits.maxTextBytes()
              + " (storage.max-text-bytes)");
    }
  }

  private void checkVector(float[] vector) {
    if (vector.length != 0 && vector.length != limits.dimension()) {
      throw new InvalidFragmentException(
          "vector",
          "vector has " + vector.length + " dimensions; this store uses " + limits.dimension()
              + " (storage.dimension)");
    }
    for (float f : vector) {
      if (!Float.isFinite(f)) {
        throw new InvalidFragmentException("vector", "vector has a NaN or infinite component");
      }
    }
  }

  private void checkMetadata(Map<String, String> metadata) {
    if (metadata.size() > limits.maxMetadataEntries()) {
      throw new InvalidFragmentException(
          "metadata",
          "metadata has " + metadata.size() + " entries; the limit is "
              + limits.maxMetadataEntries());
    }
    int bytes = 0;
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (e.getKey() == null || e.getKey().isEmpty() || e.getValue() == null) {
        throw new InvalidFragmentException("metadata", "metadata keys and values must be strings");
      }
      bytes += e.getKey().getBytes(StandardCharsets.UTF_8).length;
      bytes += e.getValue().getBytes(StandardCharsets.UTF_8).length;
    }
    if (bytes > limits.maxMetadataBytes()) {
      throw new InvalidFragmentException(
          "metadata",
          "metadata is " + bytes + " bytes; the limit is " + limits.maxMetadataBytes());
    }
  }
}
