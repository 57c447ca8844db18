package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.OwnerKeys;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OwnerKeysTest {
  private static final byte[] MESSAGE = "a replica's hash".getBytes(StandardCharsets.UTF_8);

  private static OwnerKeys key(int n) {
    byte[] seed = new byte[32];
    seed[0] = (byte) n;
    seed[1] = (byte) (n >> 8);
    return OwnerKeys.fromSeed(seed);
  }

  @Test
  void decodedKeysKeptForReuseNeverVouchForAnotherKey() {
    // More keys than the decoded-key cache has slots, so slots are shared and replaced; each
    // signature is checked twice (cached and not) against its own key and against others.
    List<OwnerKeys> keys = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      keys.add(key(i));
    }
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < keys.size(); i++) {
        OwnerKeys k = keys.get(i);
        byte[] sig = k.sign(MESSAGE);
        assertThat(OwnerKeys.verify(k.publicKey(), MESSAGE, sig)).isTrue();
        assertThat(OwnerKeys.verify(keys.get((i + 1) % keys.size()).publicKey(), MESSAGE, sig))
            .isFalse();
        byte[] other = MESSAGE.clone();
        other[0] ^= 1;
        assertThat(OwnerKeys.verify(k.publicKey(), other, sig)).isFalse();
      }
    }
  }

  @Test
  void bytesThatAreNoKeyCheckNothingAndAreNotKept() {
    OwnerKeys k = key(1);
    byte[] sig = k.sign(MESSAGE);
    byte[] notAPoint = new byte[32];
    // y = 2 is not the y-coordinate of any point on edwards25519.
    notAPoint[0] = 2;
    assertThat(OwnerKeys.verify(notAPoint, MESSAGE, sig)).isFalse();
    assertThat(OwnerKeys.verify(notAPoint, MESSAGE, sig)).isFalse();
    assertThat(OwnerKeys.verify(new byte[31], MESSAGE, sig)).isFalse();
    assertThat(OwnerKeys.verify(k.publicKey(), MESSAGE, sig)).isTrue();
  }
}
