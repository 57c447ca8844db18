package dev.mycelium.storage.index;

import static dev.mycelium.storage.index.TestData.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.FragmentId;
import dev.mycelium.storage.VectorHit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JVectorIndexTest {
  private static final int DIM = 32;
  private static final JVectorIndex.Options OPTIONS = new JVectorIndex.Options(16, 64, 2.0f);

  @TempDir Path dir;

  /** An executor that runs nothing until the test says so. */
  static final class PausedExecutor implements Executor {
    final Queue<Runnable> tasks = new ArrayDeque<>();

    @Override
    public synchronized void execute(Runnable r) {
      tasks.add(r);
    }

    void runAll() {
      Runnable r;
      while ((r = poll()) != null) {
        r.run();
      }
    }

    private synchronized Runnable poll() {
      return tasks.poll();
    }
  }

  @Test
  void keptVectorIsTheUnitVectorUntilRemoved() {
    try (JVectorIndex index = JVectorIndex.create(dir, 2, OPTIONS, null, 0)) {
      index.add(id(1), new float[] {3, 4});
      assertThat(index.vector(id(1))).hasValueSatisfying(v -> assertThat(v)
          .containsExactly(new float[] {0.6f, 0.8f}, org.assertj.core.data.Offset.offset(1e-6f)));
      assertThat(index.vector(id(2))).isEmpty();
      index.remove(id(1));
      assertThat(index.vector(id(1))).isEmpty();
    }
  }

  @Test
  void recallAtTenAgainstExactSearch() {
    float[][] data = TestData.clustered(7, 2000, DIM);
    ExactVectorIndex exact = new ExactVectorIndex(DIM);
    try (JVectorIndex index = JVectorIndex.create(dir, DIM, OPTIONS, null, 0)) {
      for (int i = 0; i < data.length; i++) {
        exact.add(id(i), data[i]);
        index.add(id(i), data[i]);
      }
      await().atMost(Duration.ofMinutes(1)).until(() -> index.pending() == 0);
      assertThat(index.size()).isEqualTo(2000);

      Random r = new Random(11);
      int found = 0;
      int queries = 100;
      for (int q = 0; q < queries; q++) {
        float[] query = data[r.nextInt(data.length)].clone();
        for (int i = 0; i < DIM; i++) {
          query[i] += (float) (r.nextGaussian() * 0.05);
        }
        Set<FragmentId> truth = ids(exact.search(query, 10, x -> true));
        List<VectorHit> hits = index.search(query, 10, x -> true);
        assertThat(hits).hasSize(10);
        assertThat(hits).isSortedAccordingTo(Vectors.BEST_FIRST);
        for (VectorHit h : hits) {
          if (truth.contains(h.id())) {
            found++;
          }
        }
      }
      double recall = found / (10.0 * queries);
      assertThat(recall).isGreaterThanOrEqualTo(0.9);
    }
  }

  @Test
  void searchFindsVectorsTheIndexerHasNotReached() {
    PausedExecutor paused = new PausedExecutor();
    try (JVectorIndex index = JVectorIndex.create(dir, DIM, OPTIONS, paused, 0)) {
      float[][] data = TestData.clustered(3, 200, DIM);
      for (int i = 0; i < 100; i++) {
        index.add(id(i), data[i]);
      }
      paused.runAll();
      assertThat(index.pending()).isZero();

      index.add(id(500), data[150]);
      assertThat(index.pending()).isEqualTo(1);
      assertThat(index.search(data[150], 1, x -> true))
          .extracting(VectorHit::id)
          .containsExactly(id(500));

      paused.runAll();
      assertThat(index.pending()).isZero();
      assertThat(index.search(data[150], 1, x -> true))
          .extracting(VectorHit::id)
          .containsExactly(id(500));
    }
  }

  @Test
  void removedVectorsNeverComeBack() {
    float[][] data = TestData.clustered(5, 600, DIM);
    PausedExecutor paused = new PausedExecutor();
    try (JVectorIndex index = JVectorIndex.create(dir, DIM, OPTIONS, paused, 0)) {
      for (int i = 0; i < data.length; i++) {
        index.add(id(i), data[i]);
      }
      paused.runAll();
      // Remove every other vector: enough to trigger compaction on the next drain, with one
      // still pending when removed.
      index.add(id(9999), data[0]);
      Set<FragmentId> removed = new HashSet<>();
      for (int i = 0; i < data.length; i += 2) {
        index.remove(id(i));
        removed.add(id(i));
      }
      index.remove(id(9999));
      removed.add(id(9999));
      assertNoneOf(index, data, removed);
      paused.runAll();
      assertThat(index.pending()).isZero();
      assertNoneOf(index, data, removed);
      assertThat(index.size()).isEqualTo(300);

      index.save(1);
    }
    JVectorIndex.OpenResult r = JVectorIndex.open(dir, DIM, OPTIONS, paused, 1);
    assertThat(r).isInstanceOf(JVectorIndex.OpenResult.Loaded.class);
    try (JVectorIndex reopened = ((JVectorIndex.OpenResult.Loaded) r).index()) {
      assertThat(reopened.size()).isEqualTo(300);
      assertNoneOf(reopened, data, Set.of(id(0), id(2), id(598), id(9999)));
    }
  }

  private static void assertNoneOf(JVectorIndex index, float[][] data, Set<FragmentId> removed) {
    for (int i = 0; i < data.length; i += 7) {
      List<VectorHit> hits = index.search(data[i], 20, x -> true);
      assertThat(hits).hasSize(20);
      assertThat(ids(hits)).doesNotContainAnyElementsOf(removed);
    }
  }

  @Test
  void saveAndReopenGiveTheSameResults() {
    float[][] data = TestData.clustered(9, 1000, DIM);
    List<List<VectorHit>> before = new ArrayList<>();
    PausedExecutor paused = new PausedExecutor();
    try (JVectorIndex index = JVectorIndex.create(dir, DIM, OPTIONS, paused, 0)) {
      for (int i = 0; i < data.length; i++) {
        index.add(id(i), data[i]);
      }
      paused.runAll();
      // Two left pending on purpose: they must come back pending and still be found.
      index.add(id(5000), data[10]);
      index.add(id(5001), data[20]);
      // Removed after the indexer last ran: its graph node is marked only by the save.
      index.remove(id(13));
      for (int q = 0; q < 50; q++) {
        before.add(index.search(data[q * 13], 10, x -> true));
      }
      index.setStoreGeneration(42);
    }
    JVectorIndex.OpenResult r = JVectorIndex.open(dir, DIM, OPTIONS, paused, 42);
    assertThat(r).isInstanceOf(JVectorIndex.OpenResult.Loaded.class);
    try (JVectorIndex reopened = ((JVectorIndex.OpenResult.Loaded) r).index()) {
      assertThat(reopened.size()).isEqualTo(1001);
      assertThat(ids(reopened.search(data[13], 10, x -> true))).doesNotContain(id(13));
      assertThat(reopened.pending()).isEqualTo(2);
      assertThat(reopened.storeGeneration()).isEqualTo(42);
      for (int q = 0; q < 50; q++) {
        assertThat(reopened.search(data[q * 13], 10, x -> true)).isEqualTo(before.get(q));
      }
      paused.runAll();
      assertThat(reopened.pending()).isZero();
      assertThat(reopened.search(data[20], 2, x -> true))
          .extracting(VectorHit::id)
          .contains(id(5001));
    }
  }

  @Test
  void missingCorruptOrStaleFilesAskForARebuild() throws IOException {
    assertRebuild(JVectorIndex.open(dir.resolve("nothing"), DIM, OPTIONS, null, -1), "no saved");

    float[][] data = TestData.clustered(1, 300, DIM);
    List<Map.Entry<FragmentId, float[]>> source = new ArrayList<>();
    for (int i = 0; i < data.length; i++) {
      source.add(new AbstractMap.SimpleEntry<>(id(i), data[i]));
    }
    JVectorIndex.rebuild(dir, DIM, OPTIONS, null, 7, source).close();

    assertRebuild(JVectorIndex.open(dir, DIM, OPTIONS, null, 8), "stale");
    assertRebuild(JVectorIndex.open(dir, DIM + 1, OPTIONS, null, 7), "dimension");

    Path graph = dir.resolve(IndexFiles.GRAPH);
    byte[] bytes = Files.readAllBytes(graph);
    bytes[bytes.length / 2] ^= 0x5a;
    Files.write(graph, bytes);
    assertRebuild(JVectorIndex.open(dir, DIM, OPTIONS, null, 7), "checksum");

    JVectorIndex rebuilt = JVectorIndex.openOrRebuild(dir, DIM, OPTIONS, null, 7, source);
    assertThat(rebuilt.size()).isEqualTo(300);
    rebuilt.close();
    assertThat(JVectorIndex.open(dir, DIM, OPTIONS, null, 7))
        .isInstanceOf(JVectorIndex.OpenResult.Loaded.class)
        .satisfies(l -> ((JVectorIndex.OpenResult.Loaded) l).index().close());

    Files.write(dir.resolve(IndexFiles.VECTORS), new byte[] {1, 2, 3}, StandardOpenOption.APPEND);
    assertRebuild(JVectorIndex.open(dir, DIM, OPTIONS, null, 7), "unreadable");

    Files.delete(dir.resolve(IndexFiles.GRAPH));
    Files.write(dir.resolve(IndexFiles.MANIFEST),
        ("format=" + JVectorIndex.FORMAT_VERSION + "\ndimension=32\n").getBytes());
    assertRebuild(JVectorIndex.open(dir, DIM, OPTIONS, null, 7), "unreadable");

    // Format 1 saved the graph without its scores: such an index is rebuilt, not misread.
    Files.write(dir.resolve(IndexFiles.MANIFEST), "format=1\ndimension=32\n".getBytes());
    assertRebuild(JVectorIndex.open(dir, DIM, OPTIONS, null, 7), "format 1");
  }

  @Test
  void aSavedGraphReadsBackAsItWasAndAGraphWhoseScoresAreOutOfOrderIsRefused()
      throws IOException {
    float[][] data = TestData.clustered(5, 600, DIM);
    List<Map.Entry<FragmentId, float[]>> source = new ArrayList<>();
    for (int i = 0; i < data.length; i++) {
      source.add(new AbstractMap.SimpleEntry<>(id(i), data[i]));
    }
    JVectorIndex.rebuild(dir, DIM, OPTIONS, null, 7, source).close();
    Path graph = dir.resolve(IndexFiles.GRAPH);
    byte[] saved = Files.readAllBytes(graph);

    // Loaded with the scores the file carries and saved again (each save scores every edge
    // afresh): the same lists, so the loader kept every list, its order and its scores. (Not
    // the same bytes: an upper layer lists its nodes in its hash map's order.)
    JVectorIndex.OpenResult r = JVectorIndex.open(dir, DIM, OPTIONS, null, 7);
    assertThat(r).isInstanceOf(JVectorIndex.OpenResult.Loaded.class);
    ((JVectorIndex.OpenResult.Loaded) r).index().close();
    assertThat(lists(Files.readAllBytes(graph))).isEqualTo(lists(saved));

    // The first base-layer list of two or more with its first two scores swapped, and the
    // checksum made right: the loader would keep that order, so the file is refused.
    ByteBuffer b = ByteBuffer.wrap(saved);
    b.position(8);
    int layers = b.getInt();
    b.position(b.position() + 4 * layers + 4);
    b.getInt(); // nodes on the base layer
    int n;
    while (true) {
      b.getInt();
      n = b.getInt();
      if (n >= 2 && b.getFloat(b.position() + 4) > b.getFloat(b.position() + 12)) {
        break;
      }
      b.position(b.position() + 8 * n);
    }
    float first = b.getFloat(b.position() + 4);
    b.putFloat(b.position() + 4, b.getFloat(b.position() + 12));
    b.putFloat(b.position() + 12, first);
    Files.write(graph, saved);
    CRC32C crc = new CRC32C();
    crc.update(saved);
    Path manifest = dir.resolve(IndexFiles.MANIFEST);
    Files.writeString(manifest, Files.readString(manifest)
        .replaceAll("graphCrc=\\d+", "graphCrc=" + crc.getValue()));
    assertRebuild(JVectorIndex.open(dir, DIM, OPTIONS, null, 7), "with score");
  }

  /** A saved graph's neighbour lists with their scores, by layer and node. */
  private static Map<String, List<String>> lists(byte[] file) {
    ByteBuffer b = ByteBuffer.wrap(file);
    b.position(8);
    int layers = b.getInt();
    b.position(b.position() + 4 * layers + 4);
    Map<String, List<String>> lists = new java.util.HashMap<>();
    for (int level = 0; level < layers; level++) {
      int nodes = b.getInt();
      for (int i = 0; i < nodes; i++) {
        int node = b.getInt();
        List<String> list = new ArrayList<>();
        for (int n = b.getInt(); n > 0; n--) {
          list.add(b.getInt() + "@" + b.getFloat());
        }
        lists.put(level + "/" + node, list);
      }
    }
    assertThat(b.hasRemaining()).isFalse();
    return lists;
  }

  private static void assertRebuild(JVectorIndex.OpenResult r, String reason) {
    assertThat(r).isInstanceOf(JVectorIndex.OpenResult.RebuildNeeded.class);
    assertThat(((JVectorIndex.OpenResult.RebuildNeeded) r).reason()).contains(reason);
  }

  @Test
  void filtersReturnOnlyPassingIdsAndKOfThemWhenPossible() {
    float[][] data = TestData.clustered(13, 1500, DIM);
    ExactVectorIndex exact = new ExactVectorIndex(DIM);
    try (JVectorIndex index = JVectorIndex.create(dir, DIM, OPTIONS, null, 0)) {
      for (int i = 0; i < data.length; i++) {
        index.add(id(i), data[i]);
        exact.add(id(i), data[i]);
      }
      await().atMost(Duration.ofMinutes(1)).until(() -> index.pending() == 0);

      // Half pass: the graph walk handles it.
      List<VectorHit> even = index.search(data[3], 10, x -> TestData.number(x) % 2 == 0);
      assertThat(even).hasSize(10);
      assertThat(even).allMatch(h -> TestData.number(h.id()) % 2 == 0);

      // Very selective: 12 of 1500 pass, far from the query; all 10 best must come back.
      java.util.function.Predicate<FragmentId> rare = x -> TestData.number(x) % 125 == 1;
      List<VectorHit> hits = index.search(data[3], 10, rare);
      assertThat(hits).hasSize(10);
      assertThat(hits).allMatch(h -> rare.test(h.id()));
      assertThat(ids(hits)).isEqualTo(ids(exact.search(data[3], 10, rare)));

      // Fewer pass than asked for: all of them.
      assertThat(index.search(data[3], 10, x -> TestData.number(x) < 4)).hasSize(4);
    }
  }

  @Test
  void concurrentAddsRemovesAndSearchesKeepTheInvariants() throws Exception {
    float[][] data = TestData.clustered(17, 1200, DIM);
    try (JVectorIndex index = JVectorIndex.create(dir, DIM, OPTIONS, null, 0)) {
      java.util.concurrent.ExecutorService pool =
          java.util.concurrent.Executors.newFixedThreadPool(3);
      try {
        // Writers add everything and remove multiples of 3; a reader searches meanwhile and
        // must never see an ID that was removed before its search began.
        Set<FragmentId> removedBefore = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
          int offset = w;
          futures.add(
              pool.submit(
                  () -> {
                    for (int i = offset; i < data.length; i += 2) {
                      index.add(id(i), data[i]);
                      if (i % 3 == 0) {
                        index.remove(id(i));
                        removedBefore.add(id(i));
                      }
                    }
                  }));
        }
        futures.add(
            pool.submit(
                () -> {
                  for (int q = 0; q < 200; q++) {
                    Set<FragmentId> gone = new HashSet<>(removedBefore);
                    for (VectorHit h : index.search(data[(q * 37) % data.length], 10, x -> true)) {
                      assertThat(gone).doesNotContain(h.id());
                    }
                  }
                }));
        for (java.util.concurrent.Future<?> f : futures) {
          f.get(1, java.util.concurrent.TimeUnit.MINUTES);
        }
      } finally {
        pool.shutdown();
      }
      await().atMost(Duration.ofMinutes(1)).until(() -> index.pending() == 0);
      assertThat(index.size()).isEqualTo(800);
      for (int i = 1; i < data.length; i += 3) {
        assertThat(index.search(data[i], 10, x -> true))
            .extracting(VectorHit::id)
            .contains(id(i));
      }
    }
  }

  private static Set<FragmentId> ids(List<VectorHit> hits) {
    Set<FragmentId> out = new HashSet<>();
    hits.forEach(h -> out.add(h.id()));
    return out;
  }
}
