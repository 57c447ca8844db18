package dev.mycelium.sim.engine;

/**
 * A discrete-event engine: one priority queue of actions ordered by (time, sequence) and a
 * virtual clock that jumps from one event to the next. Ties run in the order they were
 * scheduled, so a run depends only on its inputs and its seed, never on the machine.
 */
public final class Simulator {
  // A binary heap over parallel primitive arrays: comparing (time, seq) reads two longs next
  // to each other instead of following a pointer to an event object per comparison, which
  // made the queue the simulator's hottest spot at tens of thousands of nodes.
  private long[] times = new long[1 << 16];
  private long[] seqs = new long[1 << 16];
  private Runnable[] actions = new Runnable[1 << 16];
  private int size;
  private long now;
  private long seq;
  private long processed;

  /** Virtual time in milliseconds. */
  public long now() {
    return now;
  }

  /** Schedules an action at an absolute virtual time, which may not lie in the past. */
  public void at(long time, Runnable action) {
    if (time < now) {
      throw new IllegalArgumentException(
          "cannot schedule at " + time + " ms: the clock is already at " + now + " ms");
    }
    if (size == times.length) {
      int cap = size * 2;
      times = java.util.Arrays.copyOf(times, cap);
      seqs = java.util.Arrays.copyOf(seqs, cap);
      actions = java.util.Arrays.copyOf(actions, cap);
    }
    long s = seq++;
    int i = size++;
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (times[parent] < time || (times[parent] == time && seqs[parent] < s)) {
        break;
      }
      times[i] = times[parent];
      seqs[i] = seqs[parent];
      actions[i] = actions[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = s;
    actions[i] = action;
  }

  private Runnable poll() {
    Runnable top = actions[0];
    now = times[0];
    int last = --size;
    long t = times[last];
    long s = seqs[last];
    Runnable a = actions[last];
    actions[last] = null;
    int i = 0;
    int half = size >>> 1;
    while (i < half) {
      int child = 2 * i + 1;
      int right = child + 1;
      if (right < size && (times[right] < times[child]
          || (times[right] == times[child] && seqs[right] < seqs[child]))) {
        child = right;
      }
      if (t < times[child] || (t == times[child] && s < seqs[child])) {
        break;
      }
      times[i] = times[child];
      seqs[i] = seqs[child];
      actions[i] = actions[child];
      i = child;
    }
    if (size > 0) {
      times[i] = t;
      seqs[i] = s;
      actions[i] = a;
    }
    return top;
  }

  /** Schedules an action after a delay (>= 0). */
  public void after(long delayMillis, Runnable action) {
    if (delayMillis < 0) {
      throw new IllegalArgumentException("delay must be >= 0, got " + delayMillis);
    }
    at(now + delayMillis, action);
  }

  /** Runs the next event; false if there was none. */
  public boolean step() {
    if (size == 0) {
      return false;
    }
    Runnable action = poll();
    processed++;
    action.run();
    return true;
  }

  /** Runs every event up to and including the given time, then sets the clock to it. */
  public void runUntil(long time) {
    while (size > 0 && times[0] <= time) {
      step();
    }
    if (time > now) {
      now = time;
    }
  }

  public void runFor(long millis) {
    runUntil(now + millis);
  }

  public long eventsProcessed() {
    return processed;
  }

  public int pending() {
    return size;
  }
}
