package dev.mycelium.overlay.replica;

/**
 * The knobs of replication, anti-entropy and repair, with the shipped defaults in
 * {@link #DEFAULTS}. Every time is in milliseconds of the driver's clock.
 *
 * <p>Tombstones must outlive the longest repair cycle, or a holder that was away during a
 * delete could hand the fragment back; the constructor refuses a retention shorter than the
 * slowest retry.
 *
 * @param replicationFactor R, holders per owner
 * @param digestLeafBits ID-prefix bits of an owner digest's leaf buckets, a multiple of 4 from
 *     4 to 16 (2^bits buckets, 16 bytes each, plus the inner levels)
 * @param antiEntropyIntervalMillis how often a node sends its digest roots to its partners
 * @param repairsPerTick fetches started per tick while the node is busy
 * @param idleRepairsPerTick fetches started per tick while the node reports itself idle
 * @param fetchBatch most IDs asked for in one fetch
 * @param fetchTimeoutMillis a fetch not answered by then counts as failed
 * @param backoffBaseMillis first retry delay after a failure; doubles with every failure
 * @param backoffMaxMillis the cap on that delay
 * @param maxAttempts failures after which a fragment is LOST
 * @param lostRetryMillis how often a LOST fragment is tried again
 * @param streamPerTick replicas streamed to new holders per tick, all streams together
 * @param holderGraceMillis how long a holder may be out of the active view (PeerDown) before
 *     the owner replaces it; Dead and Left replace at once
 * @param tombstoneRetentionMillis how long holders keep a tombstone after the delete
 * @param scrubPassMillis how long one pass of the holder scrub takes: every held replica is
 *     re-verified once per pass, in steps spread evenly over it
 * @param scrubStepMillis the shortest time between two steps of the scrub
 * @param scrubBatch most held replicas re-verified in one step
 * @param restoreBroadcastDelayMillis how long a restore waits for neighbours' offers before it
 *     asks the whole network
 */
