package dev.mycelium.storage.embed;

/**
 * A JVM with a small heap that loads the built-in model and embeds one text: {@code ours} loads
 * it as the node does, {@code artifact} through the langchain4j artifact's own loader.
 */
public final class SmallHeapEmbedderChild {
  private SmallHeapEmbedderChild() {}

  /** Args: {@code ours|artifact}. Prints the first vector component. */
  public static void main(String[] args) {
    MiniLmEmbedder.keepTokenizerOffline();
    float first;
    if (args[0].equals("ours")) {
      first = new MiniLmEmbedder().embed("a small heap")[0];
    } else {
      first = new dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel(
          Runnable::run).embed("a small heap").content().vector()[0];
    }
    System.out.println("embedded " + first);
  }
}
