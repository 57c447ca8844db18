package dev.mycelium.storage;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The beacon: walks every fragment in a store at a bounded rate and checks it, so that bytes
 * that rot on disk are found and turned BLANK (and repaired) before anyone reads them.
 *
 * <p>It owns no thread and never reads the clock: the caller passes the time to
 * {@link #step(long)} from whatever scheduler it runs (the node's executor, or the simulator's
 * virtual clock), as Caffeine's timer wheel takes {@code now} and does bounded work per call.
 * The rate works as a token bucket whose burst is one step's bound, so a late step catches up a
 * little and never floods the disk.
 *
 * <p>Passes are paced: a pass starts at most once per {@code passNanos}, so a node whose store
 * is walked in seconds then rests until the next pass is due instead of re-reading the same
 * fragments all day. {@link #nextStepNanos()} says when a step has work again, so the caller
 * sleeps until then rather than polling.
 *
 * <p>Each pass walks a snapshot of the IDs taken when the pass starts, packed into one byte
 * array (32 bytes per fragment), so the cursor costs no objects per fragment and writes that
 * arrive meanwhile are checked on the next pass.
 */
public final class Scrubber {
  /**
   * What a scrubber walks: anything that lists its IDs and checks one fully. The node's own
   * {@link FragmentStore} is one; the holder's store of other owners' replicas is another.
   */
  public interface Target {
    /** Checks one ID fully; a failure marks it BLANK. Null when the ID is unknown. */
    FragmentState check(FragmentId id);

    /** Visits every ID. */
    void forEachId(java.util.function.Consumer<FragmentId> visitor);
  }

  private final Target store;
  private final double perNano;
  private final int maxPerStep;
  private final long passNanos;

  private boolean started;
  /** When the current pass started; the next may start {@link #passNanos} later. */
  private long passStartNanos;
  private boolean passed;
  private long lastNanos;
  private double credit;
  private byte[] snapshot = new byte[0];
  private int size;
  private int cursor;

  private volatile java.util.function.Consumer<FragmentId> onFailure = id -> {};
  private final AtomicLong checked = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong passes = new AtomicLong();

  /**
   * A scrubber over {@code store}.
   *
   * @param fragmentsPerSecond checks per second on average
   * @param maxPerStep most checks one {@link #step} does, however late it is called
   */
  public Scrubber(FragmentStore store, double fragmentsPerSecond, int maxPerStep) {
    this(targetOf(store), fragmentsPerSecond, maxPerStep, 0);
  }

  /**
   * A scrubber over {@code store} that starts a pass at most once per {@code passNanos}.
   *
   * @param fragmentsPerSecond checks per second on average while a pass runs
   * @param maxPerStep most checks one {@link #step} does, however late it is called
   * @param passNanos least time from the start of one pass to the start of the next
   */
  public Scrubber(FragmentStore store, double fragmentsPerSecond, int maxPerStep,
      long passNanos) {
    this(targetOf(store), fragmentsPerSecond, maxPerStep, passNanos);
  }

  private static Target targetOf(FragmentStore store) {
    return new Target() {
      @Override
      public FragmentState check(FragmentId id) {
        return store.check(id);
      }

      @Override
      public void forEachId(java.util.function.Consumer<FragmentId> visitor) {
        store.forEachId(visitor);
      }
    };
  }

  /**
   * A scrubber over any {@link Target}, such as the store of replicas held for other owners.
   *
   * @param fragmentsPerSecond checks per second on average
   * @param maxPerStep most checks one {@link #step} does, however late it is called
   */
  public Scrubber(Target store, double fragmentsPerSecond, int maxPerStep) {
    this(store, fragmentsPerSecond, maxPerStep, 0);
  }

  /**
   * A scrubber over any {@link Target} that starts a pass at most once per {@code passNanos}.
   *
   * @param fragmentsPerSecond checks per second on average while a pass runs
   * @param maxPerStep most checks one {@link #step} does, however late it is called
   * @param passNanos least time from the start of one pass to the start of the next; 0 starts
   *     the next pass at the step after one ends
   */
  public Scrubber(Target store, double fragmentsPerSecond, int maxPerStep, long passNanos) {
    if (passNanos < 0) {
      throw new IllegalArgumentException("the scrub pass interval must not be negative, got "
          + passNanos + " ns");
    }
    this.passNanos = passNanos;
    if (!(fragmentsPerSecond > 0) || Double.isInfinite(fragmentsPerSecond)) {
      throw new IllegalArgumentException(
          "the scrub rate must be a positive number of fragments per second, got "
              + fragmentsPerSecond);
    }
    if (maxPerStep < 1) {
      throw new IllegalArgumentException(
          "the scrubber must check at least 1 fragment per step, got " + maxPerStep);
    }
    this.store = store;
    this.perNano = fragmentsPerSecond / 1e9;
    this.maxPerStep = maxPerStep;
  }

  /**
   * Does the checks that the rate allows since the previous call, at most {@code maxPerStep},
   * resuming where the previous call stopped. A pass that ends starts the next one at once, but
   * one call starts at most one new pass, so a small store is not checked over and over.
   *
   * @param nowNanos the caller's monotonic time; the first call only sets the origin
   * @return the number of checks done
   */
  public synchronized int step(long nowNanos) {
    if (!started) {
      started = true;
      lastNanos = nowNanos;
      passStartNanos = nowNanos;
      return 0;
    }
    long elapsed = nowNanos - lastNanos;
    lastNanos = nowNanos;
    if (elapsed > 0) {
      credit = Math.min(credit + elapsed * perNano, maxPerStep);
    }
    // The epsilon absorbs rounding, so that 0.3 s + 0.7 s at 10/s make 10 checks, not 9.
    int budget = (int) Math.floor(credit + 1e-9);
    int done = 0;
    boolean newPassThisStep = false;
    while (done < budget) {
      if (cursor >= size) {
        if (newPassThisStep || (passed && nowNanos - passStartNanos < passNanos)) {
          break;
        }
        takeSnapshot();
        passed = true;
        passStartNanos = nowNanos;
        newPassThisStep = true;
        if (size == 0) {
          break;
        }
      }
      FragmentId id = FragmentId.of(Arrays.copyOfRange(
          snapshot, cursor * FragmentId.LENGTH, (cursor + 1) * FragmentId.LENGTH));
      cursor++;
      FragmentState state = store.check(id);
      done++;
      if (state != null) {
        checked.incrementAndGet();
        if (state == FragmentState.BLANK) {
          failures.incrementAndGet();
          onFailure.accept(id);
        }
      }
      if (cursor == size) {
        passes.incrementAndGet();
      }
    }
    credit = Math.max(0, credit - done);
    return done;
  }

  /**
   * When a step next has work, on the clock {@link #step} is given: at once before the first
   * step; while a pass runs, when one step's worth of checks is due at the rate; between
   * passes, when the next pass may start.
   */
  public synchronized long nextStepNanos() {
    if (!started) {
      return Long.MIN_VALUE;
    }
    boolean midPass = cursor < size;
    // Mid-pass, a step waits for a full step's worth of checks, so a large store is walked in
    // a few big steps rather than many small ones; a new pass starts on the first check due.
    double wanted = (midPass ? Math.min(maxPerStep, size - cursor) : 1) - credit;
    long byRate = lastNanos + (wanted <= 0 ? 0 : (long) Math.ceil(wanted / perNano));
    if (midPass || !passed) {
      return byRate;
    }
    return Math.max(byRate, passStartNanos + passNanos);
  }

  /**
   * Sets the one listener told of every check that found no good bytes (on the stepping
   * thread), so that repair can be queued for exactly that fragment.
   */
  public void onFailure(java.util.function.Consumer<FragmentId> listener) {
    this.onFailure = listener == null ? id -> {} : listener;
  }

  /** Fragments checked since start (IDs that vanished mid-pass are not counted). */
  public long checked() {
    return checked.get();
  }

  /**
   * Checks that found no good bytes: a fragment whose hash or signature failed just now, or one
   * still BLANK from an earlier failure and not yet repaired.
   */
  public long failures() {
    return failures.get();
  }

  /** Complete walks over the store since start. */
  public long passes() {
    return passes.get();
  }

  private void takeSnapshot() {
    byte[][] buf = {new byte[Math.max(snapshot.length, 64 * FragmentId.LENGTH)]};
    int[] n = {0};
    store.forEachId(
        id -> {
          if ((n[0] + 1) * FragmentId.LENGTH > buf[0].length) {
            buf[0] = Arrays.copyOf(buf[0], buf[0].length * 2);
          }
          System.arraycopy(id.toBytes(), 0, buf[0], n[0] * FragmentId.LENGTH, FragmentId.LENGTH);
          n[0]++;
        });
    snapshot = buf[0];
    size = n[0];
    cursor = 0;
  }
}
