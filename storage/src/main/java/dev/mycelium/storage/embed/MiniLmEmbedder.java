package dev.mycelium.storage.embed;

import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.mycelium.storage.Embedder;

/**
 * The built-in sentence embedder: all-MiniLM-L6-v2 (Reimers and Gurevych, "Sentence-BERT",
 * EMNLP 2019; Wang et al., "MiniLM", NeurIPS 2020), 384 dimensions, run in process by ONNX
 * Runtime from the model file inside its Maven artifact. Nothing is downloaded: the model and
 * the tokenizer's native library ship in the jars, and the tokenizer library (DJL) is put in
 * offline mode with usage tracking off before it loads. The model (about 90 MB) loads on first
 * use, so a node whose clients send their own vectors never pays for it. Thread-safe.
 */
public final class MiniLmEmbedder implements Embedder {
  /** The model's output dimension. */
  public static final int DIMENSION = 384;

  private volatile EmbeddingModel model;
  private volatile long modelBytes;

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
            // Embedding runs on the caller's thread: the node decides the concurrency.
            m = new AllMiniLmL6V2EmbeddingModel(Runnable::run);
          } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException(
                "cannot load the built-in embedding model (all-MiniLM-L6-v2): " + e, e);
          }
          modelBytes = weightBytes();
          model = m;
        }
      }
    }
    return m;
  }

  /**
   * The weights ONNX Runtime holds once the model is loaded: the size of the model file in the
   * artifact (ONNX Runtime keeps the float weights as read, in native memory).
   */
  @Override
  public long modelBytes() {
    return modelBytes;
  }

  private static long weightBytes() {
    java.net.URL url = AllMiniLmL6V2EmbeddingModel.class.getClassLoader()
        .getResource("all-minilm-l6-v2.onnx");
    if (url == null) {
      return 0;
    }
    try {
      java.net.URLConnection c = url.openConnection();
      c.setUseCaches(false);
      long n = c.getContentLengthLong();
      c.getInputStream().close();
      return Math.max(0, n);
    } catch (java.io.IOException e) {
      return 0;
    }
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
