package dev.mycelium.storage.embed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.storage.ChildJvm;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.index.Vectors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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
        .hasMessageContaining("minilm, minilm-q or hash");
    assertThatThrownBy(() -> Embedders.byName("minilm", 128)).hasMessageContaining("384");
    assertThat(Embedders.byName(" MiniLM ", 384)).isInstanceOf(MiniLmEmbedder.class);
    assertThat(((MiniLmEmbedder) Embedders.byName("minilm-q", 384)).variant())
        .isEqualTo(MiniLmEmbedder.Variant.INT8);
    assertThatThrownBy(() -> Embedders.byName("minilm-q", 256))
        .hasMessageContaining("minilm-q embedder makes 384");
  }

  /** The built-in embedder, loaded; the test is skipped, saying why, where it cannot load. */
  private static MiniLmEmbedder loadedMiniLm() {
    return loaded(MiniLmEmbedder.Variant.FLOAT);
  }

  private static MiniLmEmbedder loaded(MiniLmEmbedder.Variant variant) {
    MiniLmEmbedder e = new MiniLmEmbedder(variant);
    try {
      e.load();
    } catch (IllegalStateException ex) {
      System.out.println("skipping the MiniLM test: " + ex.getMessage());
      Assumptions.abort("the MiniLM model cannot load here: " + ex.getMessage());
    }
    return e;
  }

  /** Both builds, the float one and the 8-bit one. */
  @ParameterizedTest
  @EnumSource(MiniLmEmbedder.Variant.class)
  void miniLmRanksARelatedSentenceAboveAnUnrelatedOne(MiniLmEmbedder.Variant variant) {
    MiniLmEmbedder e = loaded(variant);
    float[] cat = e.embed("The cat sat on the warm windowsill in the sun.");
    float[] kitten = e.embed("A kitten is sleeping by the sunny window.");
    float[] tax = e.embed("Quarterly tax filings are due at the end of the month.");

    assertThat(cat).hasSize(384);
    assertThat(Vectors.dot(cat, cat)).isCloseTo(1f, Offset.offset(1e-4f));
    assertThat(Vectors.dot(cat, kitten)).isGreaterThan(Vectors.dot(cat, tax) + 0.2f);
  }

  /**
   * The node loads the model itself (into a direct buffer, not through a growing byte array
   * on the heap); the vectors are the ones the artifact's own loader gives.
   */
  @Test
  void miniLmVectorsAreThoseOfTheArtifactsOwnLoader() {
    MiniLmEmbedder e = loadedMiniLm();
    var artifact = new dev.langchain4j.model.embedding.onnx.allminilml6v2
        .AllMiniLmL6V2EmbeddingModel(Runnable::run);
    for (String text : List.of("The cat sat on the warm windowsill.", "a",
        "tax forms, due 31 May")) {
      float[] theirs = Vectors.normalised(artifact.embed(text).content().vector(), 384);
      assertThat(Vectors.dot(e.embed(text), theirs)).as("cosine for \"%s\"", text)
          .isGreaterThan(0.99999f);
    }
    assertThat(e.modelBytes()).as("model bytes").isGreaterThan(80L << 20);
  }

  /**
   * The 8-bit build makes vectors in the same space as the float one (and ranks as it does,
   * above), so a node can change builds without re-embedding what it holds; its weights are a
   * quarter the size.
   */
  @Test
  void quantizedMiniLmStaysInTheFloatModelsSpace() {
    MiniLmEmbedder q = loaded(MiniLmEmbedder.Variant.INT8);
    MiniLmEmbedder f = loadedMiniLm();
    for (String text : List.of("The cat sat on the warm windowsill.", "a",
        "tax forms, due 31 May", "a person who makes bread for a living")) {
      assertThat(Vectors.dot(q.embed(text), f.embed(text))).as("cosine for \"%s\"", text)
          .isGreaterThan(0.9f);
    }
    assertThat(q.modelBytes()).as("model bytes").isBetween(15L << 20, 30L << 20);
    assertThat(q.modelBytes() * 3).isLessThan(f.modelBytes());
  }

  /**
   * The artifact's own loader needs about three times the model's 90 MB of heap at once; it
   * ran out of memory in a 512 MiB heap holding 100,000 vectors, and fails here in 256 MiB.
   * The node's loader embeds in a JVM with a 128 MiB heap.
   */
  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void miniLmLoadsAndEmbedsInASmallHeap() throws Exception {
    Path log = Files.createTempFile("small-heap", ".log");
    Process child = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "@" + ChildJvm.jvmOptions(), "-Xmx128m",
            "-cp", System.getProperty("java.class.path"),
            SmallHeapEmbedderChild.class.getName(), "ours")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(child.waitFor(100, TimeUnit.SECONDS)).as("the child exited").isTrue();
    String out = Files.readString(log);
    if (out.contains("cannot load the built-in embedding model")) {
      Assumptions.abort("the MiniLM model cannot load here");
    }
    assertThat(child.exitValue()).as("exit status; output:%n%s", out).isZero();
    assertThat(out).contains("embedded ");
    Files.deleteIfExists(log);
  }
}
