package dev.mycelium.sim.engine;

/**
 * A fault injected into one simulated node, reported to {@link SimListener#onFault} when it
 * happens, so that reports can show a timeline and so that simulated stores (which live beside
 * the overlay core) can apply the faults that concern them: a disk wipe empties a node's store,
 * bit flips corrupt stored bytes, as a failing disk or bad memory would.
 */
public sealed interface NodeFault {
  /** The process dies: its in-memory state is lost, messages to it vanish. */
  record Crash() implements NodeFault {}

  /** A fresh process with the same identity starts and rejoins. */
  record Restart() implements NodeFault {}

  /** The process leaves gracefully, telling its neighbours. */
  record Leave() implements NodeFault {}

  /** The process stops for a while (a long GC pause) and then catches up. */
  record Pause(long millis) implements NodeFault {}

  /** Every message takes this long to process for a while: an overloaded node. */
  record Slow(long perMessageMillis, long millis) implements NodeFault {}

  /** The node's data directory is lost; what is stored on disk is gone. */
  record DiskWipe() implements NodeFault {}

  /**
   * {@code count} random bits of the node's store flip; {@code seed} picks which, so that a
   * store that applies the fault does so the same way in every replay.
   */
  record BitFlips(int count, long seed) implements NodeFault {}
}
