package dev.mycelium.storage;

/** Turns text into a vector. Implementations are thread-safe and deterministic. */
public interface Embedder {
  /** The dimension of every vector this embedder makes. */
  int dimension();

  /** A unit-length embedding of the text. */
  float[] embed(String text);
}
