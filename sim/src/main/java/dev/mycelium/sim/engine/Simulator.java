package dev.mycelium.sim.engine;

import java.util.PriorityQueue;

/**
 * A discrete-event engine: one priority queue of actions ordered by (time, sequence) and a
 * virtual clock that jumps from one event to the next. Ties run in the order they were
 * scheduled, so a run depends only on its inputs and its seed, never on the machine.
 */
public final class Simulator {
  private static final class Event implements Comparable<Event> {
    final long time;
    final long seq;
    final Runnable action;

    Event(long time, long seq, Runnable action) {
      this.time = time;
      this.seq = seq;
      this.action = action;
    }

    @Override
    public int compareTo(Event o) {
      int c = Long.compare(time, o.time);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }

  private final PriorityQueue<Event> queue = new PriorityQueue<>(1 << 16);
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
    queue.add(new Event(time, seq++, action));
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
    Event e = queue.poll();
    if (e == null) {
      return false;
    }
    now = e.time;
    processed++;
    e.action.run();
    return true;
  }

  /** Runs every event up to and including the given time, then sets the clock to it. */
  public void runUntil(long time) {
    while (!queue.isEmpty() && queue.peek().time <= time) {
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
    return queue.size();
  }
}
