package dev.mycelium.model;

import dev.mycelium.wire.NodeId;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * An owner's Ed25519 signing key (RFC 8032), through BouncyCastle's lightweight API, which
 * signs several times faster than the JDK 17 provider: signing is on the put path.
 *
 * <p>The node's identity (see {@code node}) keeps the 32-byte seed on disk; everything that
 * signs fragments or tombstones gets one of these.
 */
public final class OwnerKeys {
  private final Ed25519PrivateKeyParameters privateKey;
  private final byte[] publicKey;
  private final NodeId nodeId;

  private OwnerKeys(Ed25519PrivateKeyParameters privateKey) {
    this.privateKey = privateKey;
    this.publicKey = privateKey.generatePublicKey().getEncoded();
    this.nodeId = NodeId.fromPublicKey(publicKey);
  }

  /** A new key from the given source of randomness. */
  public static OwnerKeys generate(SecureRandom random) {
    return new OwnerKeys(new Ed25519PrivateKeyParameters(random));
  }

  /** The key whose 32-byte seed is given (as kept in the identity file). */
  public static OwnerKeys fromSeed(byte[] seed) {
    if (seed.length != Ed25519PrivateKeyParameters.KEY_SIZE) {
      throw new IllegalArgumentException("an Ed25519 seed is 32 bytes, got " + seed.length);
    }
    return new OwnerKeys(new Ed25519PrivateKeyParameters(seed, 0));
  }

  /** The 32-byte seed, to be kept secret. */
  public byte[] seed() {
    return privateKey.getEncoded();
  }

  /** The raw 32-byte public key. */
  public byte[] publicKey() {
    return publicKey.clone();
  }

  /** SHA-256 of the public key. */
  public NodeId nodeId() {
    return nodeId;
  }

  /** Signs a message (in practice a 32-byte hash). */
  public byte[] sign(byte[] message) {
    Ed25519Signer signer = new Ed25519Signer();
    signer.init(true, privateKey);
    signer.update(message, 0, message.length);
    return signer.generateSignature();
  }

  /**
   * Decoded public keys by raw key, direct-mapped: a slot holds the last key whose hash fell on
   * it. Decoding a key is a point decompression (a field square root), about a sixth of a
   * verification in BouncyCastle; a holder checks thousands of replicas of the same few owners
   * in a row, so it decodes each owner once. Slots hold immutable entries and are read and
   * written without locks: a racing thread at worst decodes a key again. Bounded by its size.
   */
  private static final DecodedKey[] DECODED = new DecodedKey[256];

  private record DecodedKey(byte[] raw, Ed25519PublicKeyParameters key) {}

  /** The decoded form of a 32-byte public key, or null when it is not a point on the curve. */
  private static Ed25519PublicKeyParameters decoded(byte[] publicKey) {
    int slot = Arrays.hashCode(publicKey) & (DECODED.length - 1);
    DecodedKey e = DECODED[slot];
    if (e != null && Arrays.equals(e.raw(), publicKey)) {
      return e.key();
    }
    Ed25519PublicKeyParameters key;
    try {
      key = new Ed25519PublicKeyParameters(publicKey, 0);
    } catch (IllegalArgumentException notAPoint) {
      return null;
    }
    DECODED[slot] = new DecodedKey(publicKey.clone(), key);
    return key;
  }

  /** Checks an Ed25519 signature by the given raw public key; false for a key that is not one. */
  public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
    if (publicKey.length != Ed25519PublicKeyParameters.KEY_SIZE
        || signature.length != Ed25519PrivateKeyParameters.SIGNATURE_SIZE) {
      return false;
    }
    Ed25519PublicKeyParameters key = decoded(publicKey);
    if (key == null) {
      // 32 bytes that are not a point on the curve: nobody can have signed with them.
      return false;
    }
    Ed25519Signer verifier = new Ed25519Signer();
    verifier.init(false, key);
    verifier.update(message, 0, message.length);
    return verifier.verifySignature(signature);
  }
}
