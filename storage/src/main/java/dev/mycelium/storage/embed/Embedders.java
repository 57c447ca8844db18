package dev.mycelium.storage.embed;

import dev.mycelium.storage.Embedder;
import java.util.Locale;

/** Makes an embedder from its configured name, so the node config can say which to use. */
public final class Embedders {
  private Embedders() {}

  /**
   * {@code "minilm"} for the built-in sentence model (always 384 dimensions) or {@code "hash"}
   * for feature hashing into {@code dimension} buckets.
   *
   * @throws IllegalArgumentException for another name, or a dimension the embedder cannot make
   */
  public static Embedder byName(String name, int dimension) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    switch (n) {
      case "minilm":
        if (dimension != MiniLmEmbedder.DIMENSION) {
          throw new IllegalArgumentException(
              "the minilm embedder makes " + MiniLmEmbedder.DIMENSION
                  + "-dimension vectors; set the dimension to " + MiniLmEmbedder.DIMENSION
                  + ", not " + dimension);
        }
        return new MiniLmEmbedder();
      case "hash":
        return new HashEmbedder(dimension);
      default:
        throw new IllegalArgumentException(
            "unknown embedder '" + name + "'; choose minilm or hash");
    }
  }
}
