package dev.mycelium.node;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.storage.VectorIndex;

/** The write path: into the store first, then into the index only what the store kept. */
final class FragmentWrites {
  private final FragmentStore store;
  private final VectorIndex index;
  private final MemoryMarks marks;
  private final EmbeddingQueue embedding;

  FragmentWrites(FragmentStore store, VectorIndex index, MemoryMarks marks,
      EmbeddingQueue embedding) {
    this.store = store;
    this.index = index;
    this.marks = marks;
    this.embedding = embedding;
  }

  /**
   * Stores a verified fragment and, when the store keeps it (PRESENT), indexes it.
   *
   * @return the fragment's state afterwards (DELETED when a tombstone already stands for it)
   */
  FragmentState write(Fragment f) {
    FragmentState state = store.put(f);
    if (state == FragmentState.PRESENT) {
      indexStored(f);
    }
    return state;
  }

  /**
   * Makes a fragment the store already holds findable: its links and expiry are noted, and its
   * vector indexed, or its text queued for the embedder (the write is acknowledged before).
   */
  void indexStored(Fragment f) {
    marks.note(f);
    if (f.hasVector()) {
      index.add(f.id(), f.vector());
    } else {
      embedding.offer(f.id());
    }
  }
}
