package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StoreOwnFragmentsTest {
  static OwnerKeys keys(int b) {
    byte[] s = new byte[32];
    s[0] = (byte) b;
    return OwnerKeys.fromSeed(s);
  }

  private final OwnerKeys me = keys(1);
  private final OwnerKeys other = keys(2);
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(ReplicaNet.CODEC);
  private final StoreOwnFragments own = new StoreOwnFragments(store, ReplicaNet.CODEC,
      me.nodeId(), ReplicaSealer.sharedOnly(me));

  private Fragment make(OwnerKeys k, int n, Visibility v) {
    Fragment f = ReplicaNet.CODEC.create(k, n, "text " + n, new float[0], Map.of(), v);
    store.put(f);
    return f;
  }

  @Test
  void onlyOwnFragmentsAreVisibleWithTheirStates() {
    Fragment mine = make(me, 1, Visibility.SHARED);
    Fragment theirs = make(other, 2, Visibility.SHARED);
    Fragment gone = make(me, 3, Visibility.SHARED);
    SignedTombstone t = ReplicaNet.CODEC.tombstone(me, gone.id(), 5);
    store.delete(gone.id(), t);
    Map<FragmentId, FragmentState> seen = new HashMap<>();
    own.forEach(seen::put);
    assertThat(seen).containsOnly(Map.entry(mine.id(), FragmentState.PRESENT),
        Map.entry(gone.id(), FragmentState.DELETED));
    assertThat(own.state(theirs.id())).isNull();
    assertThat(own.replica(theirs.id())).isEmpty();
    assertThat(own.tombstone(gone.id())).contains(t);
  }

  @Test
  void replicaRestoreAndBlankRoundTrip() {
    Fragment f = make(me, 4, Visibility.SHARED);
    ReplicaCodec.Verified v = ReplicaCodec.verify(own.replica(f.id()).orElseThrow());
    store.markBlank(f.id());
    assertThat(own.state(f.id())).isEqualTo(FragmentState.BLANK);
    assertThat(own.replica(f.id())).isEmpty();
    assertThat(own.restore(v)).isTrue();
    assertThat(store.get(f.id()).orElseThrow().fragment().orElseThrow().signed())
        .isEqualTo(f.signed());
    // A restore learns an ID before its bytes: the placeholder reads as BLANK, then fills.
    Fragment later = ReplicaNet.CODEC.create(me, 9, "later", new float[0], Map.of(),
        Visibility.SHARED);
    own.markBlank(later.id());
    assertThat(own.state(later.id())).isEqualTo(FragmentState.BLANK);
    own.markBlank(f.id());
    assertThat(own.state(f.id())).as("a PRESENT fragment is not blanked").isEqualTo(FragmentState.PRESENT);
  }

  @Test
  void privateFragmentsNeedASealer() {
    Fragment secret = make(me, 5, Visibility.PRIVATE);
    assertThat(own.replica(secret.id())).isEmpty();
  }

  @Test
  void aLearnedTombstoneDeletes() {
    Fragment f = make(me, 6, Visibility.SHARED);
    own.applyTombstone(f.id(), ReplicaNet.CODEC.tombstone(me, f.id(), 7));
    assertThat(own.state(f.id())).isEqualTo(FragmentState.DELETED);
  }
}
