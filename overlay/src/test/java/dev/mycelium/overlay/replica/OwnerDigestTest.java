package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.FragmentId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OwnerDigestTest {
  static List<FragmentId> ids(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    List<FragmentId> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] b = new byte[32];
      r.nextBytes(b);
      out.add(FragmentId.of(b));
    }
    return out;
  }

  @Test
  void theRootDependsOnTheSetNotTheOrder() {
    List<FragmentId> ids = ids(1, 500);
    OwnerDigest a = new OwnerDigest(8);
    OwnerDigest b = new OwnerDigest(8);
    ids.forEach(id -> a.put(id, false));
    List<FragmentId> shuffled = new ArrayList<>(ids);
    Collections.shuffle(shuffled, new java.util.Random(7));
    shuffled.forEach(id -> b.put(id, false));
    assertThat(a.root()).isEqualTo(b.root()).hasSize(OwnerDigest.VALUE_BYTES);
    assertThat(a.size()).isEqualTo(500);
  }

  @Test
  void addThenRemoveIsUndoneExactly() {
    OwnerDigest d = new OwnerDigest(12);
    ids(2, 100).forEach(id -> d.put(id, false));
    byte[] before = d.root();
    FragmentId extra = ids(3, 1).get(0);
    assertThat(d.put(extra, false)).isTrue();
    assertThat(d.root()).isNotEqualTo(before);
    assertThat(d.put(extra, false)).isFalse();
    assertThat(d.remove(extra)).isTrue();
    assertThat(d.remove(extra)).isFalse();
    assertThat(d.root()).isEqualTo(before);
  }

  @Test
  void aTombstoneDiffersFromAReplica() {
    FragmentId id = ids(4, 1).get(0);
    OwnerDigest live = new OwnerDigest(8);
    OwnerDigest dead = new OwnerDigest(8);
    live.put(id, false);
    dead.put(id, true);
    assertThat(live.root()).isNotEqualTo(dead.root());
    assertThat(dead.containsTombstone(id)).isTrue();
    assertThat(live.containsLive(id)).isTrue();
    live.put(id, true);
    assertThat(live.root()).isEqualTo(dead.root());
    assertThat(live.size()).isEqualTo(1);
  }

  @Test
  void descendingFindsExactlyTheDifferingBucket() {
    List<FragmentId> ids = ids(5, 2000);
    OwnerDigest a = new OwnerDigest(12);
    OwnerDigest b = new OwnerDigest(12);
    ids.forEach(id -> {
      a.put(id, false);
      b.put(id, false);
    });
    FragmentId missing = ids.get(1234);
    b.remove(missing);
    List<Integer> frontier = List.of(0);
    for (int level = 1; level <= a.levels(); level++) {
      List<Integer> next = new ArrayList<>();
      for (int p : frontier) {
        next.addAll(a.differingChildren(level, p, b.children(level, p), 0));
      }
      assertThat(next).hasSize(1);
      frontier = next;
    }
    int bucket = frontier.get(0);
    assertThat(bucket).isEqualTo(a.bucketOf(missing));
    List<FragmentId> inA = new ArrayList<>();
    a.forEachIn(bucket, (id, del) -> inA.add(id));
    assertThat(inA).contains(missing);
    assertThat(b.sizeOf(bucket)).isEqualTo(inA.size() - 1);
  }

  @Test
  void badSizesAndLevelsAreRefused() {
    assertThatThrownBy(() -> new OwnerDigest(6)).hasMessageContaining("4, 8, 12 or 16");
    OwnerDigest d = new OwnerDigest(8);
    assertThatThrownBy(() -> d.children(3, 0)).hasMessageContaining("level");
    assertThatThrownBy(() -> d.children(2, 16)).hasMessageContaining("no node");
  }
}
