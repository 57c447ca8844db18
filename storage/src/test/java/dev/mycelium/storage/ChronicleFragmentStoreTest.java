package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.model.Visibility;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What only the persistent store does: survive restarts, crashes and damage to its file. */
class ChronicleFragmentStoreTest {
  @TempDir Path dir;

  private ChronicleFragmentStore open(long capacity) throws Exception {
    return ChronicleFragmentStore.open(dir, capacity, 512, Fixtures.CODEC, () -> 42L);
  }

  private static Fragment needle(int i) {
    return Fixtures.CODEC.create(
        Fixtures.ALICE, 1_700_000_000_000L + i, String.format("needle-%05d-in-the-haystack", i),
        Fixtures.vector(i), Map.of(), Visibility.SHARED);
  }

  @Test
  void dataSurvivesCloseAndReopen() throws Exception {
    Fragment kept = Fixtures.fragment(1);
    Fragment gone = Fixtures.fragment(2);
    try (ChronicleFragmentStore store = open(1_000)) {
      store.put(kept);
      store.put(gone);
      store.delete(gone.id(), Fixtures.CODEC.tombstone(Fixtures.ALICE, gone.id(), 5));
    }
    assertThat(dir.resolve(ChronicleFragmentStore.FILES.cleanMarker())).exists();
    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.recoveredAtOpen()).isFalse();
      assertThat(dir.resolve(ChronicleFragmentStore.FILES.cleanMarker())).doesNotExist();
      assertThat(store.get(kept.id()).orElseThrow().fragment().orElseThrow().signed())
          .isEqualTo(kept.signed());
      assertThat(store.get(gone.id()).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
      assertThat(store.stats().byState())
          .containsEntry(FragmentState.PRESENT, 1L)
          .containsEntry(FragmentState.DELETED, 1L);
    }
  }

  @Test
  void countsByStateSurviveACleanCloseAndAForgedMarkerIsRecounted() throws Exception {
    Fragment gone = Fixtures.fragment(2);
    try (ChronicleFragmentStore store = open(1_000)) {
      for (int i = 1; i <= 5; i++) {
        store.put(Fixtures.fragment(i));
      }
      store.delete(gone.id(), Fixtures.CODEC.tombstone(Fixtures.ALICE, gone.id(), 5));
      store.markBlank(Fixtures.fragment(3).id());
    }
    Map<FragmentState, Long> expected =
        Map.of(FragmentState.PRESENT, 3L, FragmentState.BLANK, 1L, FragmentState.LOST, 0L,
            FragmentState.DELETED, 1L);
    assertThat(Files.readString(dir.resolve(ChronicleFragmentStore.FILES.cleanMarker())))
        .contains("count.PRESENT=3", "count.DELETED=1");
    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.stats().byState()).isEqualTo(expected);
    }
    // Counts that do not add up to the entries in the file are not trusted.
    Files.writeString(dir.resolve(ChronicleFragmentStore.FILES.cleanMarker()),
        "count.PRESENT=40\ncount.BLANK=0\ncount.LOST=0\ncount.DELETED=0\n");
    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.stats().byState()).isEqualTo(expected);
    }
  }

  @Test
  void aSecondOpenOfTheSameDirectoryIsRefusedUntilTheFirstCloses() throws Exception {
    try (ChronicleFragmentStore store = open(1_000)) {
      store.put(Fixtures.fragment(1));
      assertThatThrownBy(() -> open(1_000))
          .isInstanceOf(java.io.IOException.class)
          .hasMessageContaining("in use");
      assertThat(store.get(Fixtures.fragment(1).id())).isPresent();
    }
    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.recoveredAtOpen()).isFalse();
      assertThat(store.stats().entries()).isEqualTo(1);
    }
  }

  @Test
  void closeIsIdempotentAndAClosedStoreSaysSo() throws Exception {
    ChronicleFragmentStore store = open(1_000);
    store.close();
    store.close();
    assertThatThrownBy(() -> store.get(Fixtures.fragment(1).id()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void missingMarkerRunsRecoveryAndKeepsEveryEntry() throws Exception {
    List<Fragment> written = new ArrayList<>();
    try (ChronicleFragmentStore store = open(1_000)) {
      for (int i = 0; i < 100; i++) {
        Fragment f = Fixtures.fragment(i);
        store.put(f);
        written.add(f);
      }
    }
    Files.delete(dir.resolve(ChronicleFragmentStore.FILES.cleanMarker()));
    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.recoveredAtOpen()).isTrue();
      assertThat(store.stats().entries()).isEqualTo(100);
      for (Fragment f : written) {
        assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
      }
    }
    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.recoveredAtOpen()).isFalse();
    }
  }

  @Test
  @Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void everyAcknowledgedWriteSurvivesSigkill() throws Exception {
    Path options = ChildJvm.jvmOptions();
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("@" + options);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(CrashWriter.class.getName());
    cmd.add(dir.toString());
    Path childLog = Files.createTempFile("crash-writer", ".log");
    Process child =
        new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.to(childLog.toFile())).start();
    int lastAcked = -1;
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        // Only the writer's acknowledgements are bare numbers; anything else is a log line.
        if (line.matches("\\d+")) {
          lastAcked = Integer.parseInt(line);
          if (lastAcked >= 300) {
            break;
          }
        }
      }
    } finally {
      child.destroyForcibly(); // SIGKILL on Unix: no shutdown hooks, no close()
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    String log = Files.readString(childLog);
    Files.delete(childLog);
    assertThat(lastAcked).as("acknowledged writes; the writer said:%n%s", log)
        .isGreaterThanOrEqualTo(300);
    assertThat(dir.resolve(ChronicleFragmentStore.FILES.cleanMarker())).doesNotExist();

    try (ChronicleFragmentStore store =
        ChronicleFragmentStore.open(dir, 100_000, 512, Fixtures.CODEC)) {
      assertThat(store.recoveredAtOpen()).isTrue();
      for (int i = 0; i <= lastAcked; i++) {
        FragmentId id = CrashWriter.crashFragment(i).id();
        assertThat(store.get(id)).as("write %d", i).isPresent();
        assertThat(store.get(id).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
      }
      assertThat(store.stats().byState().get(FragmentState.PRESENT))
          .isGreaterThanOrEqualTo(lastAcked + 1L);
    }
  }

  @Test
  void flippedBytesInTheFileReadBlankAndTheRestPresent() throws Exception {
    List<Fragment> written = new ArrayList<>();
    try (ChronicleFragmentStore store = open(1_000)) {
      for (int i = 0; i < 200; i++) {
        Fragment f = needle(i);
        store.put(f);
        written.add(f);
      }
    }
    Path file = dir.resolve(ChronicleFragmentStore.FILES.generation(0));
    byte[] bytes = Files.readAllBytes(file);
    byte[] target = "needle-00042-in".getBytes(StandardCharsets.UTF_8);
    int flipped = 0;
    for (int at = indexOf(bytes, target, 0); at >= 0; at = indexOf(bytes, target, at + 1)) {
      bytes[at + 9] ^= 0x20;
      flipped++;
    }
    assertThat(flipped).isGreaterThanOrEqualTo(1);
    Files.write(file, bytes);

    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.recoveredAtOpen()).isFalse();
      StoredFragment bad = store.get(written.get(42).id()).orElseThrow();
      assertThat(bad.state()).isEqualTo(FragmentState.BLANK);
      assertThat(bad.fragment()).isEmpty();
      assertThat(bad.owner()).contains(Fixtures.ALICE.nodeId());
      assertThat(store.stats().blankDetections()).isEqualTo(1);
      for (int i = 0; i < written.size(); i++) {
        if (i != 42) {
          assertThat(store.get(written.get(i).id()).orElseThrow().state())
              .as("fragment %d", i)
              .isEqualTo(FragmentState.PRESENT);
        }
      }
    }
    // The BLANK state was written back, so it is known after a restart without a new detection.
    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.stats().byState()).containsEntry(FragmentState.BLANK, 1L);
      assertThat(store.check(written.get(42).id())).isEqualTo(FragmentState.BLANK);
    }
  }

  @Test
  void flippedBytesFoundByRecoveryStillReadBlankNeverBad() throws Exception {
    List<Fragment> written = new ArrayList<>();
    try (ChronicleFragmentStore store = open(1_000)) {
      for (int i = 0; i < 200; i++) {
        Fragment f = needle(i);
        store.put(f);
        written.add(f);
      }
    }
    Files.delete(dir.resolve(ChronicleFragmentStore.FILES.cleanMarker()));
    Path file = dir.resolve(ChronicleFragmentStore.FILES.generation(0));
    byte[] bytes = Files.readAllBytes(file);
    int at = indexOf(bytes, "needle-00077-in".getBytes(StandardCharsets.UTF_8), 0);
    assertThat(at).isNotNegative();
    bytes[at + 9] ^= 0x20;
    Files.write(file, bytes);

    try (ChronicleFragmentStore store = open(1_000)) {
      assertThat(store.recoveredAtOpen()).isTrue();
      // Recovery must not drop the damaged entry: it stays known, and reads BLANK.
      StoredFragment bad = store.get(written.get(77).id()).orElseThrow();
      assertThat(bad.state()).isEqualTo(FragmentState.BLANK);
      assertThat(bad.fragment()).isEmpty();
      assertThat(store.stats().entries()).isEqualTo(200);
      for (int i = 0; i < written.size(); i++) {
        if (i != 77) {
          assertThat(store.get(written.get(i).id()).orElseThrow().state())
              .as("fragment %d", i)
              .isEqualTo(FragmentState.PRESENT);
        }
      }
    }
  }

  @Test
  void smallStoreRefusesWritesPastCapacityAndKeepsTheEarlierOnes() throws Exception {
    List<Fragment> written = new ArrayList<>();
    try (ChronicleFragmentStore store =
        ChronicleFragmentStore.open(dir, 50, 2_048, Fixtures.CODEC)) {
      for (int i = 0; i < 50; i++) {
        Fragment f = needle(i);
        store.put(f);
        written.add(f);
      }
      assertThat(store.nearlyFull()).isTrue();
      Fragment extra = needle(50);
      assertThatThrownBy(() -> store.put(extra))
          .isInstanceOf(StoreFullException.class)
          .hasMessageContaining("storage.capacity-entries");
      assertThat(store.get(extra.id())).isEmpty();
      assertThat(store.stats().entries()).isEqualTo(50);
      for (Fragment f : written) {
        assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
      }
    }
  }

  @Test
  void nearlyFullFromNinetyPercent() throws Exception {
    try (ChronicleFragmentStore store = open(20)) {
      for (int i = 0; i < 17; i++) {
        store.put(needle(i));
      }
      assertThat(store.nearlyFull()).isFalse();
      store.put(needle(17));
      assertThat(store.nearlyFull()).isTrue();
    }
  }

  @Test
  void raisingTheCapacityGrowsTheFileAndKeepsEveryEntry() throws Exception {
    List<Fragment> written = new ArrayList<>();
    try (ChronicleFragmentStore store = open(30)) {
      for (int i = 0; i < 30; i++) {
        Fragment f = needle(i);
        store.put(f);
        written.add(f);
      }
      assertThatThrownBy(() -> store.put(needle(30))).isInstanceOf(StoreFullException.class);
    }
    try (ChronicleFragmentStore store = open(500)) {
      for (int i = 30; i < 500; i++) {
        Fragment f = needle(i);
        store.put(f);
        written.add(f);
      }
      assertThat(store.stats().entries()).isEqualTo(500);
    }
    try (ChronicleFragmentStore store = open(500)) {
      for (Fragment f : written) {
        assertThat(store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
      }
    }
  }

  @Test
  void largestAllowedFragmentFitsInAStoreSizedForSmallOnes() throws Exception {
    String text = "x".repeat(FragmentLimits.DEFAULTS.maxTextBytes());
    Fragment big = Fixtures.CODEC.create(
        Fixtures.ALICE, 1L, text, Fixtures.vector(1), Map.of(), Visibility.SHARED);
    try (ChronicleFragmentStore store = open(100)) {
      assertThat(store.put(big)).isEqualTo(FragmentState.PRESENT);
      assertThat(store.get(big.id()).orElseThrow().fragment().orElseThrow().text())
          .hasSize(text.length());
    }
  }

  private static int indexOf(byte[] hay, byte[] needle, int from) {
    outer:
    for (int i = from; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
