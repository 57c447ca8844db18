package dev.mycelium.overlay;

/**
 * A token bucket refilled from the time the caller passes in, never from a clock, so that it
 * behaves the same in the daemon and in the simulator.
 */
public final class TokenBucket {
  private final double ratePerMilli;
  private final double capacity;
  private double tokens;
  private long last;

  public TokenBucket(double ratePerSecond, double capacity, long nowMillis) {
    if (!(ratePerSecond > 0) || !(capacity >= 1)) {
      throw new IllegalArgumentException(
          "token bucket needs rate > 0 and capacity >= 1, got " + ratePerSecond + ", " + capacity);
    }
    this.ratePerMilli = ratePerSecond / 1000.0;
    this.capacity = capacity;
    this.tokens = capacity;
    this.last = nowMillis;
  }

  /** Takes one token if there is one. */
  public boolean tryTake(long nowMillis) {
    refill(nowMillis);
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    return false;
  }

  /**
   * Takes {@code n} tokens if there are that many. A take larger than the whole bucket is
   * allowed once it is full, so one large message is never refused forever; it empties the
   * bucket below zero and the debt is paid back at the refill rate.
   */
  public boolean tryTake(long nowMillis, double n) {
    refill(nowMillis);
    if (tokens >= Math.min(n, capacity)) {
      tokens -= n;
      return true;
    }
    return false;
  }

  /** Tokens available now. */
  public double available(long nowMillis) {
    refill(nowMillis);
    return tokens;
  }

  private void refill(long now) {
    if (now > last) {
      tokens = Math.min(capacity, tokens + (now - last) * ratePerMilli);
      last = now;
    }
  }
}
