package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.OwnerKeys;
import dev.mycelium.wire.NodeId;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** Node IDs as people see them: base32 with a Luhn mod 32 check character. */
class NodeIdTest {
  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  @Property(tries = 200)
  void printedFormRoundTrips(@ForAll @Size(32) byte[] raw) {
    NodeId id = NodeId.of(raw);
    String printed = id.toString();
    assertThat(printed).hasSize(53).matches("[A-Z2-7]+");
    assertThat(NodeId.parse(printed)).isEqualTo(id);
    assertThat(NodeId.parse(printed.toLowerCase())).isEqualTo(id);
    String grouped = printed.replaceAll("(.{7})", "$1-");
    assertThat(NodeId.parse(grouped)).isEqualTo(id);
    assertThat(NodeId.parse(printed).toBytes()).isEqualTo(raw);
  }

  @Property(tries = 20)
  void everySingleCharacterTypoIsCaught(@ForAll @Size(32) byte[] raw) {
    String printed = NodeId.of(raw).toString();
    for (int pos = 0; pos < printed.length(); pos++) {
      for (char c : ALPHABET.toCharArray()) {
        if (c == printed.charAt(pos)) {
          continue;
        }
        String typo = printed.substring(0, pos) + c + printed.substring(pos + 1);
        assertThatThrownBy(() -> NodeId.parse(typo))
            .as("typo %s at %d", c, pos)
            .isInstanceOf(IllegalArgumentException.class);
      }
    }
  }

  @Test
  void badTextIsRejectedWithAReason() {
    String good = Fixtures.ALICE.nodeId().toString();
    assertThatThrownBy(() -> NodeId.parse(good.substring(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("53");
    assertThatThrownBy(() -> NodeId.parse("1" + good.substring(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'1'");
    assertThatThrownBy(() -> NodeId.parse(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nodeIdIsTheHashOfThePublicKey() {
    OwnerKeys keys = OwnerKeys.fromSeed(new byte[32]);
    assertThat(keys.nodeId()).isEqualTo(NodeId.fromPublicKey(keys.publicKey()));
    assertThat(OwnerKeys.fromSeed(keys.seed()).nodeId()).isEqualTo(keys.nodeId());
  }
}
