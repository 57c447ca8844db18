package dev.mycelium.node.peer;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.Signer;
import dev.mycelium.overlay.Verifier;
import dev.mycelium.wire.NodeId;
import java.util.Arrays;

/**
 * Ed25519 origin signatures for overlay broadcasts.
 *
 * <p>Why the public key travels with the signature: a broadcast names its origin only by node
 * ID, and most receivers never had a link to the origin, so they cannot know its key. The
 * signature field therefore carries the 32-byte public key followed by the 64-byte Ed25519
 * signature (RFC 8032); a receiver checks that the key hashes to the origin's node ID (which
 * binds it, as the node ID is the SHA-256 of the key) and then the signature.
 */
public final class BroadcastSignatures {
  private static final int KEY_BYTES = 32;
  private static final int SIGNATURE_BYTES = 64;

  private BroadcastSignatures() {}

  /** Signs this node's broadcasts. */
  public static Signer signer(OwnerKeys keys) {
    byte[] pub = keys.publicKey();
    return signed -> {
      byte[] sig = keys.sign(signed);
      byte[] out = Arrays.copyOf(pub, KEY_BYTES + sig.length);
      System.arraycopy(sig, 0, out, KEY_BYTES, sig.length);
      return out;
    };
  }

  /** Checks any origin's broadcasts. */
  public static Verifier verifier() {
    return (NodeId origin, byte[] signed, byte[] signature) -> {
      if (signature == null || signature.length != KEY_BYTES + SIGNATURE_BYTES) {
        return false;
      }
      byte[] pub = Arrays.copyOf(signature, KEY_BYTES);
      if (!NodeId.fromPublicKey(pub).equals(origin)) {
        return false;
      }
      return OwnerKeys.verify(pub, signed,
          Arrays.copyOfRange(signature, KEY_BYTES, signature.length));
    };
  }
}
