package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.OwnerKeys;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

class PeerCertificatesTest {
  private final OwnerKeys keys = OwnerKeys.generate(new SecureRandom());

  @Test
  void certificateIsSelfSignedAndProvesTheNodeId() throws Exception {
    PeerCertificates pc = PeerCertificates.forKeys(keys);
    X509Certificate cert = pc.certificate();
    cert.verify(cert.getPublicKey());
    cert.checkValidity();
    assertThat(PeerCertificates.rawPublicKey(cert)).isEqualTo(keys.publicKey());
    assertThat(PeerCertificates.nodeIdOf(cert)).isEqualTo(keys.nodeId());
    assertThat(pc.nodeId()).isEqualTo(keys.nodeId());
  }

  @Test
  void jdkPrivateKeySignsLikeTheOwnerKeys() throws Exception {
    PeerCertificates pc = PeerCertificates.forKeys(keys);
    byte[] msg = "mycelium".getBytes();
    Signature s = Signature.getInstance("Ed25519");
    s.initSign(pc.privateKey());
    s.update(msg);
    byte[] sig = s.sign();
    // Ed25519 is deterministic: the same seed through both stacks gives the same signature.
    assertThat(sig).isEqualTo(keys.sign(msg));
    assertThat(OwnerKeys.verify(keys.publicKey(), msg, sig)).isTrue();
  }

  @Test
  void differentKeysGiveDifferentIds() throws Exception {
    OwnerKeys other = OwnerKeys.generate(new SecureRandom());
    assertThat(PeerCertificates.nodeIdOf(PeerCertificates.forKeys(other).certificate()))
        .isNotEqualTo(keys.nodeId());
  }

  @Test
  void nonEd25519CertificateIsRejected() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    var kp = g.generateKeyPair();
    X500Name n = new X500Name("CN=ec");
    var holder = new JcaX509v3CertificateBuilder(n, java.math.BigInteger.ONE,
        new java.util.Date(), new java.util.Date(System.currentTimeMillis() + 86_400_000L), n,
        kp.getPublic()).build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
    X509Certificate ec = new JcaX509CertificateConverter().getCertificate(holder);
    assertThatThrownBy(() -> PeerCertificates.nodeIdOf(ec))
        .isInstanceOf(CertificateException.class).hasMessageContaining("Ed25519");
  }

  @Test
  void wrongSeedLengthIsAClearError() {
    assertThatThrownBy(() -> PeerCertificates.privateKey(new byte[31]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("32 bytes");
  }
}
