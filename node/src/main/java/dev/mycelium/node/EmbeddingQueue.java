package dev.mycelium.node;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.VectorIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The background embedding of text-only fragments: a bounded queue and the loop draining it.
 *
 * <p>The loop takes what is queued in batches and embeds a batch on {@code threads} threads at
 * once: ONNX Runtime runs one short text on about one core, so a second thread nearly doubles
 * the rate on two cores (docs/BENCHMARKS.md, "Embedding"). The index takes the vectors in
 * queue order, on the loop thread.
 */
final class EmbeddingQueue {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingQueue.class);
  /** Fragments embedded in one round: enough to keep every thread busy, few enough to wait on. */
  private static final int BATCH = 64;

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
  private volatile int threads = 1;

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

  /** Threads that embed a batch at once; set before {@link #loop} starts. */
  void threads(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("embedder threads must be at least 1, got " + n);
    }
    this.threads = n;
  }

  /** Embeds queued text-only fragments until interrupted. */
  void loop() {
    int n = threads;
    AtomicInteger made = new AtomicInteger();
    ExecutorService helpers = n == 1 ? null : Executors.newFixedThreadPool(n - 1, r -> {
      Thread t = new Thread(r, "mycelium-embedder-" + made.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
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
        nextRound(job, helpers);
      }
    } catch (Error e) {
      // Nothing embeds any more: say so where an operator looks (/ready, the log), since texts
      // are still stored and would otherwise wait for a vector that never comes.
      embedderStopped = e.toString();
      LOG.error("the embedder stopped ({}); texts are stored but not embedded until the node "
          + "restarts", e.toString(), e);
      throw e;
    } finally {
      if (helpers != null) {
        helpers.shutdownNow();
      }
    }
  }

  /** Why the embedding thread stopped for good (an Error such as running out of heap). */
  Optional<String> stopped() {
    return Optional.ofNullable(embedderStopped);
  }

  /**
   * Embeds {@code first} and what is queued behind it, up to a batch; a marker ends the batch
   * and runs once the batch is in the index, so it still runs after everything queued before it.
   */
  private void nextRound(EmbedJob first, ExecutorService helpers) {
    if (first.id() == null) {
      first.marker().run();
      return;
    }
    List<FragmentId> batch = new ArrayList<>(BATCH);
    batch.add(first.id());
    Runnable markerAfter = null;
    while (batch.size() < BATCH) {
      EmbedJob next = queue.poll();
      if (next == null) {
        break;
      }
      if (next.id() == null) {
        markerAfter = next.marker();
        break;
      }
      batch.add(next.id());
    }
    embedBatch(batch, helpers);
    if (markerAfter != null) {
      markerAfter.run();
    }
  }

  /**
   * Embeds the fragments of {@code ids} that are still present and have no vector of their own:
   * texts on the calling thread and {@code helpers} (null: the calling thread alone), vectors
   * into the index in order.
   */
  private void embedBatch(List<FragmentId> ids, ExecutorService helpers) {
    List<FragmentId> todo = new ArrayList<>(ids.size());
    List<String> texts = new ArrayList<>(ids.size());
    for (FragmentId id : ids) {
      try {
        Optional<StoredFragment> sf = store.get(id);
        if (sf.isPresent() && sf.get().state() == FragmentState.PRESENT) {
          Fragment f = sf.get().fragment().orElseThrow();
          if (!f.hasVector()) {
            todo.add(id);
            texts.add(f.text());
          }
        }
      } catch (RuntimeException e) {
        failed(id, e);
      }
    }
    float[][] vectors = embedAll(todo, texts, helpers);
    for (int i = 0; i < todo.size(); i++) {
      if (vectors[i] != null) {
        index(todo.get(i), vectors[i]);
      }
    }
  }

  /** The vectors of {@code texts}, null where one failed (logged); stripes run at once. */
  private float[][] embedAll(List<FragmentId> ids, List<String> texts,
      ExecutorService helpers) {
    float[][] out = new float[texts.size()][];
    int stripes = helpers == null ? 1 : Math.min(threads, texts.size());
    List<Future<?>> running = new ArrayList<>(Math.max(0, stripes - 1));
    for (int s = 1; s < stripes; s++) {
      int stripe = s;
      running.add(helpers.submit(() -> embedStripe(ids, texts, out, stripe, stripes)));
    }
    embedStripe(ids, texts, out, 0, stripes);
    for (Future<?> f : running) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new float[texts.size()][];
      } catch (ExecutionException e) {
        // An Error on a helper (out of memory) stops the embedder as it would on this thread.
        if (e.getCause() instanceof Error err) {
          throw err;
        }
        throw new IllegalStateException(e.getCause());
      }
    }
    return out;
  }

  private void embedStripe(List<FragmentId> ids, List<String> texts, float[][] out, int stripe,
      int stripes) {
    for (int i = stripe; i < texts.size(); i += stripes) {
      try {
        out[i] = embedder.embed(texts.get(i));
      } catch (RuntimeException e) {
        failed(ids.get(i), e);
      }
    }
  }

  private void index(FragmentId id, float[] vector) {
    try {
      index.add(id, vector);
      metrics.embedded();
      // A delete that ran while the text was being embedded removed nothing from the index.
      Optional<StoredFragment> after = store.get(id);
      if (after.isEmpty() || after.get().state() == FragmentState.DELETED) {
        index.remove(id);
      }
    } catch (RuntimeException e) {
      failed(id, e);
    }
  }

  private void failed(FragmentId id, RuntimeException e) {
    if (embedFailures.incrementAndGet() <= 10) {
      LOG.warn("could not embed fragment {}: {}", id, e.toString());
    }
  }

  /** Embeds everything queued, on the calling thread (for tests and orderly stops). */
  void drain() {
    EmbedJob job;
    while ((job = queue.poll()) != null) {
      nextRound(job, null);
    }
  }

  /** Text-only fragments waiting to be embedded. */
  long size() {
    return queue.size();
  }
}
