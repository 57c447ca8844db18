package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.model.StoreFullException;
import dev.mycelium.storage.replica.ChronicleReplicaStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import net.openhft.chronicle.map.MapSegmentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link ChronicleFile} that starts small grows through several generations with nothing
 * lost: while it is written, across a reopen, across a SIGKILL in the middle of a move, and it
 * refuses new keys, without failing, when the disk has no room to grow.
 */
class ChronicleGrowthTest {
  @TempDir Path dir;

  /** Small values and a small first file, so that a few thousand writes make many generations. */
  static ChronicleFile.Spec spec(long minFreeBytes, ChronicleFile.FreeSpace free) {
    return new ChronicleFile.Spec(new ChronicleFile.Names("things"), "thing store", 64, 128, 512, Long.MAX_VALUE,
        minFreeBytes, free);
  }

  static byte[] key(int i) {
    try {
      return MessageDigest.getInstance("SHA-256")
          .digest(("key-" + i).getBytes(StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  static byte[] value(int i) {
    return ("value of entry " + i + " ").repeat(1 + i % 7).getBytes(StandardCharsets.UTF_8);
  }

  private List<String> cm3Files() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cm3")).sorted()
          .toList();
    }
  }

  @Test
  void growsThroughSeveralGenerationsWithEveryEntryIntactWhileWritten() throws Exception {
    int n = 6_000;
    try (ChronicleFile f = ChronicleFile.open(dir, spec(0, null))) {
      long first = f.generationEntries();
      for (int i = 0; i < n; i++) {
        assertThat(f.putIfAbsent(key(i), value(i))).isTrue();
        if (i % 500 == 0) {
          // Reads during growth look in both generations.
          for (int j = 0; j <= i; j += 97) {
            assertThat(f.get(key(j))).as("entry %d after %d writes", j, i).isEqualTo(value(j));
          }
        }
      }
      f.settle();
      assertThat(f.growths()).as("generations made").isGreaterThanOrEqualTo(3);
      assertThat(f.generations()).isEqualTo(1);
      assertThat(f.generationEntries()).isGreaterThan(first * 4);
      assertThat(f.size()).isEqualTo(n);
      assertThat(f.putIfAbsent(key(5), value(6))).as("a key already held").isFalse();
      for (int i = 0; i < n; i++) {
        assertThat(f.get(key(i))).as("entry %d", i).isEqualTo(value(i));
      }
      long[] seen = {0};
      f.forEach((k, v) -> seen[0]++);
      assertThat(seen[0]).isEqualTo(n);
      assertThat(cm3Files()).as("only the newest generation is left").hasSize(1);
      assertThat(cm3Files().get(0)).isNotEqualTo("things.cm3");
      // The file holds the content within about twice its bytes (keys and values, no less).
      long stored = 0;
      for (int i = 0; i < n; i++) {
        stored += 32 + value(i).length;
      }
      assertThat(f.diskBytes()).isLessThan(3 * stored + (8L << 20));
    }
    try (ChronicleFile f = ChronicleFile.open(dir, spec(0, null))) {
      assertThat(f.recovered()).isFalse();
      assertThat(f.size()).isEqualTo(n);
      for (int i = 0; i < n; i++) {
        assertThat(f.get(key(i))).as("entry %d after reopen", i).isEqualTo(value(i));
      }
    }
  }

  /**
   * A new holder is streamed an owner's replicas in the order the owner's own Chronicle file
   * lists them, segment by segment. Chronicle places keys by a fixed hash, so such a stream
   * falls into one segment of an unsalted file: this node's replica store grew 296 times in a
   * minute, each file full at a quarter of what it was made for, and then refused every
   * replica. Each generation salts its keys, so the order another file lists them in is no
   * order at all here.
   */
  @Test
  void keysArrivingInAnotherFilesSegmentOrderAllFitWithoutStrayGrowths() throws Exception {
    int n = 20_000;
    java.util.Random random = new java.util.Random(7);
    List<byte[]> ordered = new ArrayList<>();
    java.io.File other = Files.createDirectories(dir.resolve("other")).resolve("o.cm3").toFile();
    ChronicleFile.Spec spec = new ChronicleFile.Spec(ChronicleReplicaStore.FILES, "replica store", 4096, 3328,
        77_000, Long.MAX_VALUE, 0, null);
    try (ChronicleMap<byte[], byte[]> source =
        ChronicleFile.builder(2 * n, 376, spec).createPersistedTo(other)) {
      for (int i = 0; i < n; i++) {
        byte[] k = new byte[32];
        random.nextBytes(k);
        source.put(k, new byte[1]);
      }
      for (int s = 0; s < source.segments(); s++) {
        try (MapSegmentContext<byte[], byte[], ?> ctx = source.segmentContext(s)) {
          ctx.forEachSegmentEntry(e -> ordered.add(e.key().get().clone()));
        }
      }
    }
    Path stores = Files.createDirectories(dir.resolve("store"));
    try (ChronicleFile f = ChronicleFile.open(stores, spec)) {
      byte[] value = new byte[376];
      for (byte[] k : ordered) {
        assertThat(f.putIfAbsent(k, value)).isTrue();
      }
      f.settle();
      assertThat(f.size()).isEqualTo(n);
      // 4,096 entries at first and 1.8 times the content at each step: five or six growths.
      assertThat(f.growths()).as("generations made for %d entries", n).isLessThanOrEqualTo(8);
      for (int i = 0; i < n; i += 101) {
        assertThat(f.get(ordered.get(i))).isEqualTo(value);
      }
    }
    try (ChronicleFile f = ChronicleFile.open(stores, spec)) {
      assertThat(f.size()).as("entries after a reopen").isEqualTo(n);
      int[] seen = {0};
      f.forEachKey(k -> seen[0]++);
      assertThat(seen[0]).isEqualTo(n);
      assertThat(f.get(ordered.get(n - 1))).isEqualTo(new byte[376]);
    }
  }

  /** A file made before keys were salted is read as it is, and its keys move into salted ones. */
  @Test
  void aFileWithUnsaltedKeysIsReadAndGrowsIntoSaltedOnes() throws Exception {
    ChronicleFile.Spec spec = spec(0, null);
    long entries = ChronicleFile.physicalEntries(64, 128, spec);
    try (ChronicleMap<byte[], byte[]> m = ChronicleFile.builder(entries, 128, spec)
        .createPersistedTo(dir.resolve("things.cm3").toFile())) {
      for (int i = 0; i < 100; i++) {
        m.put(key(i), value(i));
      }
    }
    Files.writeString(dir.resolve("things.gens"), "generations=0:" + entries + ":128\n");
    Files.writeString(dir.resolve("things.clean"), "# closed cleanly\n");
    try (ChronicleFile f = ChronicleFile.open(dir, spec)) {
      assertThat(f.size()).isEqualTo(100);
      assertThat(f.get(key(42))).isEqualTo(value(42));
      for (int i = 100; i < 3_000; i++) {
        assertThat(f.putIfAbsent(key(i), value(i))).isTrue();
      }
      f.settle();
      assertThat(f.growths()).isGreaterThanOrEqualTo(1);
      for (int i = 0; i < 3_000; i += 7) {
        assertThat(f.get(key(i))).as("entry %d", i).isEqualTo(value(i));
      }
    }
    assertThat(Files.readString(dir.resolve("things.gens")))
        .as("the manifest names the newest file's salt")
        .matches("(?s).*generations=[0-9]+:[0-9]+:[0-9]+:[0-9a-f]{64}\\n");
  }

  /**
   * Making a generation can take a while (a file made and synced on a slow disk). A writer that
   * outpaces it waits at what the current file was made for, rather than filling the headroom
   * that values growing in place need: Chronicle, without extra tiers, damages a segment when
   * such a value finds no room.
   */
  @Test
  @Timeout(60)
  void writersWaitForASlowGrowthAtWhatTheFileWasMadeFor() throws Exception {
    java.util.concurrent.CountDownLatch growthMayGo = new java.util.concurrent.CountDownLatch(1);
    ChronicleFile.FreeSpace free = () -> {
      if (Thread.currentThread().getName().endsWith("-growth")) {
        try {
          growthMayGo.await();
        } catch (InterruptedException e) {
          throw new java.io.IOException(e);
        }
      }
      return 1L << 40;
    };
    int n = 3_000;
    try (ChronicleFile f = ChronicleFile.open(dir, spec(0, free));
        AutoCloseable release = growthMayGo::countDown) {
      long madeFor = f.generationEntries();
      Thread writer = new Thread(() -> {
        for (int i = 0; i < n; i++) {
          f.putIfAbsent(key(i), value(i));
        }
      }, "writer");
      writer.start();
      org.awaitility.Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() ->
          writer.getState() == Thread.State.TIMED_WAITING || !writer.isAlive());
      assertThat(f.size()).as("entries written while the growth was held up").isEqualTo(madeFor);
      assertThat(f.generations()).isEqualTo(1);
      // The headroom serves values that grow: every held one may double.
      for (int i = 0; i < madeFor; i += 2) {
        byte[] doubled = (new String(value(i), StandardCharsets.UTF_8).repeat(2))
            .getBytes(StandardCharsets.UTF_8);
        assertThat(f.replace(key(i), value(i), doubled)).as("replace %d", i).isTrue();
      }
      growthMayGo.countDown();
      writer.join();
      f.settle();
      for (int i = 0; i < n; i++) {
        assertThat(f.get(key(i))).as("entry %d", i).isNotNull();
      }
      assertThat(f.size()).isEqualTo(n);
    }
  }

  @Test
  void updatesAndRemovalsReachWhicheverGenerationHoldsTheKey() throws Exception {
    try (ChronicleFile f = ChronicleFile.open(dir, spec(0, null))) {
      int i = 0;
      // Write until a move is under way, then change keys of both generations.
      while (f.generations() == 1 || i < 100) {
        f.putIfAbsent(key(i), value(i));
        i++;
        assertThat(i).as("writes before a growth").isLessThan(50_000);
      }
      int held = i;
      for (int j = 0; j < held; j += 3) {
        assertThat(f.replace(key(j), value(j), value(j + 1))).as("replace %d", j).isTrue();
      }
      for (int j = 1; j < held; j += 3) {
        byte[] seen = f.get(key(j));
        assertThat(f.remove(key(j), value(j))).as("remove %d (held %s, gens %d, now %s)", j,
            seen == null ? null : new String(seen, StandardCharsets.UTF_8), f.generations(),
            f.get(key(j)) == null ? null : new String(f.get(key(j)), StandardCharsets.UTF_8))
            .isTrue();
      }
      f.settle();
      for (int j = 0; j < held; j++) {
        byte[] want = j % 3 == 0 ? value(j + 1) : j % 3 == 1 ? null : value(j);
        assertThat(f.get(key(j))).as("entry %d", j).isEqualTo(want);
      }
      assertThat(f.size()).isEqualTo(held - (held + 1) / 3);
    }
  }

  @Test
  void aFullDiskRefusesNewKeysWithWhatIsNeededAndKeepsServing() throws Exception {
    AtomicLong free = new AtomicLong(1L << 40);
    long keep = 256L << 20;
    try (ChronicleFile f = ChronicleFile.open(dir, spec(keep, free::get))) {
      for (int i = 0; i < 100; i++) {
        f.putIfAbsent(key(i), value(i));
      }
      free.set(keep - (10L << 20));
      assertThat(f.lowDisk()).get().asString()
          .contains("storage.min-free-disk-mb").contains("246 MiB free").contains("10 MiB more");
      assertThatThrownBy(() -> f.putIfAbsent(key(100), value(100)))
          .isInstanceOf(StoreFullException.class)
          .hasMessageContaining("storage.min-free-disk-mb")
          .hasMessageContaining("refuses new entries");
      assertThat(f.get(key(100))).isNull();
      // What is held can still be read, changed and removed (a delete must work on a full disk).
      assertThat(f.get(key(7))).isEqualTo(value(7));
      assertThat(f.replace(key(7), value(7), value(8))).isTrue();
      assertThat(f.remove(key(9), value(9))).isTrue();
      free.set(1L << 40);
      assertThat(f.lowDisk()).isEmpty();
      assertThat(f.putIfAbsent(key(100), value(100))).isTrue();
    }
  }

  @Test
  void aGrowthThatDoesNotFitIsRefusedAndTriedAgainOnceThereIsRoom() throws Exception {
    AtomicLong free = new AtomicLong(1L << 40);
    long keep = 64L << 20;
    try (ChronicleFile f = ChronicleFile.open(dir, spec(keep, free::get))) {
      long made = f.generationEntries();
      free.set(keep + 4096); // room to write, none to grow
      int i = 0;
      StoreFullException refused = null;
      while (refused == null) {
        try {
          f.putIfAbsent(key(i), value(i));
          i++;
        } catch (StoreFullException e) {
          refused = e;
        }
        assertThat(i).as("writes before the refusal").isLessThan(100_000);
      }
      f.settle();
      assertThat(f.growths()).isZero();
      assertThat(i).as("entries taken before refusing").isGreaterThanOrEqualTo((int) (made * 0.85));
      assertThat(refused.getMessage()).contains("must grow").contains("MiB more")
          .contains("storage.min-free-disk-mb");
      assertThat(f.lowDisk()).get().asString().contains("must grow");
      for (int j = 0; j < i; j++) {
        assertThat(f.get(key(j))).as("entry %d", j).isEqualTo(value(j));
      }
      free.set(1L << 40);
      assertThat(f.putIfAbsent(key(i), value(i))).isTrue();
      f.settle();
      assertThat(f.growths()).isEqualTo(1);
      assertThat(f.lowDisk()).isEmpty();
      for (int j = 0; j <= i; j++) {
        assertThat(f.get(key(j))).as("entry %d after the growth", j).isEqualTo(value(j));
      }
    }
  }

  @Test
  void leftoversOfAnInterruptedGrowthAreDeletedAtOpen() throws Exception {
    try (ChronicleFile f = ChronicleFile.open(dir, spec(0, null))) {
      for (int i = 0; i < 50; i++) {
        f.putIfAbsent(key(i), value(i));
      }
    }
    // A file made for the next generation before the manifest named it.
    Files.write(dir.resolve("things.1.cm3"), new byte[4096]);
    try (ChronicleFile f = ChronicleFile.open(dir, spec(0, null))) {
      assertThat(dir.resolve("things.1.cm3")).doesNotExist();
      assertThat(f.size()).isEqualTo(50);
      assertThat(f.get(key(49))).isEqualTo(value(49));
    }
  }

  /**
   * The state a SIGKILL during a move leaves in the old generation, without the kill: filled past
   * what it was made for (writes go on while the next generation is made), then emptied segment
   * by segment as the move does, then opened with the recovery an unclean stop runs. Chronicle's
   * recovery stops at the first empty extra segment tier and wipes the later ones, so a
   * generation file with extra tiers lost entries here that the move had not reached yet.
   */
  @Test
  void aGenerationPartlyEmptiedByAMoveKeepsEveryEntryLeftThroughRecovery() throws Exception {
    java.io.File file = dir.resolve("things.cm3").toFile();
    ChronicleMapBuilder<byte[], byte[]> builder = ChronicleFile.builder(1024, 80, spec(0, null));
    Map<ByteBuffer, Integer> left = new HashMap<>();
    int segments;
    try (ChronicleMap<byte[], byte[]> m = builder.createPersistedTo(file)) {
      for (int i = 0; i < 4 * 1024; i++) {
        try {
          m.put(key(i), value(i));
        } catch (IllegalStateException full) {
          break; // a write here waits for the next generation
        }
        left.put(ByteBuffer.wrap(key(i)), i);
      }
      assertThat(left).as("entries taken past the 1024 it was made for")
          .hasSizeGreaterThan(1024);
      segments = m.segments();
      assertThat(segments).as("segments").isGreaterThan(1);
      for (int s = 0; s < segments / 2; s++) {
        List<byte[]> keys = new ArrayList<>();
        try (MapSegmentContext<byte[], byte[], ?> ctx = m.segmentContext(s)) {
          ctx.forEachSegmentEntry(e -> keys.add(e.key().get().clone()));
        }
        for (byte[] k : keys) {
          m.remove(k);
          left.remove(ByteBuffer.wrap(k));
        }
      }
      assertThat(left).as("entries the move has not reached").isNotEmpty();
    }
    try (ChronicleMap<byte[], byte[]> m = builder.recoverPersistedTo(file, false)) {
      List<Integer> lost = new ArrayList<>();
      for (int i : left.values()) {
        if (!Arrays.equals(m.get(key(i)), value(i))) {
          lost.add(i);
        }
      }
      assertThat(lost).as("entries lost by the recovery of %d", left.size()).isEmpty();
      assertThat(m.longSize()).isEqualTo(left.size());
    }
  }

  @Test
  @Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void everyAcknowledgedWriteSurvivesSigkillDuringAMove() throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("@" + ChildJvm.jvmOptions());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(GrowthCrashWriter.class.getName());
    cmd.add(dir.toString());
    Path childLog = Files.createTempFile("growth-crash-writer", ".log");
    Process child =
        new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.to(childLog.toFile())).start();
    int lastAcked = -1;
    int killedInGeneration = 0;
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        // Acknowledgements are "<index> <live generations>"; anything else is a log line.
        if (line.matches("\\d+ \\d")) {
          String[] parts = line.split(" ");
          lastAcked = Integer.parseInt(parts[0]);
          if (lastAcked >= 5_000 && parts[1].equals("2")) {
            killedInGeneration = 2;
            break;
          }
          if (lastAcked >= 200_000) {
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
    assertThat(killedInGeneration).as("killed while a move was under way; the writer said:%n%s",
        log).isEqualTo(2);
    try (ChronicleFile f = ChronicleFile.open(dir, spec(0, null))) {
      assertThat(f.recovered()).isTrue();
      for (int i = 0; i <= lastAcked; i++) {
        byte[] got = f.get(key(i));
        assertThat(got).as("acknowledged write %d of %d: %s", i, lastAcked,
            got == null ? "missing" : new String(got, StandardCharsets.UTF_8))
            .isEqualTo(value(i));
      }
      assertThat(f.size()).isGreaterThanOrEqualTo(lastAcked + 1L);
      f.settle();
      assertThat(f.generations()).isEqualTo(1);
      for (int i = 0; i <= lastAcked; i++) {
        assertThat(f.get(key(i))).as("write %d after the move finished", i).isEqualTo(value(i));
      }
    }
  }
}
