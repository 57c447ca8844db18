package dev.mycelium.node.replica;

import dev.mycelium.overlay.replica.ReplicaVerifier;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Checks the replicas of a put on every core: the calling thread (the node's driver) and a few
 * helper threads take replicas from the batch one at a time until none is left, and the
 * answers go back in the put's order. An owner's put carries up to 256 replicas, each an
 * Ed25519 verification of about 100 µs, so one driver thread alone caps a holder at one core's
 * worth of incoming replicas while the other cores idle.
 *
 * <p>Why take-one-at-a-time rather than fixed shares: a helper may be late (busy with the
 * previous batch, or descheduled), and the caller then simply checks more itself. It waits
 * only for replicas a helper has already started, never for a helper that has not begun. The
 * pool's queue is small and a task it cannot take is dropped for the same reason: the caller
 * does that share. Nothing here decides what is checked; the core does, before it asks.
 */
public final class ParallelReplicaVerifier implements ReplicaVerifier, AutoCloseable {
  private final int helpers;
  private final Function<SignedReplica, Checked> check;
  private final ThreadPoolExecutor pool;

  /**
   * A verifier with the given number of helper threads (0 checks everything on the caller).
   * Helpers are started on demand and stop after 30 s without work.
   */
  public ParallelReplicaVerifier(int helpers) {
    this(helpers, Checked::of);
  }

  /** As above, checking each replica with {@code check} (tests watch the threads with it). */
  ParallelReplicaVerifier(int helpers, Function<SignedReplica, Checked> check) {
    if (helpers < 0) {
      throw new IllegalArgumentException("helper threads cannot be negative: " + helpers);
    }
    this.helpers = helpers;
    this.check = check;
    this.pool = new ThreadPoolExecutor(Math.max(1, helpers), Math.max(1, helpers), 30,
        TimeUnit.SECONDS, new ArrayBlockingQueue<>(Math.max(1, 4 * helpers)), r -> {
          Thread t = new Thread(r, "mycelium-replica-check");
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.DiscardPolicy());
    this.pool.allowCoreThreadTimeOut(true);
  }

  /** One helper per core beyond the caller's. */
  public static ParallelReplicaVerifier forThisMachine() {
    return new ParallelReplicaVerifier(Runtime.getRuntime().availableProcessors() - 1);
  }

  @Override
  public List<Checked> verifyAll(List<SignedReplica> replicas) {
    int n = replicas.size();
    Batch batch = new Batch(replicas, check);
    if (n < 2 || helpers == 0) {
      batch.work();
      return Arrays.asList(batch.out);
    }
    for (int h = Math.min(helpers, n - 1); h > 0; h--) {
      pool.execute(batch::work);
    }
    batch.work();
    batch.awaitFinished();
    Checked[] out = batch.out;
    for (int i = 0; i < n; i++) {
      if (out[i] == null) {
        // A helper failed beyond a RuntimeException (an Error): check it here, where an Error
        // reaches the driver as it would have without helpers.
        out[i] = check.apply(replicas.get(i));
      }
    }
    return Arrays.asList(out);
  }

  /** Stops the helpers; later batches are checked on the caller alone. */
  @Override
  public void close() {
    pool.shutdownNow();
  }

  /** One batch: the next replica to take, and how many taken ones are finished. */
  private static final class Batch {
    final List<SignedReplica> replicas;
    final Function<SignedReplica, Checked> check;
    final Checked[] out;
    final AtomicInteger next = new AtomicInteger();
    final AtomicInteger finished = new AtomicInteger();

    Batch(List<SignedReplica> replicas, Function<SignedReplica, Checked> check) {
      this.replicas = replicas;
      this.check = check;
      this.out = new Checked[replicas.size()];
    }

    void work() {
      int i;
      while ((i = next.getAndIncrement()) < out.length) {
        try {
          out[i] = check.apply(replicas.get(i));
        } finally {
          // After the answer is written: the caller reads the count, then the answers.
          if (finished.incrementAndGet() == out.length) {
            synchronized (this) {
              notifyAll();
            }
          }
        }
      }
    }

    /** Waits until every replica taken (by anyone) is finished; by now all are taken. */
    synchronized void awaitFinished() {
      boolean interrupted = false;
      while (finished.get() < out.length) {
        try {
          wait();
        } catch (InterruptedException e) {
          // The answers in flight come within a verification's time: finish, then pass it on.
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
