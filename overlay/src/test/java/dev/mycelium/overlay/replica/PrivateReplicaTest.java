package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * Private fragments travel sealed through the same core: holders verify, keep and serve what
 * they cannot read, and the owner gets them back after a wipe. The sealer here is a test one
 * (AES-GCM with a key hashed from the identity seed); the daemon installs its own.
 */
class PrivateReplicaTest {
  static ReplicaSealer aesGcm(OwnerKeys keys) {
    byte[] key;
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(keys.seed());
      key = sha.digest("test replica sealing".getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    SecretKeySpec spec = new SecretKeySpec(key, "AES");
    SplittableRandom nonces = new SplittableRandom(99);
    ReplicaSealer shared = ReplicaSealer.sharedOnly(keys);
    return new ReplicaSealer() {
      @Override
      public Optional<SignedReplica> seal(Fragment f) {
        if (f.visibility() == Visibility.SHARED) {
          return shared.seal(f);
        }
        try {
          byte[] nonce = new byte[12];
          nonces.nextBytes(nonce);
          Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
          c.init(Cipher.ENCRYPT_MODE, spec, new GCMParameterSpec(128, nonce));
          c.updateAAD(f.id().toBytes());
          return Optional.of(ReplicaCodec.sealed(keys, f.id(), nonce,
              c.doFinal(f.signed().toByteArray())));
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException(e);
        }
      }

      @Override
      public Optional<SignedFragment> open(ReplicaCodec.Verified r) {
        if (r.visibility() == Visibility.SHARED) {
          return shared.open(r);
        }
        try {
          Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
          c.init(Cipher.DECRYPT_MODE, spec,
              new GCMParameterSpec(128, r.body().getNonce().toByteArray()));
          c.updateAAD(r.id().toBytes());
          return Optional.of(SignedFragment.parseFrom(c.doFinal(r.body().getPayload().toByteArray())));
        } catch (GeneralSecurityException | com.google.protobuf.InvalidProtocolBufferException e) {
          return Optional.empty();
        }
      }
    };
  }

  @Test
  void privateFragmentsAreHeldSealedAndComeBackAfterAWipe() {
    ReplicaNet net = new ReplicaNet(ReplicaNetworkTest.FAST, 31, 6);
    ReplicaNet.Node a = net.list().get(0);
    a.sealer = aesGcm(a.keys);
    a.fresh();
    net.refreshViews(); // the new core places its own manifest: holders take puts from it
    List<Fragment> fs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      fs.add(a.write(i, i % 2 == 0 ? Visibility.PRIVATE : Visibility.SHARED));
    }
    net.run(2_000);
    assertThat(a.core.holders()).hasSize(3);
    for (NodeId h : a.core.holders()) {
      for (Fragment f : fs) {
        SignedReplica r = net.node(h).held.replica(f.id()).orElseThrow();
        ReplicaCodec.Verified v = ReplicaCodec.verify(f.id(), r);
        if (f.visibility() == Visibility.PRIVATE) {
          assertThat(v.visibility()).isEqualTo(Visibility.PRIVATE);
          assertThatThrownBy(() -> ReplicaCodec.sharedFragment(v))
              .isInstanceOf(InvalidFragmentException.class);
          assertThat(new String(r.toByteArray(), StandardCharsets.ISO_8859_1))
              .doesNotContain(f.text());
        }
      }
    }
    a.fresh();
    net.refreshViews();
    net.apply(a, a.core.restore(net.now));
    net.run(10_000);
    for (Fragment f : fs) {
      var got = a.store.get(f.id()).orElseThrow();
      assertThat(got.state()).isEqualTo(FragmentState.PRESENT);
      assertThat(got.fragment().orElseThrow().signed()).isEqualTo(f.signed());
    }
  }

  @Test
  void withoutSealingPrivateFragmentsStayOnTheOwner() {
    ReplicaNet net = new ReplicaNet(ReplicaNetworkTest.FAST, 32, 5);
    ReplicaNet.Node a = net.list().get(0);
    Fragment secret = a.write(1, Visibility.PRIVATE);
    Fragment open = a.write(2, Visibility.SHARED);
    net.run(2_000);
    for (NodeId h : a.core.holders()) {
      assertThat(net.node(h).held.replica(secret.id())).isEmpty();
      assertThat(net.node(h).held.replica(open.id())).isPresent();
    }
    // Nobody chases it: the owner's digest does not advertise it, before or after a restart.
    assertThat(a.core.digestOf(a.id()).size()).isEqualTo(1);
    a.restart();
    assertThat(a.core.digestOf(a.id()).size()).isEqualTo(1);
    net.refreshViews();
    net.run(10_000);
    for (NodeId h : a.core.holders()) {
      assertThat(net.node(h).core.status().queueLength() + net.node(h).core.status().lost())
          .isZero();
      assertThat(net.node(h).core.digestOf(a.id()).root())
          .isEqualTo(a.core.digestOf(a.id()).root());
    }
  }
}
