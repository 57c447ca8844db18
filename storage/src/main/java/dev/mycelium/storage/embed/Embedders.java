package dev.mycelium.storage.embed;

import dev.mycelium.storage.Embedder;
import java.util.Locale;

/** Makes an embedder from its configured name, so the node config can say which to use. */
public final class Embedders {
  private Embedders() {}

  /**
   * {@code "minilm"} for the built-in sentence model (always 384 dimensions), {@code
   * "minilm-q"} for the same model with 8-bit weights, or {@code "hash"} for feature hashing
   * into {@code dimension} buckets.
   *
   * @throws IllegalArgumentException for another name, or a dimension the embedder cannot make
   */
  public static Embedder byName(String name, int dimension) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    if (n.equals("hash")) {
      return new HashEmbedder(dimension);
    }
    for (MiniLmEmbedder.Variant v : MiniLmEmbedder.Variant.values()) {
      if (n.equals(v.configName())) {
        if (dimension != MiniLmEmbedder.DIMENSION) {
          throw new IllegalArgumentException(
              "the " + n + " embedder makes " + MiniLmEmbedder.DIMENSION
                  + "-dimension vectors; set the dimension to " + MiniLmEmbedder.DIMENSION
                  + ", not " + dimension);
        }
        return new MiniLmEmbedder(v);
      }
    }
    throw new IllegalArgumentException(
        "unknown embedder '" + name + "'; choose minilm, minilm-q or hash");
  }
}
