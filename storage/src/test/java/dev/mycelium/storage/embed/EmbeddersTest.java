package dev.mycelium.storage.embed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.index.Vectors;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class EmbeddersTest {
  @Test
  void hashEmbedderIsDeterministicUnitAndSimilarityAware() {
    Embedder e = Embedders.byName("hash", 256);
    float[] a = e.embed("The indexer keeps the vector graph up to date");
    float[] b = e.embed("the INDEXER keeps the vector graph up-to-date!");
    float[] related = e.embed("vector graph indexing keeps up");
    float[] unrelated = e.embed("Pasta needs salted boiling water");

    assertThat(e.dimension()).isEqualTo(256);
    assertThat(a).hasSize(256).containsExactly(new HashEmbedder(256).embed(
        "The indexer keeps the vector graph up to date"));
    assertThat(Vectors.dot(a, a)).isCloseTo(1f, Offset.offset(1e-5f));
    assertThat(Vectors.dot(a, b)).isCloseTo(1f, Offset.offset(1e-5f));
    assertThat(Vectors.dot(a, related)).isGreaterThan(Vectors.dot(a, unrelated) + 0.2f);
    assertThat(Vectors.dot(e.embed(""), e.embed("  ?! "))).isCloseTo(1f, Offset.offset(1e-6f));
    assertThat(new HashEmbedder(256, 1).embed("vector")).isNotEqualTo(e.embed("vector"));
  }

  @Test
  void byNameRejectsWhatItCannotMake() {
    assertThatThrownBy(() -> Embedders.byName("word2vec", 300))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("minilm or hash");
    assertThatThrownBy(() -> Embedders.byName("minilm", 128)).hasMessageContaining("384");
    assertThat(Embedders.byName(" MiniLM ", 384)).isInstanceOf(MiniLmEmbedder.class);
  }

  @Test
  void miniLmRanksARelatedSentenceAboveAnUnrelatedOne() {
    MiniLmEmbedder e = new MiniLmEmbedder();
    try {
      e.load();
    } catch (IllegalStateException ex) {
      System.out.println("skipping the MiniLM test: " + ex.getMessage());
      Assumptions.abort("the MiniLM model cannot load here: " + ex.getMessage());
    }
    float[] cat = e.embed("The cat sat on the warm windowsill in the sun.");
    float[] kitten = e.embed("A kitten is sleeping by the sunny window.");
    float[] tax = e.embed("Quarterly tax filings are due at the end of the month.");

    assertThat(cat).hasSize(384);
    assertThat(Vectors.dot(cat, cat)).isCloseTo(1f, Offset.offset(1e-4f));
    assertThat(Vectors.dot(cat, kitten)).isGreaterThan(Vectors.dot(cat, tax) + 0.2f);
  }
}
