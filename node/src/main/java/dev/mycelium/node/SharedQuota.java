package dev.mycelium.node;

import dev.mycelium.wire.NodeId;
import java.util.HashMap;
import java.util.Map;

/**
 * How much of other owners' shared fragments this node keeps: per origin (the owner that
 * signed them) in entries and bytes, and for all origins together, so that shared knowledge
 * from the network can never crowd out the user's own memory. Identities cost nothing, so the
 * totals, not the per-origin quota, are what bound a flood from many identities.
 *
 * <p>Pure bookkeeping: it stores nothing and reads no clock. Thread-safe.
 */
public final class SharedQuota {
  /** The shipped defaults. */
  public static final SharedQuota.Limits DEFAULTS =
      new Limits(2_000, 8L << 20, 20_000, 128L << 20);

  /**
   * The bounds.
   *
   * @param entriesPerOrigin fragments kept from one origin
   * @param bytesPerOrigin bytes kept from one origin
   * @param totalEntries fragments kept from all other origins together
   * @param totalBytes bytes kept from all other origins together
   */
  public record Limits(long entriesPerOrigin, long bytesPerOrigin, long totalEntries,
      long totalBytes) {
    public Limits {
      if (entriesPerOrigin < 0 || bytesPerOrigin < 0 || totalEntries < 0 || totalBytes < 0) {
        throw new IllegalArgumentException("shared quotas cannot be negative: " + this);
      }
    }
  }

  /**
   * A shared fragment refused because its owner, or all other owners together, are over the
   * quota. Expected under a flood: callers count it rather than log each one.
   */
  public static final class Exceeded extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public Exceeded(String message) {
      super(message);
    }
  }

  private final Limits limits;
  private final Map<NodeId, long[]> byOrigin = new HashMap<>();
  private long entries;
  private long bytes;

  public SharedQuota(Limits limits) {
    this.limits = java.util.Objects.requireNonNull(limits, "limits");
  }

  /**
   * Takes room for one fragment of {@code size} bytes from {@code origin}, if its quota and the
   * totals allow.
   *
   * @return false, taking nothing, when it does not fit
   */
  public synchronized boolean tryAdd(NodeId origin, long size) {
    if (size < 0) {
      throw new IllegalArgumentException("size cannot be negative: " + size);
    }
    long[] o = byOrigin.get(origin);
    long oEntries = o == null ? 0 : o[0];
    long oBytes = o == null ? 0 : o[1];
    if (oEntries + 1 > limits.entriesPerOrigin() || oBytes + size > limits.bytesPerOrigin()
        || entries + 1 > limits.totalEntries() || bytes + size > limits.totalBytes()) {
      return false;
    }
    if (o == null) {
      o = new long[2];
      byOrigin.put(origin, o);
    }
    o[0]++;
    o[1] += size;
    entries++;
    bytes += size;
    return true;
  }

  /**
   * Counts a fragment that is already kept (found in the store at start), whether or not it
   * fits: what was kept under a larger quota leaves no room for more.
   */
  public synchronized void account(NodeId origin, long size) {
    long[] o = byOrigin.computeIfAbsent(origin, k -> new long[2]);
    o[0]++;
    o[1] += size;
    entries++;
    bytes += size;
  }

  /** Gives back the room of one fragment (it was deleted, or the store refused it). */
  public synchronized void release(NodeId origin, long size) {
    long[] o = byOrigin.get(origin);
    if (o == null) {
      return;
    }
    o[0] = Math.max(0, o[0] - 1);
    o[1] = Math.max(0, o[1] - size);
    entries = Math.max(0, entries - 1);
    bytes = Math.max(0, bytes - size);
    if (o[0] == 0) {
      byOrigin.remove(origin);
    }
  }

  /** Fragments kept from one origin. */
  public synchronized long entries(NodeId origin) {
    long[] o = byOrigin.get(origin);
    return o == null ? 0 : o[0];
  }

  /** Bytes kept from one origin. */
  public synchronized long bytes(NodeId origin) {
    long[] o = byOrigin.get(origin);
    return o == null ? 0 : o[1];
  }

  /** Fragments kept from all other origins. */
  public synchronized long totalEntries() {
    return entries;
  }

  /** Bytes kept from all other origins. */
  public synchronized long totalBytes() {
    return bytes;
  }

  public Limits limits() {
    return limits;
  }
}
