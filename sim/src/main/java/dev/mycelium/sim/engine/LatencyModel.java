package dev.mycelium.sim.engine;

import java.util.random.RandomGenerator;

/** One-way link delay, drawn per message so that links reorder as real ones do. */
@FunctionalInterface
public interface LatencyModel {
  long sample(RandomGenerator random);

  /** Uniform in [min, max] milliseconds (the default: 20 to 80 ms). */
  static LatencyModel uniform(long minMillis, long maxMillis) {
    if (minMillis < 0 || maxMillis < minMillis) {
      throw new IllegalArgumentException(
          "latency needs 0 <= min <= max, got " + minMillis + ".." + maxMillis);
    }
    return r -> minMillis + r.nextLong(maxMillis - minMillis + 1);
  }

  /** Always the same delay. */
  static LatencyModel fixed(long millis) {
    return uniform(millis, millis);
  }
}
