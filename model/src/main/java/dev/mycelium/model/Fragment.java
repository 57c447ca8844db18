package dev.mycelium.model;

import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.Map;

/**
 * A verified, decoded memory fragment. Only {@link FragmentCodec} makes these, after checking
 * the hash and the owner's signature, so holding one means its bytes are authentic.
 *
 * @param id content address of {@code signed.body}
 * @param owner the owner's node ID (SHA-256 of its public key)
 * @param createdAtMillis owner's clock at creation
 * @param text the fragment's text
 * @param vector its embedding; empty when the text has not been embedded yet
 * @param metadata string to string, sorted by key
 * @param visibility private or shared
 * @param signed the exact signed bytes, as stored and sent
 */
public record Fragment(
    FragmentId id,
    NodeId owner,
    long createdAtMillis,
    String text,
    float[] vector,
    Map<String, String> metadata,
    Visibility visibility,
    SignedFragment signed) {

  /** Whether the fragment carries an embedding. */
  public boolean hasVector() {
    return vector.length > 0;
  }
}
