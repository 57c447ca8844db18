package dev.mycelium.storage.embed;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.AbstractInProcessEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.OnnxBertBiEncoder;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import dev.mycelium.storage.Embedder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The built-in sentence embedder: all-MiniLM-L6-v2 (Reimers and Gurevych, "Sentence-BERT",
 * EMNLP 2019; Wang et al., "MiniLM", NeurIPS 2020), 384 dimensions, run in process by ONNX
 * Runtime from the model file inside its Maven artifact. Nothing is downloaded: the model and
 * the tokenizer's native library ship in the jars, and the tokenizer library (DJL) is put in
 * offline mode with usage tracking off before it loads. The model loads on first use, so a node
 * whose clients send their own vectors never pays for it. Thread-safe.
 *
 * <p>Two builds of the same model ship in Maven artifacts ({@link Variant}): float weights, and
 * weights quantized to 8 bits (dynamic quantization of the linear layers, Jacob et al.,
 * "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
 * Inference", CVPR 2018). Both make vectors in the same space, so a node can change from one
 * to the other without re-embedding what it holds (docs/BENCHMARKS.md, "Embedding").
 */
public final class MiniLmEmbedder implements Embedder {
  /** The model's output dimension. */
  public static final int DIMENSION = 384;

  /** A build of all-MiniLM-L6-v2, named as the config names it ({@code embedder.name}). */
  public enum Variant {
    /** Float weights, about 90 MB. */
    FLOAT("minilm", "all-minilm-l6-v2", AllMiniLmL6V2EmbeddingModel.class),
    /** Weights quantized to 8 bits, about 23 MB, and several times less arithmetic. */
    INT8("minilm-q", "all-minilm-l6-v2-q", AllMiniLmL6V2QuantizedEmbeddingModel.class);

    private final String configName;
    private final String files;
    private final Class<?> artifact;

    Variant(String configName, String files, Class<?> artifact) {
      this.configName = configName;
      this.files = files;
      this.artifact = artifact;
    }

    /** The name {@code embedder.name} gives this build by. */
    public String configName() {
      return configName;
    }
  }

  private final Variant variant;
  private volatile EmbeddingModel model;
  private volatile long modelBytes;

  /** The float build. */
  public MiniLmEmbedder() {
    this(Variant.FLOAT);
  }

  /** The given build. */
  public MiniLmEmbedder(Variant variant) {
    this.variant = Objects.requireNonNull(variant, "variant");
  }

  /** Which build this embedder runs. */
  public Variant variant() {
    return variant;
  }

  @Override
  public int dimension() {
    return DIMENSION;
  }

  @Override
  public float[] embed(String text) {
    if (text == null) {
      throw new IllegalArgumentException("text to embed is required");
    }
    float[] v = model().embed(text).content().vector();
    double norm = 0;
    for (float x : v) {
      norm += (double) x * x;
    }
    if (norm == 0) {
      throw new IllegalStateException("the embedding model returned a zero vector");
    }
    float inv = (float) (1 / Math.sqrt(norm));
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i] * inv;
    }
    return out;
  }

  /**
   * Loads the model now rather than on the first {@link #embed}, e.g. at node start.
   *
   * @throws IllegalStateException if the model or its native libraries cannot load here
   */
  public void load() {
    model();
  }

  private EmbeddingModel model() {
    EmbeddingModel m = model;
    if (m == null) {
      synchronized (this) {
        m = model;
        if (m == null) {
          keepTokenizerOffline();
          try {
            // Before any session exists: a stop from now on must not release the environment
            // under a session being made or run.
            OrtShutdown.keepEnvironmentToExit();
            m = load(OrtEnvironment.getEnvironment());
          } catch (IOException | OrtException | RuntimeException | LinkageError e) {
            throw new IllegalStateException(
                "cannot load the built-in embedding model (" + variant.files + "): " + e, e);
          }
          model = m;
        }
      }
    }
    return m;
  }

  /**
   * The weights ONNX Runtime holds once the model is loaded: the size of the model file in the
   * artifact (ONNX Runtime keeps the weights as read, in native memory).
   */
  @Override
  public long modelBytes() {
    return modelBytes;
  }

  /**
   * Makes the ONNX Runtime session from the model file inside the langchain4j artifact,
   * streamed into a direct buffer. The artifact's own loader reads it through a growing
   * byte array: about three times the model's 90 MB on the Java heap at once, which with
   * 100,000 vectors in a 512 MiB heap ran the embedder thread out of memory at start. Here the
   * heap holds 64 KiB of it at a time; the buffer is dropped once ONNX Runtime has its copy.
   */
  private EmbeddingModel load(OrtEnvironment env) throws IOException, OrtException {
    ClassLoader jar = variant.artifact.getClassLoader();
    String modelFile = variant.files + ".onnx";
    OrtSession session;
    try (InputStream in = resource(jar, modelFile);
        OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      // One thread per run, never spinning: the node already embeds on embedder.threads
      // threads at once. With ONNX Runtime's default (a pool of one thread per core, spinning
      // while it waits) the two embedding threads fought that pool and the graph inserter for
      // two cores: 2.1 to 2.2 ms of CPU per gloss in the node, 1.9 with this, and 12% more
      // texts a second once warm (docs/BENCHMARKS.md, "Embedding").
      options.setIntraOpNumThreads(1);
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      ByteBuffer bytes = readDirect(in, resourceSize(jar, modelFile));
      modelBytes = bytes.remaining();
      session = env.createSession(bytes, options);
    }
    try (InputStream tokenizer = resource(jar, variant.files + "-tokenizer.json")) {
      // The same encoder, pooling and dimension as AllMiniLmL6V2EmbeddingModel's.
      return new MiniLm(new OnnxBertBiEncoder(env, session, tokenizer, PoolingMode.MEAN));
    }
  }

  /** AllMiniLmL6V2EmbeddingModel over an encoder made here; embeds on the caller's thread. */
  private static final class MiniLm extends AbstractInProcessEmbeddingModel {
    private final OnnxBertBiEncoder encoder;

    MiniLm(OnnxBertBiEncoder encoder) {
      // Embedding runs on the caller's thread: the node decides the concurrency.
      super(Runnable::run);
      this.encoder = encoder;
    }

    @Override
    protected OnnxBertBiEncoder model() {
      return encoder;
    }

    @Override
    protected Integer knownDimension() {
      return DIMENSION;
    }
  }

  private static InputStream resource(ClassLoader jar, String name) throws IOException {
    InputStream in = jar.getResourceAsStream(name);
    if (in == null) {
      throw new IOException(name + " is not on the class path (its langchain4j embeddings "
          + "artifact is missing)");
    }
    return in;
  }

  private static long resourceSize(ClassLoader jar, String name) throws IOException {
    java.net.URLConnection c = jar.getResource(name).openConnection();
    c.setUseCaches(false);
    long n = c.getContentLengthLong();
    c.getInputStream().close();
    return n;
  }

  /** Reads a stream of a known size into a direct buffer, a chunk at a time. */
  static ByteBuffer readDirect(InputStream in, long size) throws IOException {
    if (size < 0 || size > Integer.MAX_VALUE) {
      throw new IOException("the model's size is unknown or too large: " + size);
    }
    ByteBuffer out = ByteBuffer.allocateDirect((int) size);
    byte[] chunk = new byte[64 * 1024];
    int n;
    while ((n = in.read(chunk)) > 0) {
      if (n > out.remaining()) {
        throw new IOException("the model is longer than its jar entry says (" + size + ")");
      }
      out.put(chunk, 0, n);
    }
    if (out.hasRemaining()) {
      throw new IOException("the model ended after " + out.position() + " of " + size
          + " bytes");
    }
    return out.flip();
  }

  /**
   * DJL reads these as system properties when no environment variable of the same meaning is
   * set: offline mode stops it fetching native libraries or models, and the opt-out stops its
   * usage tracking, which would otherwise contact a cloud metadata address and its own server.
   */
  static void keepTokenizerOffline() {
    System.setProperty("ai.djl.offline", "true");
    System.setProperty("offline", "true");
    System.setProperty("OPT_OUT_TRACKING", "true");
  }
}