public record ReplicaConfig(
    int replicationFactor,
    int digestLeafBits,
    long antiEntropyIntervalMillis,
    int repairsPerTick,
    int idleRepairsPerTick,
    int fetchBatch,
    long fetchTimeoutMillis,
    long backoffBaseMillis,
    long backoffMaxMillis,
    int maxAttempts,
    long lostRetryMillis,
    int streamPerTick,
    long holderGraceMillis,
    long tombstoneRetentionMillis,
    long scrubPassMillis,
    long scrubStepMillis,
    int scrubBatch,
    long restoreBroadcastDelayMillis) {

  /**
   * The shipped defaults.
   *
   * <p>The scrub is paced for a laptop that is mostly idle. A replica that rots on a holder's
   * disk is also checked before it is served, and the owner and the other holders keep their
   * copies meanwhile, so the scrub only has to find rot within minutes, not seconds: a pass of
   * 15 minutes does, where re-checking 50 replicas every tick kept a small store's replicas
   * under constant re-verification and the node awake. Steps at least 5 s apart let an idle
   * node sleep between them (a store of a few dozen replicas is checked one replica every
   * half minute or so), and at most 128 signature checks a step (about 50 ms on a loaded
   * core, at some 2,600 Ed25519 checks a second) bound what one step takes from the node's one
   * driver thread. A store of more than 180 steps x 128 = 23,040 replicas takes longer than
   * 15 minutes per pass, at that same bounded rate.
   */
  public static final ReplicaConfig DEFAULTS = new ReplicaConfig(
      3, 12, 30_000, 64, 1024, 64, 10_000, 1_000, 300_000, 8, 3_600_000, 2_000, 30_000,
      7L * 24 * 3_600_000, 15 * 60_000, 5_000, 128, 5_000);

  public ReplicaConfig {
    positive("replication factor", replicationFactor);
    if (digestLeafBits < 4 || digestLeafBits > 16 || digestLeafBits % 4 != 0) {
      throw new IllegalArgumentException(
          "digest leaf bits must be 4, 8, 12 or 16, got " + digestLeafBits);
    }
    positive("anti-entropy interval", antiEntropyIntervalMillis);
    positive("repairs per tick", repairsPerTick);
    if (idleRepairsPerTick < repairsPerTick) {
      throw new IllegalArgumentException("idle repairs per tick (" + idleRepairsPerTick
          + ") must be at least the busy rate (" + repairsPerTick + ")");
    }
    positive("fetch batch", fetchBatch);
    positive("fetch timeout", fetchTimeoutMillis);
    positive("backoff base", backoffBaseMillis);
    if (backoffMaxMillis < backoffBaseMillis) {
      throw new IllegalArgumentException("backoff max (" + backoffMaxMillis
          + " ms) must be at least the base (" + backoffBaseMillis + " ms)");
    }
    positive("max attempts", maxAttempts);
    positive("lost retry", lostRetryMillis);
    positive("stream per tick", streamPerTick);
    if (holderGraceMillis < 0) {
      throw new IllegalArgumentException("holder grace cannot be negative: " + holderGraceMillis);
    }
    long longestCycle = Math.max(backoffMaxMillis, lostRetryMillis) * 2;
    if (tombstoneRetentionMillis < longestCycle) {
      throw new IllegalArgumentException("tombstone retention (" + tombstoneRetentionMillis
          + " ms) must outlive the longest repair cycle: at least twice the slowest retry, "
          + longestCycle + " ms");
    }
    positive("scrub pass", scrubPassMillis);
    positive("scrub step", scrubStepMillis);
    if (scrubStepMillis > scrubPassMillis) {
      throw new IllegalArgumentException("scrub step (" + scrubStepMillis
          + " ms) cannot be longer than the scrub pass (" + scrubPassMillis + " ms)");
    }
    positive("scrub batch", scrubBatch);
    if (restoreBroadcastDelayMillis < 0) {
      throw new IllegalArgumentException(
          "restore broadcast delay cannot be negative: " + restoreBroadcastDelayMillis);
    }
  }

  private static void positive(String what, long v) {
    if (v < 1) {
      throw new IllegalArgumentException(what + " must be at least 1, got " + v);
    }
  }

  /** The same configuration with another replication factor. */
  public ReplicaConfig withReplicationFactor(int r) {
    return new ReplicaConfig(r, digestLeafBits, antiEntropyIntervalMillis, repairsPerTick,
        idleRepairsPerTick, fetchBatch, fetchTimeoutMillis, backoffBaseMillis, backoffMaxMillis,
        maxAttempts, lostRetryMillis, streamPerTick, holderGraceMillis, tombstoneRetentionMillis,
        scrubPassMillis, scrubStepMillis, scrubBatch, restoreBroadcastDelayMillis);
  }

  /** The same configuration with another anti-entropy interval. */
  public ReplicaConfig withAntiEntropyIntervalMillis(long interval) {
    return new ReplicaConfig(replicationFactor, digestLeafBits, interval, repairsPerTick,
        idleRepairsPerTick, fetchBatch, fetchTimeoutMillis, backoffBaseMillis, backoffMaxMillis,
        maxAttempts, lostRetryMillis, streamPerTick, holderGraceMillis, tombstoneRetentionMillis,
        scrubPassMillis, scrubStepMillis, scrubBatch, restoreBroadcastDelayMillis);
  }

  /** The same configuration with another digest size (small for simulations of many nodes). */
  public ReplicaConfig withDigestLeafBits(int bits) {
    return new ReplicaConfig(replicationFactor, bits, antiEntropyIntervalMillis, repairsPerTick,
        idleRepairsPerTick, fetchBatch, fetchTimeoutMillis, backoffBaseMillis, backoffMaxMillis,
        maxAttempts, lostRetryMillis, streamPerTick, holderGraceMillis, tombstoneRetentionMillis,
        scrubPassMillis, scrubStepMillis, scrubBatch, restoreBroadcastDelayMillis);
  }
}
