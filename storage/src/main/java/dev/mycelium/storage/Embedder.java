package dev.mycelium.storage;

/** Turns text into a vector. Implementations are thread-safe and deterministic. */
public interface Embedder {
  /** The dimension of every vector this embedder makes. */
  int dimension();

  /** A unit-length embedding of the text. */
  float[] embed(String text);

  /**
   * Bytes of model weights this embedder holds in memory (off the Java heap for a native
   * runtime), or 0 when it has none loaded; shown in {@code status} and {@code /metrics}.
   */
  default long modelBytes() {
    return 0;
  }
}
