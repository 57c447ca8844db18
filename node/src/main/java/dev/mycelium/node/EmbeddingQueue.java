package dev.mycelium.node;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.VectorIndex;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The background embedding of text-only fragments: a bounded queue and the loop draining it. */
final class EmbeddingQueue {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingQueue.class);

  /**
   * One entry of the queue: a fragment to embed, or (id null) a marker whose action runs once
   * everything queued before it is done.
   */
  private record EmbedJob(FragmentId id, Runnable marker) {}

  private final FragmentStore store;
  private final VectorIndex index;
  private final Embedder embedder;
  private final NodeMetrics metrics;
  private final BlockingQueue<EmbedJob> queue;
  private final AtomicBoolean queueFullLogged = new AtomicBoolean();
  private final AtomicLong embedFailures = new AtomicLong();
  private volatile String embedderStopped;

  EmbeddingQueue(FragmentStore store, VectorIndex index, Embedder embedder, NodeMetrics metrics,
      int capacity) {
    this.store = store;
    this.index = index;
    this.embedder = embedder;
    this.metrics = metrics;
    this.queue = new ArrayBlockingQueue<>(capacity);
  }

  /**
   * Queues a fragment without waiting: a write never blocks on the embedder. When the queue is
   * full the fragment stays stored and is embedded by the index reconciliation at the next start.
   */
  void offer(FragmentId id) {
    if (!queue.offer(new EmbedJob(id, null))) {
      metrics.embedDeferred();
      if (queueFullLogged.compareAndSet(false, true)) {
        LOG.warn("the embedding queue is full; fragment {} and later text-only puts are stored "
            + "but embedded only at the next start (raise embedder.queue-capacity)", id);
      }
    }
  }

  /** Queues a fragment, waiting for room (the reconciliation at start may wait, a write not). */
  void put(FragmentId id) throws InterruptedException {
    queue.put(new EmbedJob(id, null));
  }

  /** Runs {@code action} on the embedding thread once everything queued so far is embedded. */
  void afterQueued(Runnable action) throws InterruptedException {
    queue.put(new EmbedJob(null, action));
  }

  /** Embeds queued text-only fragments until interrupted. */
  void loop() {
    try {
      // The built-in model loads lazily and takes seconds; load it now, off the request path,
      // so that the first search by text does not pay for it.
      try {
        embedder.embed("mycelium");
      } catch (RuntimeException e) {
        LOG.warn("the embedder failed to warm up: {}", e.toString());
      }
      while (!Thread.currentThread().isInterrupted()) {
        EmbedJob job;
        try {
          job = queue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        run(job);
      }
    } catch (Error e) {
      // Nothing embeds any more: say so where an operator looks (/ready, the log), since texts
      // are still stored and would otherwise wait for a vector that never comes.
      embedderStopped = e.toString();
      LOG.error("the embedder stopped ({}); texts are stored but not embedded until the node "
          + "restarts", e.toString(), e);
      throw e;
    }
  }

  /** Why the embedding thread stopped for good (an Error such as running out of heap). */
  Optional<String> stopped() {
    return Optional.ofNullable(embedderStopped);
  }

  private void run(EmbedJob job) {
    if (job.id() == null) {
      job.marker().run();
    } else {
      embedOne(job.id());
    }
  }

  /** Embeds one queued fragment, if it is still present and has no vector of its own. */
  private void embedOne(FragmentId id) {
    try {
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isEmpty() || sf.get().state() != FragmentState.PRESENT) {
        return;
      }
      Fragment f = sf.get().fragment().orElseThrow();
      if (f.hasVector()) {
        return;
      }
      index.add(id, embedder.embed(f.text()));
      metrics.embedded();
      // A delete that ran while the text was being embedded removed nothing from the index.
      Optional<StoredFragment> after = store.get(id);
      if (after.isEmpty() || after.get().state() == FragmentState.DELETED) {
        index.remove(id);
      }
    } catch (RuntimeException e) {
      if (embedFailures.incrementAndGet() <= 10) {
        LOG.warn("could not embed fragment {}: {}", id, e.toString());
      }
    }
  }

  /** Embeds everything queued, on the calling thread (for tests and orderly stops). */
  void drain() {
    EmbedJob job;
    while ((job = queue.poll()) != null) {
      run(job);
    }
  }

  /** Text-only fragments waiting to be embedded. */
  long size() {
    return queue.size();
  }
}
