package dev.mycelium.storage.index;

import dev.mycelium.model.FragmentId;
import io.github.jbellis.jvector.disk.ByteBufferReader;
import io.github.jbellis.jvector.graph.NodesIterator;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.diversity.VamanaDiversityProvider;
import io.github.jbellis.jvector.graph.similarity.ScoreFunction;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.Properties;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The saved index's files: a manifest (format version, dimension, count, store generation,
 * checksums), the vectors with their IDs, and the graph's adjacency lists, written so that a
 * crash mid-save reads back as "rebuild", never as a mix of old and new files.
 */
final class IndexFiles {
  static final String MANIFEST = "manifest.properties";
  static final String VECTORS = "vectors.bin";
  static final String GRAPH = "graph.bin";

  /** The layout version of jvector's on-heap graph save format that its builder loads. */
  private static final int JVECTOR_GRAPH_VERSION = 4;
  /** Most graph layers a saved file may name (levels grow with log n; 32 is far beyond use). */
  private static final int MAX_LAYERS = 32;

  private IndexFiles() {}

  /** Reads the manifest in {@code dir}. */
  static Properties readManifest(Path dir) throws IOException {
    Properties m = new Properties();
    try (InputStream in = Files.newInputStream(dir.resolve(MANIFEST))) {
      m.load(in);
    }
    return m;
  }

  /**
   * Why an index saved with manifest {@code m} cannot serve one of this shape and store
   * generation (negative {@code expectedGeneration}: any), or empty when it can.
   */
  static Optional<String> mismatch(Properties m, int dimension, JVectorIndex.Options options,
      long expectedGeneration) throws IOException {
    int format = intProp(m, "format");
    if (format != JVectorIndex.FORMAT_VERSION) {
      return Optional.of(
          "saved index has format " + format + ", this version reads "
              + JVectorIndex.FORMAT_VERSION);
    }
    int savedDim = intProp(m, "dimension");
    if (savedDim != dimension) {
      return Optional.of("saved index has dimension " + savedDim + ", expected " + dimension);
    }
    if (intProp(m, "maxDegree") != options.maxDegree()) {
      return Optional.of("saved index was built with another graph degree");
    }
    long generation = longProp(m, "storeGeneration");
    if (expectedGeneration >= 0 && generation != expectedGeneration) {
      return Optional.of(
          "saved index is stale: store generation " + generation + ", store is at "
              + expectedGeneration);
    }
    return Optional.empty();
  }

