package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.Verifier;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class BroadcastSignaturesTest {
  private final OwnerKeys alice = OwnerKeys.generate(new SecureRandom());
  private final OwnerKeys mallory = OwnerKeys.generate(new SecureRandom());
  private final Verifier verifier = BroadcastSignatures.verifier();
  private final byte[] msg = "hello network".getBytes();

  @Test
  void originsSignatureVerifies() {
    byte[] sig = BroadcastSignatures.signer(alice).sign(msg);
    assertThat(sig).hasSize(96);
    assertThat(verifier.verify(alice.nodeId(), msg, sig)).isTrue();
  }

  @Test
  void anotherKeyCannotSpeakForTheOrigin() {
    byte[] sig = BroadcastSignatures.signer(mallory).sign(msg);
    assertThat(verifier.verify(alice.nodeId(), msg, sig)).isFalse();
  }

  @Test
  void alteredMessageOrTruncatedSignatureFails() {
    byte[] sig = BroadcastSignatures.signer(alice).sign(msg);
    assertThat(verifier.verify(alice.nodeId(), "hello netwark".getBytes(), sig)).isFalse();
    assertThat(verifier.verify(alice.nodeId(), msg, java.util.Arrays.copyOf(sig, 95))).isFalse();
    assertThat(verifier.verify(alice.nodeId(), msg, null)).isFalse();
  }
}
