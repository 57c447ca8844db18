package dev.mycelium.storage.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.wire.NodeId;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnerManifestsTest {
  @TempDir Path dir;
  private final NodeId alice = Replicas.ALICE.nodeId();
  private final NodeId bob = Replicas.BOB.nodeId();

  @Test
  void manifestsSurviveAReopenAndReplaceTheirPredecessors() throws Exception {
    OwnerManifests m = OwnerManifests.open(dir);
    m.put(alice, new byte[] {1, 2});
    m.put(alice, new byte[] {3});
    m.put(bob, new byte[] {4});
    m.remove(bob);
    OwnerManifests again = OwnerManifests.open(dir);
    assertThat(again.owners()).containsExactly(alice);
    assertThat(again.get(alice)).hasValueSatisfying(b -> assertThat(b).containsExactly(3));
    assertThat(again.get(bob)).isEmpty();
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .allMatch(n -> n.endsWith(".manifest")).hasSize(1);
    }
  }

  @Test
  void inMemoryKeepsCopies() {
    OwnerManifests m = OwnerManifests.inMemory();
    byte[] b = {9};
    m.put(alice, b);
    b[0] = 0;
    assertThat(m.get(alice).orElseThrow()).containsExactly(9);
    m.get(alice).orElseThrow()[0] = 5;
    assertThat(m.get(alice).orElseThrow()).containsExactly(9);
  }

  @Test
  void unreadableFilesAreSkipped() throws Exception {
    Files.write(dir.resolve("zz.manifest"), new byte[] {1});
    assertThat(OwnerManifests.open(dir).owners()).isEmpty();
  }
}
