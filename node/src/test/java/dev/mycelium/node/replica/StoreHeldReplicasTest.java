package dev.mycelium.node.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.storage.replica.InMemoryReplicaStore;
import dev.mycelium.storage.replica.OwnerManifests;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The core's held-replicas port over the replica store and the manifests. */
class StoreHeldReplicasTest {
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  private final OwnerKeys alice = OwnerKeys.generate(new SecureRandom());
  private final InMemoryReplicaStore store = new InMemoryReplicaStore(codec, 3, () -> 5L);
  private final StoreHeldReplicas port = new StoreHeldReplicas(store, OwnerManifests.inMemory());

  private SignedReplica replica(int n) {
    Fragment f = codec.create(alice, n, "shared " + n, new float[] {n, 0, 0, 0}, Map.of(),
        Visibility.SHARED);
    return ReplicaCodec.shared(alice, f.signed());
  }

  private static FragmentId id(SignedReplica r) {
    return ReplicaCodec.verify(r).id();
  }

  @Test
  void replicasTombstonesAndManifestsRoundTrip() {
    SignedReplica a = replica(1);
    SignedReplica b = replica(2);
    assertThat(port.putReplica(alice.nodeId(), id(a), a)).isTrue();
    assertThat(port.putReplica(alice.nodeId(), id(b), b)).isTrue();
    port.putTombstone(alice.nodeId(), id(b), codec.tombstone(alice, id(b), 9));
    assertThat(port.replica(id(a))).contains(a);
    assertThat(port.replica(id(b))).isEmpty();
    assertThat(port.tombstone(id(b))).isPresent();
    assertThat(port.ownerOf(id(a))).contains(alice.nodeId());
    Map<FragmentId, Boolean> seen = new HashMap<>();
    port.forEach(alice.nodeId(), seen::put);
    assertThat(seen).containsEntry(id(a), false).containsEntry(id(b), true).hasSize(2);
    SignedManifest m = SignedManifest.newBuilder().setBody(ByteString.copyFromUtf8("m")).build();
    port.putManifest(alice.nodeId(), m);
    assertThat(port.manifest(alice.nodeId())).contains(m);
    assertThat(port.owners()).containsExactly(alice.nodeId());
    port.dropOwner(alice.nodeId());
    assertThat(port.owners()).isEmpty();
    assertThat(port.replica(id(a))).isEmpty();
  }

  @Test
  void aDamagedReplicaReadsAsAbsentAndAFullStoreRefuses() {
    SignedReplica a = replica(3);
    port.putReplica(alice.nodeId(), id(a), a);
    store.corruptForTest(id(a));
    assertThat(port.replica(id(a))).isEmpty();
    Map<FragmentId, Boolean> seen = new HashMap<>();
    port.forEach(alice.nodeId(), seen::put);
    assertThat(seen).isEmpty();
    assertThat(port.putReplica(alice.nodeId(), id(a), a)).as("repaired in place").isTrue();
    assertThat(port.putReplica(alice.nodeId(), id(replica(4)), replica(4))).isTrue();
    assertThat(port.putReplica(alice.nodeId(), id(replica(5)), replica(5))).isTrue();
    assertThat(port.putReplica(alice.nodeId(), id(replica(6)), replica(6))).isFalse();
  }
}
