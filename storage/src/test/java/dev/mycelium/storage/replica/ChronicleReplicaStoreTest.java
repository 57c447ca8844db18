package dev.mycelium.storage.replica;

import static dev.mycelium.storage.replica.Replicas.ALICE;
import static dev.mycelium.storage.replica.Replicas.BOB;
import static dev.mycelium.storage.replica.Replicas.idOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.FragmentState;
import dev.mycelium.wire.proto.SignedReplica;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the persistent replica store does: survive restarts, lock, grow. */
class ChronicleReplicaStoreTest {
  @TempDir Path dir;

  private ChronicleReplicaStore open(long capacity) throws IOException {
    return ChronicleReplicaStore.open(dir, capacity, 512, Replicas.CODEC, () -> 7L);
  }

  @Test
  void entriesStatesAndOwnersSurviveACleanRestart() throws IOException {
    SignedReplica a = Replicas.sealed(ALICE, 1);
    SignedReplica b = Replicas.shared(BOB, 2);
    try (ChronicleReplicaStore s = open(100)) {
      s.put(a);
      s.put(b);
      s.delete(idOf(b), Replicas.CODEC.tombstone(BOB, idOf(b), 3));
    }
    assertThat(dir.resolve(ChronicleReplicaStore.FILES.cleanMarker())).exists();
    try (ChronicleReplicaStore s = open(100)) {
      assertThat(s.recovered()).isFalse();
      assertThat(dir.resolve(ChronicleReplicaStore.FILES.cleanMarker())).doesNotExist();
      assertThat(s.get(idOf(a)).orElseThrow().replica()).contains(a);
      assertThat(s.get(idOf(b)).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
      assertThat(s.owners()).containsExactlyInAnyOrder(ALICE.nodeId(), BOB.nodeId());
      assertThat(s.stats().byState()).containsEntry(FragmentState.PRESENT, 1L)
          .containsEntry(FragmentState.DELETED, 1L);
    }
  }

  @Test
  void aStoreFoundWithoutItsMarkerIsRecovered() throws IOException {
    SignedReplica a = Replicas.sealed(ALICE, 3);
    try (ChronicleReplicaStore s = open(100)) {
      s.put(a);
    }
    Files.delete(dir.resolve(ChronicleReplicaStore.FILES.cleanMarker()));
    try (ChronicleReplicaStore s = open(100)) {
      assertThat(s.recovered()).isTrue();
      assertThat(s.get(idOf(a)).orElseThrow().replica()).contains(a);
    }
  }

  @Test
  void aSecondOpenIsRefusedWhileTheFirstHoldsTheLock() throws IOException {
    try (ChronicleReplicaStore s = open(100)) {
      assertThatThrownBy(() -> open(100)).isInstanceOf(IOException.class)
          .hasMessageContaining("in use");
    }
  }

  @Test
  void raisingTheCapacityKeepsEverything() throws IOException {
    Set<String> ids = new HashSet<>();
    try (ChronicleReplicaStore s = open(20)) {
      for (int i = 0; i < 20; i++) {
        SignedReplica r = Replicas.sealed(ALICE, 100 + i);
        s.put(r);
        ids.add(idOf(r).toString());
      }
    }
    try (ChronicleReplicaStore s = open(2_000)) {
      Set<String> back = new HashSet<>();
      s.forEachId(id -> back.add(id.toString()));
      assertThat(back).isEqualTo(ids);
      assertThat(s.stats().capacityEntries()).isEqualTo(2_000);
      s.put(Replicas.sealed(ALICE, 500));
      assertThat(s.stats().entries()).isEqualTo(21);
    }
  }
}
