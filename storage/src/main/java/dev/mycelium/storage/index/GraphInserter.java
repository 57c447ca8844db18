package dev.mycelium.storage.index;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The background inserter: puts pending ordinals into the graph in batches, marks the graph
 * nodes of removed fragments, and compacts once enough are marked.
 */
final class GraphInserter {
  private static final int BATCH = 64;

  private final IndexGraph g;
  private final Executor indexer;
  private final ExecutorService ownedIndexer;
  private final Queue<Integer> queue = new ConcurrentLinkedQueue<>();
  private final Queue<Integer> deletions = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final AtomicInteger deletedInGraph = new AtomicInteger();

  /** @param indexer runs the inserter; {@code null} for a private daemon thread */
  GraphInserter(IndexGraph g, Executor indexer) {
    this.g = g;
    if (indexer == null) {
      this.ownedIndexer =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "mycelium-indexer");
                t.setDaemon(true);
                return t;
              });
      this.indexer = ownedIndexer;
    } else {
      this.ownedIndexer = null;
      this.indexer = indexer;
    }
  }

  /** Queues a pending ordinal for insertion. */
  void queue(int ordinal) {
    queue.add(ordinal);
  }

  /**
   * Queues the graph node of an ordinal whose ID was cleared for marking. The mark is left to
   * the inserter, which holds the lock that keeps marks away from a running compaction, so a
   * remove never waits.
   */
  void retired(int ordinal) {
    deletions.add(ordinal);
  }

  /**
   * Marks the graph nodes of retired ordinals. An ordinal still pending is left to {@link
   * #insert}, which checks for a cleared ID after inserting, so a node removed while being
   * inserted is marked by whichever side sees the other's write. Holds the lock (either side).
   */
  private void markDeletions() {
    Integer ordinal;
    while ((ordinal = deletions.poll()) != null) {
      if (!g.pendingOrdinals.contains(ordinal)) {
        g.builder.markNodeDeleted(ordinal);
        deletedInGraph.incrementAndGet();
      }
    }
  }

  /** Inserts every queued vector on the calling thread (with the build pool). */
  void flush() {
    drainLoop();
  }

  /** Has the indexer drain the queues, unless a drain is already scheduled. */
  void schedule() {
    if (!g.closed
        && (!queue.isEmpty() || !deletions.isEmpty())
        && drainScheduled.compareAndSet(false, true)) {
      try {
        indexer.execute(this::drain);
      } catch (RuntimeException e) {
        drainScheduled.set(false);
        throw e;
      }
    }
  }

  private void drain() {
    try {
      drainLoop();
    } finally {
      drainScheduled.set(false);
    }
    // An add that lost the race with the flag reset above is picked up here.
    schedule();
  }

  private void drainLoop() {
    List<Integer> batch = new ArrayList<>(BATCH);
    while (!g.closed) {
      batch.clear();
      Integer o;
      while (batch.size() < BATCH && (o = queue.poll()) != null) {
        batch.add(o);
      }
      g.lock.readLock().lock();
      try {
        markDeletions();
        if (!batch.isEmpty() && entryRemoved()) {
          // jvector starts every insert's search at the entry node; a deleted entry that is
          // alone on the top layer yields no neighbours, and the new node is left with no edge
          // in either direction, where no later search reaches it (a CI run once missed a
          // text put right after its index removed a BLANK fragment). Compacting first picks
          // a live entry.
          g.lock.readLock().unlock();
          try {
            compactNow();
          } finally {
            g.lock.readLock().lock();
          }
          markDeletions();
        }
        if (batch.isEmpty()) {
          break;
        }
        if (batch.size() == 1) {
          insert(batch.get(0));
        } else {
          List<Integer> work = batch;
          IndexGraph.BUILD_POOL.submit(() -> work.parallelStream().forEach(this::insert)).join();
        }
      } finally {
        g.lock.readLock().unlock();
      }
      maybeCompact();
    }
    maybeCompact();
  }

  private void insert(int ordinal) {
    boolean inserted = false;
    if (g.ids.get(ordinal) != null) {
      g.builder.addGraphNode(ordinal, g.vectors.get(ordinal));
      inserted = true;
    }
    if (g.pendingOrdinals.remove(ordinal)) {
      g.pendingCount.decrementAndGet();
    }
    if (g.ids.get(ordinal) == null) {
      if (inserted) {
        g.builder.markNodeDeleted(ordinal);
        deletedInGraph.incrementAndGet();
      } else {
        g.vectors.set(ordinal, null);
      }
    }
  }

  private void maybeCompact() {
    int deleted = deletedInGraph.get();
    if (deleted > 0 && deleted >= Math.max(64, g.graph.size(0) / 10)) {
      compactNow();
    }
  }

  /** Compacts under the write lock, unless the index closed meanwhile. */
  private void compactNow() {
    g.lock.writeLock().lock();
    try {
      if (!g.closed) {
        compact();
      }
    } finally {
      g.lock.writeLock().unlock();
    }
  }

  /** Whether the graph's entry node belongs to a removed fragment (marked or about to be). */
  private boolean entryRemoved() {
    var entry = g.graph.entryNode();
    return entry != null && g.ids.get(entry.node) == null && g.graph.containsNode(entry.node);
  }

  /** Removes deleted nodes from the graph and frees their vectors. Holds the write lock. */
  void compact() {
    markDeletions();
    if (deletedInGraph.get() == 0) {
      return;
    }
    g.builder.removeDeletedNodes();
    deletedInGraph.set(0);
    int end = g.nextOrdinal.get();
    for (int ordinal = 0; ordinal < end; ordinal++) {
      // A remove clears the ID before it queues the mark, without the lock: an ordinal whose
      // mark this compaction did not see is still a graph node, and inserts and searches that
      // reach it read its vector. It is freed by the compaction after its mark.
      if (g.ids.get(ordinal) == null && !g.pendingOrdinals.contains(ordinal)
          && !g.graph.containsNode(ordinal)) {
        g.vectors.set(ordinal, null);
      }
    }
  }

  /**
   * After a load: queues vectors that were pending when saved, and marks graph nodes whose
   * fragment was removed while the save ran; vectors of removed fragments outside the graph are
   * dropped.
   */
  void resumeAfterLoad() {
    int end = g.nextOrdinal.get();
    for (int ordinal = 0; ordinal < end; ordinal++) {
      if (g.vectors.get(ordinal) == null) {
        continue;
      }
      boolean inGraph = g.graph.containsNode(ordinal);
      if (g.ids.get(ordinal) != null) {
        if (!inGraph) {
          g.markPending(ordinal);
          queue.add(ordinal);
        }
      } else if (inGraph) {
        g.builder.markNodeDeleted(ordinal);
        deletedInGraph.incrementAndGet();
      } else {
        g.vectors.set(ordinal, null);
      }
    }
    schedule();
  }

  /** Stops the private indexer thread, if this inserter owns one. */
  void shutdown() {
    if (ownedIndexer != null) {
      ownedIndexer.shutdown();
      try {
        ownedIndexer.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