  /**
   * Writes {@code g} to {@code dir}, recording {@code storeGeneration}. The caller holds the
   * write side of the lock, so the graph does not change underneath.
   */
  static void write(Path dir, IndexGraph g, long storeGeneration) throws IOException {
    Files.createDirectories(dir);
    Path vectorsTmp = dir.resolve(VECTORS + ".tmp");
    Path graphTmp = dir.resolve(GRAPH + ".tmp");
    Path manifestTmp = dir.resolve(MANIFEST + ".tmp");
    long count;
    long vectorsCrc;
    long graphCrc;
    try (CheckedOutputStream cos = new CheckedOutputStream(newOut(vectorsTmp), new CRC32C());
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(cos, 1 << 16))) {
      count = writeVectors(out, g);
      out.flush();
      vectorsCrc = cos.getChecksum().getValue();
    }
    try (CheckedOutputStream cos = new CheckedOutputStream(newOut(graphTmp), new CRC32C());
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(cos, 1 << 16))) {
      writeGraph(out, g);
      out.flush();
      graphCrc = cos.getChecksum().getValue();
    }
    Properties m = new Properties();
    m.setProperty("format", Integer.toString(JVectorIndex.FORMAT_VERSION));
    m.setProperty("dimension", Integer.toString(g.dimension));
    m.setProperty("count", Long.toString(count));
    m.setProperty("storeGeneration", Long.toString(storeGeneration));
    m.setProperty("nextOrdinal", Integer.toString(g.nextOrdinal.get()));
    m.setProperty("maxDegree", Integer.toString(g.options.maxDegree()));
    m.setProperty("vectorsCrc", Long.toString(vectorsCrc));
    m.setProperty("graphCrc", Long.toString(graphCrc));
    try (OutputStream out = newOut(manifestTmp)) {
      m.store(out, "Mycelium vector index");
    }
    // The manifest goes first and comes back last: a crash in between leaves no manifest,
    // which reads as "rebuild", never as a mix of old and new files.
    Files.deleteIfExists(dir.resolve(MANIFEST));
    Files.move(vectorsTmp, dir.resolve(VECTORS), StandardCopyOption.REPLACE_EXISTING);
    Files.move(graphTmp, dir.resolve(GRAPH), StandardCopyOption.REPLACE_EXISTING);
    Files.move(manifestTmp, dir.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE);
  }

  /** A stream that forces its bytes to the device on close, before the files are renamed. */
  private static OutputStream newOut(Path p) throws IOException {
    FileChannel ch =
        FileChannel.open(
            p,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE);
    return new FilterOutputStream(Channels.newOutputStream(ch)) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        try {
          flush();
          ch.force(true);
        } finally {
          super.close();
        }
      }
    };
  }

  /**
   * Per stored vector: ordinal, a flag byte (1 if the fragment is live), its 32 ID bytes if
   * live, then the unit vector. Vectors of removed fragments are kept while their graph nodes
   * exist (a remove may land during the save), so that every node the graph names has a vector.
   * Returns the count of live vectors.
   */
  private static long writeVectors(DataOutputStream out, IndexGraph g) throws IOException {
    long live = 0;
    int end = g.nextOrdinal.get();
    for (int ordinal = 0; ordinal < end; ordinal++) {
      VectorFloat<?> v = g.vectors.get(ordinal);
      if (v == null) {
        continue;
      }
      FragmentId id = g.ids.get(ordinal);
      out.writeInt(ordinal);
      if (id == null) {
        out.writeByte(0);
      } else {
        out.writeByte(1);
        out.write(id.toBytes());
        live++;
      }
      for (int i = 0; i < g.dimension; i++) {
        out.writeFloat(v.get(i));
      }
    }
    return live;
  }

  /**
   * The graph's layers in the layout of jvector's on-heap graph save format (version 4), which
   * {@link OnHeapGraphIndex#load} reads back into a graph that can still grow. It is written here
   * from the graph's public views because jvector's own writer refuses a graph that may still
   * grow. Each neighbour goes with its exact score, in descending order, so that the loader can
   * take the lists as they are: scoring them again at every start cost a node with 100,000
   * vectors seconds of CPU (docs/BENCHMARKS.md, "A node with 100,000 fragments").
   */
  private static void writeGraph(DataOutputStream out, IndexGraph g) throws IOException {
    int layers = g.graph.size(0) == 0 ? 1 : g.graph.getMaxLevel() + 1;
    out.writeInt(OnHeapGraphIndex.MAGIC);
    out.writeInt(JVECTOR_GRAPH_VERSION);
    out.writeInt(layers);
    for (int level = 0; level < layers; level++) {
      out.writeInt(g.graph.getDegree(level));
    }
    var entry = g.graph.entryNode();
    out.writeInt(entry == null ? -1 : entry.node);
    for (int level = 0; level < layers; level++) {
      int[] nodes = g.graph.nodeStream(level).toArray();
      out.writeInt(nodes.length);
      for (int node : nodes) {
        NodesIterator it = g.graph.getNeighborsIterator(level, node);
        ScoreFunction score = g.scores.searchProviderFor(node).exactScoreFunction();
        long[] scored = new long[it.size()];
        int n = 0;
        while (it.hasNext() && n < scored.length) {
          int neighbour = it.nextInt();
          scored[n++] = ((long) sortable(score.similarityTo(neighbour)) << 32)
              | (neighbour & 0xFFFF_FFFFL);
        }
        // The graph keeps each list by descending score already; sorting again only settles
        // ties and last-bit differences, so that the loader's order check cannot trip on them.
        Arrays.sort(scored, 0, n);
        out.writeInt(node);
        out.writeInt(n);
        for (int i = n - 1; i >= 0; i--) {
          out.writeInt((int) scored[i]);
          out.writeFloat(fromSortable((int) (scored[i] >>> 32)));
        }
      }
    }
  }

  /** A float's bits as an int that orders as the float does (for finite values and zeros). */
  private static int sortable(float f) {
    int bits = Float.floatToIntBits(f);
    return bits ^ ((bits >> 31) & 0x7FFF_FFFF);
  }

  private static float fromSortable(int s) {
    return Float.intBitsToFloat(s ^ ((s >> 31) & 0x7FFF_FFFF));
  }

  /**
   * Reads the saved vectors and their IDs into {@code g}.
   *
   * @return how many live (ID-carrying) vectors were read
   */
  static long readVectors(Path dir, Properties m, IndexGraph g) throws IOException {
    Path path = dir.resolve(VECTORS);
    long expectedCrc = longProp(m, "vectorsCrc");
    long live = 0;
    try (CheckedInputStream cis = new CheckedInputStream(Files.newInputStream(path), new CRC32C());
        DataInputStream in = new DataInputStream(new BufferedInputStream(cis, 1 << 16))) {
      byte[] idBytes = new byte[FragmentId.LENGTH];
      byte[] record = new byte[4 * g.dimension];
      ByteBuffer bb = ByteBuffer.wrap(record);
      int next = g.nextOrdinal.get();
      while (true) {
        int first = in.read();
        if (first < 0) {
          break;
        }
        int ordinal = (first << 24) | (in.readUnsignedByte() << 16) | in.readUnsignedShort();
        if (ordinal < 0 || ordinal >= next) {
          throw new IOException("ordinal " + ordinal + " is outside the saved range");
        }
        int flag = in.readUnsignedByte();
        if (flag > 1) {
          throw new IOException("record of ordinal " + ordinal + " has flag " + flag);
        }
        FragmentId id = null;
        if (flag == 1) {
          in.readFully(idBytes);
          id = FragmentId.of(idBytes);
        }
        in.readFully(record);
        float[] v = new float[g.dimension];
        bb.clear();
        bb.asFloatBuffer().get(v);
        // Saved vectors are unit vectors; anything else (NaN, huge) breaks the graph's ordering.
        double norm = 0;
        for (float x : v) {
          norm += (double) x * x;
        }
        if (!(Math.abs(norm - 1) <= 1e-3)) {
          throw new IOException("the vector of ordinal " + ordinal + " is not a unit vector");
        }
        g.vectors.set(ordinal, IndexGraph.VTS.createFloatVector(v));
        if (id != null) {
          g.ids.set(ordinal, id);
          if (g.ordinals.put(id, ordinal) != null) {
            throw new IOException("fragment " + id + " is saved twice");
          }
          live++;
        }
      }
      if (cis.getChecksum().getValue() != expectedCrc) {
        throw new IOException(VECTORS + " fails its checksum");
      }
    }
    return live;
  }

  /** Reads the saved graph into {@code g}'s builder, after checking every count and node in it. */
  static void readGraph(Path dir, Properties m, IndexGraph g) throws IOException {
    Path path = dir.resolve(GRAPH);
    long expectedCrc = longProp(m, "graphCrc");
    CRC32C crc = new CRC32C();
    ByteBuffer bytes;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE) {
        throw new IOException(GRAPH + " is too large: " + size + " bytes");
      }
      bytes = ByteBuffer.allocate((int) size);
      while (bytes.hasRemaining() && ch.read(bytes) >= 0) {
        // read until full
      }
    } catch (NoSuchFileException e) {
      throw new IOException(GRAPH + " is missing", e);
    }
    bytes.flip();
    crc.update(bytes.duplicate());
    if (crc.getValue() != expectedCrc) {
      throw new IOException(GRAPH + " fails its checksum");
    }
    // jvector's loader trusts the file: it sizes arrays from the counts in it and reads another
    // layout when the magic differs. So the layout written by writeGraph is checked first, every
    // count against what this index can hold, and every node named must have a vector (or the
    // loader would score a null). A file that fails is unreadable, and the index is rebuilt.
    ByteBuffer check = bytes.duplicate();
    if (check.remaining() < 12 || check.getInt() != OnHeapGraphIndex.MAGIC
        || check.getInt() != JVECTOR_GRAPH_VERSION) {
      throw new IOException(GRAPH + " is not a version " + JVECTOR_GRAPH_VERSION + " graph");
    }
    int layers = check.getInt();
    if (layers < 1 || layers > MAX_LAYERS || check.remaining() < 4L * layers + 4) {
      throw new IOException(GRAPH + " has " + layers + " layers");
    }
    int[] degrees = new int[layers];
    for (int level = 0; level < layers; level++) {
      degrees[level] = check.getInt();
      if (degrees[level] < 1 || degrees[level] > g.options.maxDegree()) {
        throw new IOException(GRAPH + " has degree " + degrees[level] + " at layer " + level
            + "; this index has " + g.options.maxDegree());
      }
    }
    int entry = check.getInt();
    if (entry != -1) {
      requireVector(entry, g);
    }
    int limit = g.nextOrdinal.get();
    for (int level = 0; level < layers; level++) {
      int nodes = check.getInt();
      if (nodes < 0 || nodes > limit) {
        throw new IOException(GRAPH + " has " + nodes + " nodes at layer " + level);
      }
      if (entry == -1 && nodes > 0) {
        throw new IOException(GRAPH + " has nodes but no entry node");
      }
      for (int i = 0; i < nodes; i++) {
        requireVector(check.getInt(), g);
        int n = check.getInt();
        if (n < 0 || n > 2 * degrees[level]) {
          throw new IOException(GRAPH + " gives a node " + n + " neighbours at layer " + level);
        }
        float previous = Float.POSITIVE_INFINITY;
        for (int j = 0; j < n; j++) {
          requireVector(check.getInt(), g);
          float score = check.getFloat();
          // The loader takes the scores as they are and keeps each list in this order.
          if (!(score <= previous) || !Float.isFinite(score)) {
            throw new IOException(GRAPH + " lists a neighbour at layer " + level
                + " with score " + score + " after " + previous);
          }
          previous = score;
        }
      }
    }
    if (entry == -1) {
      return; // an empty graph: the new index's own is the same
    }
    ByteBufferReader reader = new ByteBufferReader(bytes);
    g.adoptSaved(OnHeapGraphIndex.load(reader, g.dimension, IndexGraph.OVERFLOW,
        new VamanaDiversityProvider(g.scores, IndexGraph.ALPHA)));
  }

  private static void requireVector(int ordinal, IndexGraph g) throws IOException {
    if (g.vectors.get(ordinal) == null) {
      throw new IOException("the saved graph names node " + ordinal + ", which has no vector");
    }
  }

  static int intProp(Properties m, String key) throws IOException {
    return Math.toIntExact(longProp(m, key));
  }

  static long longProp(Properties m, String key) throws IOException {
    String v = m.getProperty(key);
    if (v == null) {
      throw new IOException("manifest lacks " + key);
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IOException("manifest " + key + " is not a number: " + v);
    }
  }
}
