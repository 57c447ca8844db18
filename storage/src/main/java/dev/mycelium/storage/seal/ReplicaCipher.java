package dev.mycelium.storage.seal;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.proto.ReplicaBody;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.Visibility;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.function.Consumer;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * Seals an owner's private fragment before it leaves the owner, and opens it again when the
 * owner pulls it back. Why: a holder must be able to check, scrub and serve a replica (it checks
 * the owner's signature over the {@code ReplicaBody}), but must not be able to read it
 * (DESIGN.md, "Identity and security").
 *
 * <p>The construction uses standard primitives only:
 *
 * <ul>
 *   <li>Key: HKDF-SHA256 (RFC 5869) over the owner's 32-byte Ed25519 seed, salted with the
 *       owner's public key, with the info string {@value #INFO}. The seed never leaves the
 *       owner, so no one else can derive the key; the info string separates this key from the
 *       signing use of the same seed and names a version, so a future scheme gets a fresh key.
 *   <li>Cipher: AES-256-GCM (NIST SP 800-38D) from the JDK, a fresh random 96-bit nonce per
 *       seal, a 128-bit tag.
 *   <li>Associated data: a version tag, the fragment ID and the owner's public key, so a
 *       ciphertext moved under another ID or another owner's envelope fails its tag.
 * </ul>
 *
 * <p>The payload is one version byte followed by the GCM output (ciphertext and tag); the nonce
 * goes in {@code ReplicaBody.nonce}. Random nonces under one key stay safe for about 2^32
 * seals (SP 800-38D, 8.3), far beyond the store's capacity per owner.
 *
 * <p>Thread-safe: the only state is the source of randomness.
 */
public final class ReplicaCipher {
  /** HKDF info string: what the key is for, and the scheme's version. */
  public static final String INFO = "Mycelium replica sealing v1";
  /** First byte of every payload this version makes. */
  public static final byte VERSION = 1;
  /** Nonce length, bytes (96 bits, the GCM default). */
  public static final int NONCE_BYTES = 12;
  /** Authentication tag length, bits. */
  public static final int TAG_BITS = 128;

  private static final byte[] AAD_TAG = "mycelium-replica-v1".getBytes(StandardCharsets.US_ASCII);

  private final Consumer<byte[]> nonces;

  /**
   * A sealer drawing nonces from the given source; the node passes a {@link SecureRandom},
   * tests a seeded one so that outputs replay.
   */
  public ReplicaCipher(Consumer<byte[]> nonceSource) {
    this.nonces = nonceSource;
  }

  /** A sealer drawing nonces from a fresh {@link SecureRandom}. */
  public static ReplicaCipher withSecureRandom() {
    SecureRandom random = new SecureRandom();
    return new ReplicaCipher(random::nextBytes);
  }

  /**
   * The sealed form of one fragment, for {@code ReplicaBody.nonce} and {@code
   * ReplicaBody.payload}.
   *
   * @param nonce the 12-byte nonce
   * @param payload the version byte followed by the ciphertext and tag
   */
  public record Sealed(byte[] nonce, byte[] payload) {}

  /**
   * Seals one of the owner's fragments.
   *
   * @throws SealException when the fragment is not the owner's
   */
  public Sealed seal(OwnerKeys owner, SignedFragment fragment) {
    byte[] body = fragment.getBody().toByteArray();
    byte[] id = Canonical.sha256(body);
    byte[] ownerKey = owner.publicKey();
    checkOwner(ownerKey, body, id);
    byte[] nonce = new byte[NONCE_BYTES];
    nonces.accept(nonce);
    byte[] out;
    try {
      Cipher c = cipher(Cipher.ENCRYPT_MODE, owner, nonce);
      c.updateAAD(aad(id, ownerKey));
      out = c.doFinal(fragment.toByteArray());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is missing from this JVM", e);
    }
    byte[] payload = new byte[out.length + 1];
    payload[0] = VERSION;
    System.arraycopy(out, 0, payload, 1, out.length);
    return new Sealed(nonce, payload);
  }

  /**
   * Opens a sealed replica of one of the owner's fragments and checks that what comes out is
   * the very fragment the envelope names (its body hashes to {@code fragment_id}).
   *
   * @throws SealException when the envelope is not a private replica of this owner, its bytes
   *     were altered, or the key is not the owner's
   */
  public SignedFragment open(OwnerKeys owner, ReplicaBody body) {
    if (body.getVisibility() != Visibility.PRIVATE) {
      throw new SealException("the replica is " + body.getVisibility()
          + ", not sealed; read its payload as a SignedFragment");
    }
    byte[] ownerKey = owner.publicKey();
    if (!Arrays.equals(body.getOwnerPublicKey().toByteArray(), ownerKey)) {
      throw new SealException("the replica belongs to another owner than "
          + owner.nodeId().shortString() + "; only its owner can open it");
    }
    byte[] id = body.getFragmentId().toByteArray();
    if (id.length != FragmentId.LENGTH) {
      throw new SealException("the replica names no valid fragment ID ("
          + id.length + " bytes)");
    }
    byte[] nonce = body.getNonce().toByteArray();
    if (nonce.length != NONCE_BYTES) {
      throw new SealException("the replica's nonce is " + nonce.length + " bytes; a sealed "
          + "replica has " + NONCE_BYTES);
    }
    byte[] payload = body.getPayload().toByteArray();
    if (payload.length < 1 + TAG_BITS / 8) {
      throw new SealException("the sealed payload is too short (" + payload.length + " bytes)");
    }
    if (payload[0] != VERSION) {
      throw new SealException("the sealed payload has version " + payload[0]
          + "; this node opens version " + VERSION);
    }
    byte[] plain;
    try {
      Cipher c = cipher(Cipher.DECRYPT_MODE, owner, nonce);
      c.updateAAD(aad(id, ownerKey));
      plain = c.doFinal(payload, 1, payload.length - 1);
    } catch (AEADBadTagException e) {
      throw new SealException("fragment " + FragmentId.of(id) + ": the sealed bytes do not "
          + "authenticate (altered, or sealed under another key or fragment ID)", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is missing from this JVM", e);
    }
    SignedFragment fragment;
    try {
      fragment = SignedFragment.parseFrom(plain);
    } catch (InvalidProtocolBufferException e) {
      throw new SealException("fragment " + FragmentId.of(id)
          + ": the opened payload is not a signed fragment", e);
    }
    byte[] actual = Canonical.sha256(fragment.getBody().toByteArray());
    if (!Arrays.equals(actual, id)) {
      throw new SealException("fragment " + FragmentId.of(id)
          + ": the opened fragment hashes to another ID");
    }
    return fragment;
  }

  private static void checkOwner(byte[] ownerKey, byte[] body, byte[] id) {
    dev.mycelium.wire.proto.FragmentBody parsed;
    try {
      parsed = dev.mycelium.wire.proto.FragmentBody.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw new SealException("fragment " + FragmentId.of(id) + " does not parse; not sealed", e);
    }
    if (!Arrays.equals(parsed.getOwnerPublicKey().toByteArray(), ownerKey)) {
      throw new SealException("fragment " + FragmentId.of(id)
          + " belongs to another owner; a node seals only its own fragments");
    }
  }

  /** The sealing key of one owner: HKDF-SHA256(seed, salt = public key, info = {@link #INFO}). */
  static byte[] deriveKey(OwnerKeys owner) {
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    byte[] seed = owner.seed();
    try {
      hkdf.init(new HKDFParameters(seed, owner.publicKey(),
          INFO.getBytes(StandardCharsets.US_ASCII)));
      byte[] key = new byte[32];
      hkdf.generateBytes(key, 0, key.length);
      return key;
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  private static Cipher cipher(int mode, OwnerKeys owner, byte[] nonce)
      throws GeneralSecurityException {
    byte[] key = deriveKey(owner);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
      return c;
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  private static byte[] aad(byte[] id, byte[] ownerKey) {
    byte[] aad = new byte[AAD_TAG.length + id.length + ownerKey.length];
    System.arraycopy(AAD_TAG, 0, aad, 0, AAD_TAG.length);
    System.arraycopy(id, 0, aad, AAD_TAG.length, id.length);
    System.arraycopy(ownerKey, 0, aad, AAD_TAG.length + id.length, ownerKey.length);
    return aad;
  }
}
