package dev.mycelium.node;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.storage.VectorIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Keeps the vector index and the memory marks in line with the store: at start, after repair. */
final class IndexReconciler {
  private static final Logger LOG = LoggerFactory.getLogger(IndexReconciler.class);

  private final FragmentStore store;
  private final VectorIndex index;
  private final MemoryMarks marks;
  private final EmbeddingQueue embedding;
  private final FragmentWrites writes;
  private final AtomicBoolean loaded = new AtomicBoolean();

  IndexReconciler(FragmentStore store, VectorIndex index, MemoryMarks marks,
      EmbeddingQueue embedding, FragmentWrites writes) {
    this.store = store;
    this.index = index;
    this.marks = marks;
    this.embedding = embedding;
    this.writes = writes;
  }

  /** The IDs in the store, read before any is looked up (no reads inside the iteration). */
  static List<FragmentId> allIds(FragmentStore store) {
    List<FragmentId> ids = new ArrayList<>();
    store.forEachId(ids::add);
    return ids;
  }

  /**
   * Brings the index in step with the store after start: when the index holds as many vectors
   * as the store holds present fragments it is current; otherwise every fragment is re-added
   * (adds replace) or queued for embedding, and deleted ones are removed. Runs on its own
   * thread; interruptible.
   */
  void atStart() throws InterruptedException {
    loadMarks();
    long present = store.stats().byState().getOrDefault(FragmentState.PRESENT, 0L);
    long indexed = index.size();
    if (present == indexed) {
      LOG.info("vector index is current ({} vectors)", indexed);
      loaded.set(true);
      return;
    }
    LOG.info("vector index has {} vectors for {} present fragments; rebuilding from the store",
        indexed, present);
    long start = System.nanoTime();
    AtomicLong added = new AtomicLong();
    AtomicLong queued = new AtomicLong();
    for (FragmentId id : allIds(store)) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("index rebuild stopped");
      }
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isEmpty()) {
        continue;
      }
      if (sf.get().state() == FragmentState.PRESENT) {
        Fragment f = sf.get().fragment().orElseThrow();
        if (f.hasVector()) {
          index.add(id, f.vector());
          added.incrementAndGet();
        } else {
          embedding.put(id);
          queued.incrementAndGet();
        }
      } else if (sf.get().state() == FragmentState.DELETED) {
        index.remove(id);
      }
    }
    LOG.info("vector index refilled: {} vectors added, {} texts queued for embedding, in {} ms",
        added.get(), queued.get(), (System.nanoTime() - start) / 1_000_000);
    if (queued.get() == 0) {
      loaded.set(true);
      return;
    }
    // Ready once the texts queued above are embedded too: until then they are not searchable.
    embedding.afterQueued(
        () -> {
          loaded.set(true);
          LOG.info("vector index loaded: {} vectors", index.size());
        });
  }

  /** Whether the index has caught up with the store after start. */
  boolean loaded() {
    return loaded.get();
  }

  /** Reads every stored fragment's links and expiry into the marks (at start). */
  private void loadMarks() throws InterruptedException {
    long noted = 0;
    for (FragmentId id : allIds(store)) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("loading memory marks stopped");
      }
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isPresent() && sf.get().fragment().isPresent()) {
        Fragment f = sf.get().fragment().get();
        if (f.metadata().containsKey(MemoryMarks.SUPERSEDES)
            || f.metadata().containsKey(MemoryMarks.EXPIRES_AT)) {
          marks.note(f);
          noted++;
        }
      }
    }
    if (noted > 0) {
      LOG.info("{} fragments carry an update link or an expiry", noted);
    }
  }

  /** A fragment was restored into the store by repair: index it, as a put would. */
  void restored(FragmentId id) {
    Optional<StoredFragment> sf = store.get(id);
    if (sf.isEmpty() || sf.get().fragment().isEmpty()) {
      return;
    }
    writes.indexStored(sf.get().fragment().get());
  }

  /** A fragment's tombstone was applied by replication: drop it from the index and the marks. */
  void forgotten(FragmentId id) {
    index.remove(id);
    marks.forgotten(id);
  }
}
