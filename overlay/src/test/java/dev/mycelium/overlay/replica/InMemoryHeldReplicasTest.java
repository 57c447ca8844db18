package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InMemoryHeldReplicasTest {
  static FragmentId fid(int n) {
    byte[] b = new byte[32];
    b[3] = (byte) n;
    return FragmentId.of(b);
  }

  static NodeId owner(int n) {
    byte[] b = new byte[32];
    b[0] = (byte) n;
    return NodeId.of(b);
  }

  private final SignedReplica r = SignedReplica.newBuilder()
      .setBody(ByteString.copyFromUtf8("some replica body")).build();

  @Test
  void keepsReplicasAndTombstonesByOwner() {
    InMemoryHeldReplicas h = new InMemoryHeldReplicas();
    assertThat(h.putReplica(owner(1), fid(1), r)).isTrue();
    h.putTombstone(owner(1), fid(2), SignedTombstone.getDefaultInstance());
    h.putReplica(owner(2), fid(3), r);
    Map<FragmentId, Boolean> seen = new HashMap<>();
    h.forEach(owner(1), seen::put);
    assertThat(seen).containsOnly(Map.entry(fid(1), false), Map.entry(fid(2), true));
    assertThat(h.ownerOf(fid(3))).contains(owner(2));
    h.putTombstone(owner(1), fid(1), SignedTombstone.getDefaultInstance());
    assertThat(h.replica(fid(1))).isEmpty();
    assertThat(h.tombstone(fid(1))).isPresent();
    h.putManifest(owner(3), SignedManifest.getDefaultInstance());
    assertThat(h.owners()).containsExactlyInAnyOrder(owner(1), owner(2), owner(3));
    h.dropOwner(owner(1));
    assertThat(h.owners()).containsExactlyInAnyOrder(owner(2), owner(3));
    h.remove(fid(3));
    assertThat(h.size()).isZero();
  }

  @Test
  void aFullStoreRefusesNewReplicasAndCorruptionFlipsABit() {
    InMemoryHeldReplicas h = new InMemoryHeldReplicas(1);
    assertThat(h.putReplica(owner(1), fid(1), r)).isTrue();
    assertThat(h.putReplica(owner(1), fid(2), r)).isFalse();
    assertThat(h.putReplica(owner(1), fid(1), r)).as("replacing fits").isTrue();
    h.corruptForTest(fid(1));
    assertThat(h.replica(fid(1)).orElseThrow()).isNotEqualTo(r);
    assertThatThrownBy(() -> h.corruptForTest(fid(9))).hasMessageContaining("no replica");
    assertThatThrownBy(() -> new InMemoryHeldReplicas(0)).hasMessageContaining("at least 1");
  }
}
