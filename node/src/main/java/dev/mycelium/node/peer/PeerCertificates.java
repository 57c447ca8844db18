package dev.mycelium.node.peer;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.wire.NodeId;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The TLS credentials of a node, derived from its Ed25519 identity, and the rule that ties a
 * peer's certificate to the node ID it claims.
 *
 * <p>Why self-signed: Mycelium has no certificate authority, and needs none. A node ID is the
 * SHA-256 of the node's public key, so a certificate proves an identity simply by carrying the
 * key whose hash is the claimed ID (the same idea as Syncthing's device certificates). TLS
 * proves the peer holds the private key; {@link #nodeIdOf} turns that into the node ID that
 * the transport compares with the one in the peer's Hello.
 *
 * <p>Keys cross from the BouncyCastle-based {@link OwnerKeys} into the JDK's own Ed25519
 * provider through their standard encodings (PKCS#8 and SubjectPublicKeyInfo, RFC 8410), so
 * the TLS stack signs with the JDK provider and no security provider is installed globally.
 */
public final class PeerCertificates {
  /** RFC 8410 PKCS#8 prefix for an Ed25519 private key; the 32-byte seed follows. */
  private static final byte[] PKCS8_PREFIX = hex("302e020100300506032b657004220420");

  /** RFC 8410 SubjectPublicKeyInfo prefix for an Ed25519 public key; 32 bytes follow. */
  private static final byte[] SPKI_PREFIX = hex("302a300506032b6570032100");

  private static final int RAW_KEY_BYTES = 32;

  /** Validity window of a node certificate; a node makes a fresh one at every start. */
  private static final Duration VALIDITY = Duration.ofDays(3650);

  private final PrivateKey privateKey;
  private final X509Certificate certificate;
  private final NodeId nodeId;

  private PeerCertificates(PrivateKey privateKey, X509Certificate certificate, NodeId nodeId) {
    this.privateKey = privateKey;
    this.certificate = certificate;
    this.nodeId = nodeId;
  }

  /** Makes the private key and a self-signed certificate for the node's identity. */
  public static PeerCertificates forKeys(OwnerKeys keys) {
    try {
      PrivateKey priv = privateKey(keys.seed());
      PublicKey pub = publicKey(keys.publicKey());
      Instant now = Instant.now();
      // The subject names the node so that a certificate in a packet capture is readable; the
      // key, not the name, is what peers check.
      X500Name subject = new X500Name("CN=mycelium-" + keys.nodeId());
      JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
          new BigInteger(64, new java.security.SecureRandom()).abs().add(BigInteger.ONE),
          Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(VALIDITY)), subject, pub);
      ContentSigner signer = new JcaContentSignerBuilder("Ed25519").build(priv);
      X509CertificateHolder holder = builder.build(signer);
      X509Certificate cert = new JcaX509CertificateConverter().getCertificate(holder);
      return new PeerCertificates(priv, cert, keys.nodeId());
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make the node's TLS certificate: " + e.getMessage(),
          e);
    }
  }

  /** The 32-byte Ed25519 seed as a JDK private key. */
  public static PrivateKey privateKey(byte[] seed) throws GeneralSecurityException {
    if (seed == null || seed.length != RAW_KEY_BYTES) {
      throw new IllegalArgumentException("an Ed25519 seed is 32 bytes");
    }
    return KeyFactory.getInstance("Ed25519")
        .generatePrivate(new PKCS8EncodedKeySpec(concat(PKCS8_PREFIX, seed)));
  }

  /** The raw 32-byte Ed25519 public key as a JDK public key. */
  public static PublicKey publicKey(byte[] raw) throws GeneralSecurityException {
    if (raw == null || raw.length != RAW_KEY_BYTES) {
      throw new IllegalArgumentException("an Ed25519 public key is 32 bytes");
    }
    return KeyFactory.getInstance("Ed25519")
        .generatePublic(new X509EncodedKeySpec(concat(SPKI_PREFIX, raw)));
  }

  /**
   * The raw 32-byte Ed25519 key in a certificate.
   *
   * @throws CertificateException when the certificate does not hold an Ed25519 key
   */
  public static byte[] rawPublicKey(X509Certificate cert) throws CertificateException {
    SubjectPublicKeyInfo spki =
        SubjectPublicKeyInfo.getInstance(cert.getPublicKey().getEncoded());
    if (!"1.3.101.112".equals(spki.getAlgorithm().getAlgorithm().getId())) {
      throw new CertificateException("peer certificate key is "
          + cert.getPublicKey().getAlgorithm() + ", expected Ed25519");
    }
    byte[] raw = spki.getPublicKeyData().getOctets();
    if (raw.length != RAW_KEY_BYTES) {
      throw new CertificateException("peer certificate has a " + raw.length
          + "-byte Ed25519 key, expected 32");
    }
    return raw;
  }

  /**
   * The node ID a certificate proves: SHA-256 of its raw Ed25519 public key.
   *
   * @throws CertificateException when the certificate does not hold an Ed25519 key
   */
  public static NodeId nodeIdOf(X509Certificate cert) throws CertificateException {
    return NodeId.fromPublicKey(rawPublicKey(cert));
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public NodeId nodeId() {
    return nodeId;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static byte[] hex(String s) {
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }
}
