package dev.mycelium.node.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.proto.SignedReplica;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AeadReplicaSealerTest {
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  private final OwnerKeys alice = OwnerKeys.generate(new SecureRandom());
  private final OwnerKeys bob = OwnerKeys.generate(new SecureRandom());
  private final AeadReplicaSealer sealer = new AeadReplicaSealer(alice,
      dev.mycelium.storage.seal.ReplicaCipher.withSecureRandom());

  private Fragment fragment(OwnerKeys owner, Visibility v) {
    return codec.create(owner, 1, "the words inside", new float[] {1, 0, 0, 0}, Map.of(), v);
  }

  @Test
  void privateFragmentsLeaveSealedAndComeBackWhole() {
    Fragment f = fragment(alice, Visibility.PRIVATE);
    SignedReplica r = sealer.seal(f).orElseThrow();
    ReplicaCodec.Verified v = ReplicaCodec.verify(f.id(), r);
    assertThat(v.visibility()).isEqualTo(Visibility.PRIVATE);
    assertThat(r.toByteString().toString(StandardCharsets.ISO_8859_1))
        .doesNotContain("the words inside");
    assertThat(sealer.open(v)).contains(f.signed());
  }

  @Test
  void sharedFragmentsTravelInTheClear() {
    Fragment f = fragment(alice, Visibility.SHARED);
    ReplicaCodec.Verified v = ReplicaCodec.verify(f.id(), sealer.seal(f).orElseThrow());
    assertThat(v.visibility()).isEqualTo(Visibility.SHARED);
    assertThat(sealer.open(v)).contains(f.signed());
  }

  @Test
  void anotherOwnersFragmentIsNeitherSealedNorOpened() {
    Fragment theirs = fragment(bob, Visibility.PRIVATE);
    assertThat(sealer.seal(theirs)).isEmpty();
    AeadReplicaSealer bobs = new AeadReplicaSealer(bob,
        dev.mycelium.storage.seal.ReplicaCipher.withSecureRandom());
    ReplicaCodec.Verified v = ReplicaCodec.verify(bobs.seal(theirs).orElseThrow());
    assertThat(sealer.open(v)).isEmpty();
  }
}
