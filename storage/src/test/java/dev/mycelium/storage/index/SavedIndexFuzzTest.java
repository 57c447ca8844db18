package dev.mycelium.storage.index;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mycelium.storage.VectorHit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The saved vector index is read back at every start, and a disk can hand back anything. Whatever
 * the three files hold, {@link JVectorIndex#open} answers Loaded or RebuildNeeded and never
 * throws or runs out of memory; a loaded index answers searches. The harness writes checksums
 * that match the fuzzed files (unless the input says not to), so that the fuzzer reaches the
 * parsers behind the checksum checks.
 */
class SavedIndexFuzzTest {
  private static final int DIM = 4;
  private static final JVectorIndex.Options OPTIONS = new JVectorIndex.Options(4, 8, 2.0f);

  /**
   * Input: a flag byte (bit 0: right checksums; bit 1: a graph degree other than the index's),
   * the manifest's count (1 byte) and next ordinal (4 bytes), the length of vectors.bin (2 bytes),
   * vectors.bin, then graph.bin.
   */
  @FuzzTest
  void open(byte[] input) throws IOException {
    if (input.length < 8) {
      return;
    }
    ByteBuffer in = ByteBuffer.wrap(input);
    int flags = in.get();
    boolean rightChecksums = (flags & 1) != 0;
    int maxDegree = (flags & 2) != 0 ? OPTIONS.maxDegree() + 1 : OPTIONS.maxDegree();
    long count = in.get();
    int next = in.getInt();
    byte[] vectors = new byte[Math.min(in.getShort() & 0xffff, in.remaining())];
    in.get(vectors);
    byte[] graph = new byte[in.remaining()];
    in.get(graph);
    Path dir = Files.createTempDirectory("saved-index-fuzz");
    try {
      Files.write(dir.resolve(IndexFiles.VECTORS), vectors);
      Files.write(dir.resolve(IndexFiles.GRAPH), graph);
      long vectorsCrc = rightChecksums ? crc(vectors) : 0;
      long graphCrc = rightChecksums ? crc(graph) : 0;
      String manifest = "format=" + JVectorIndex.FORMAT_VERSION + "\ndimension=" + DIM
          + "\ncount=" + count + "\nstoreGeneration=7\nnextOrdinal=" + next
          + "\nmaxDegree=" + maxDegree + "\nvectorsCrc=" + vectorsCrc
          + "\ngraphCrc=" + graphCrc + "\n";
      Files.writeString(dir.resolve(IndexFiles.MANIFEST), manifest, StandardCharsets.UTF_8);

      JVectorIndex.OpenResult r = JVectorIndex.open(dir, DIM, OPTIONS, Runnable::run, -1);
      if (r instanceof JVectorIndex.OpenResult.Loaded loaded) {
        JVectorIndex index = loaded.index();
        try {
          List<VectorHit> hits = index.search(new float[] {1, 0, 0, 0}, 3, id -> true);
          assertThat(hits.size()).isLessThanOrEqualTo(3);
          assertThat(index.size()).isGreaterThanOrEqualTo(0);
        } finally {
          index.close();
        }
      } else {
        assertThat(r).isInstanceOf(JVectorIndex.OpenResult.RebuildNeeded.class);
      }
    } finally {
      deleteTree(dir);
    }
  }

  private static long crc(byte[] b) {
    CRC32C c = new CRC32C();
    c.update(b);
    return c.getValue();
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
