package dev.mycelium.overlay;

/**
 * Every tunable of the overlay cores, in milliseconds and counts, with named presets in the
 * manner of memberlist's {@code DefaultLANConfig}: {@link #local()}, {@link #lan()},
 * {@link #wan()} and {@link #test()}. Timings that follow from others are derived here and
 * nowhere else.
 *
 * @param activeViewSize HyParView active view cap (the degree cap)
 * @param activeViewTarget the degree a node fills its active view to on its own, from its
 *     passive view; joins and neighbour requests are still accepted up to the cap. Below the
 *     cap, the join walks (which end at a node with probability proportional to its degree)
 *     give popular nodes more links than the target: preferential attachment as in
 *     Barab&aacute;si and Albert (Science 286, 1999), truncated at the cap. Equal to the cap,
 *     every node fills to the cap and the degrees are nearly regular (HyParView as published).
 * @param passiveViewSize HyParView passive view cap
 * @param activeRandomWalkLength ARWL: hops a ForwardJoin walks
 * @param passiveRandomWalkLength PRWL: the hop count at which the walk also adds the joiner
 *     to the passive view
 * @param shuffleActive active peers sent in a shuffle
 * @param shufflePassive passive peers sent in a shuffle
 * @param shuffleIntervalMillis period of passive view shuffles
 * @param neighborTimeoutMillis how long a Neighbor or Join request may stay unanswered
 * @param joinRetryMillis how often a node with an empty active view retries its seeds
 * @param reconnectIntervalMillis how often a node retries a peer it saw fail, so that a
 *     partition heals once it ends
 * @param failedPeersKept how many failed peers are remembered for reconnect attempts
 * @param probeIntervalMillis SWIM protocol period (every active peer is probed once per period)
 * @param probeTimeoutMillis time to wait for a direct Ack before indirect probes
 * @param indirectProbes SWIM k: helpers asked for an indirect probe
 * @param awarenessMax Lifeguard: the largest local health score (timeouts scale by score + 1)
 * @param suspicionMult memberlist's suspicion multiplier (minimum suspicion timeout)
 * @param suspicionMaxMult ratio of the maximum to the minimum suspicion timeout
 * @param suspicionConfirmations Lifeguard k: confirmations that shrink the timeout to minimum
 * @param graftTimeoutMillis Plumtree: wait after an IHave before grafting a missing message
 * @param graftRetryMillis Plumtree: wait before grafting from the next announcer
 * @param broadcastTtl hops a broadcast may travel
 * @param dedupWindow message IDs remembered for duplicate detection
 * @param messageCacheMillis how long a received broadcast is kept to answer grafts
 * @param outboundQueueCapacity broadcasts waiting to be sent before the lowest priority drops
 * @param broadcastSendsPerSecond rate at which queued broadcasts leave this node
 * @param tickMillis the batching period: view announcements, IHave batches and the broadcast
 *     send queue are due this long after the last tick (timers are due when they expire)
 * @param peerMessagesPerSecond per-peer token bucket refill rate
 * @param peerBurst per-peer token bucket size
 * @param banThreshold score below which a peer is banned
 * @param banDurationMillis how long a ban lasts
 * @param scoreRecoveryPerSecond how fast a lowered score returns toward zero
 */
public record OverlayConfig(
    int activeViewSize,
    int activeViewTarget,
    int passiveViewSize,
    int activeRandomWalkLength,
    int passiveRandomWalkLength,
    int shuffleActive,
    int shufflePassive,
    long shuffleIntervalMillis,
    long neighborTimeoutMillis,
    long joinRetryMillis,
    long reconnectIntervalMillis,
    int failedPeersKept,
    long probeIntervalMillis,
    long probeTimeoutMillis,
    int indirectProbes,
    int awarenessMax,
    double suspicionMult,
    double suspicionMaxMult,
    int suspicionConfirmations,
    long graftTimeoutMillis,
    long graftRetryMillis,
    int broadcastTtl,
    int dedupWindow,
    long messageCacheMillis,
    int outboundQueueCapacity,
    double broadcastSendsPerSecond,
    long tickMillis,
    double peerMessagesPerSecond,
    int peerBurst,
    double banThreshold,
    long banDurationMillis,
    double scoreRecoveryPerSecond) {

  public OverlayConfig {
    positive("activeViewSize", activeViewSize);
    if (activeViewTarget < 1 || activeViewTarget > activeViewSize) {
      throw new IllegalArgumentException("activeViewTarget must be in 1..activeViewSize ("
          + activeViewSize + "), got " + activeViewTarget);
    }
    positive("passiveViewSize", passiveViewSize);
    positive("activeRandomWalkLength", activeRandomWalkLength);
    if (passiveRandomWalkLength < 0 || passiveRandomWalkLength > activeRandomWalkLength) {
      throw new IllegalArgumentException("passiveRandomWalkLength must be in 0..activeRandomWalkLength ("
          + activeRandomWalkLength + "), got " + passiveRandomWalkLength);
    }
    positive("probeIntervalMillis", probeIntervalMillis);
    positive("probeTimeoutMillis", probeTimeoutMillis);
    if (probeTimeoutMillis >= probeIntervalMillis) {
      throw new IllegalArgumentException("probeTimeoutMillis (" + probeTimeoutMillis
          + ") must be shorter than probeIntervalMillis (" + probeIntervalMillis + ")");
    }
    positive("tickMillis", tickMillis);
    positive("shuffleIntervalMillis", shuffleIntervalMillis);
    positive("neighborTimeoutMillis", neighborTimeoutMillis);
    positive("joinRetryMillis", joinRetryMillis);
    positive("reconnectIntervalMillis", reconnectIntervalMillis);
    positive("graftTimeoutMillis", graftTimeoutMillis);
    positive("graftRetryMillis", graftRetryMillis);
    positive("broadcastTtl", broadcastTtl);
    positive("dedupWindow", dedupWindow);
    positive("outboundQueueCapacity", outboundQueueCapacity);
    positive("peerBurst", peerBurst);
    positive("banDurationMillis", banDurationMillis);
    if (!(suspicionMult > 0) || !(suspicionMaxMult >= 1)) {
      throw new IllegalArgumentException("suspicionMult must be > 0 and suspicionMaxMult >= 1");
    }
    if (!(broadcastSendsPerSecond > 0) || !(peerMessagesPerSecond > 0)) {
      throw new IllegalArgumentException("send and message rates must be > 0");
    }
    // A busy origin sends broadcasts at broadcastSendsPerSecond, and every node relays them at
    // that rate over each eager link: a neighbour whose budget is lower bans honest relays.
    if (!(peerMessagesPerSecond > broadcastSendsPerSecond)) {
      throw new IllegalArgumentException("peerMessagesPerSecond (" + peerMessagesPerSecond
          + ") must exceed broadcastSendsPerSecond (" + broadcastSendsPerSecond
          + "), or neighbours take a burst of honest broadcasts for a flood");
    }
    if (!(banThreshold < 0)) {
      throw new IllegalArgumentException("banThreshold must be negative (scores start at 0), got "
          + banThreshold);
    }
    if (indirectProbes < 0 || awarenessMax < 0 || suspicionConfirmations < 1) {
      throw new IllegalArgumentException(
          "indirectProbes and awarenessMax must be >= 0, suspicionConfirmations >= 1");
    }
  }

  private static void positive(String name, long value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be > 0, got " + value);
    }
  }

  /** Defaults for a LAN: 1 s probes, 500 ms probe timeout (memberlist's LAN timings). */
  public static OverlayConfig lan() {
    return new OverlayConfig(6, 6, 30, 6, 3, 3, 4, 10_000, 2_000, 5_000, 10_000, 32,
        1_000, 500, 3, 8, 4, 6, 3,
        250, 200, 32, 10_000, 60_000, 10_000, 2_000,
        100, 5_000, 10_000, -50, 600_000, 1);
  }

  /** One machine: shorter probe timeout and suspicion (memberlist's local config). */
  public static OverlayConfig local() {
    return new OverlayConfig(6, 6, 30, 6, 3, 3, 4, 5_000, 1_000, 2_000, 5_000, 32,
        1_000, 200, 3, 8, 3, 6, 3,
        100, 100, 32, 10_000, 60_000, 10_000, 2_000,
        50, 5_000, 10_000, -50, 600_000, 1);
  }

  /** Across the internet: 5 s probes, 3 s timeout, longer suspicion (memberlist's WAN). */
  public static OverlayConfig wan() {
    return new OverlayConfig(6, 6, 30, 6, 3, 3, 4, 30_000, 5_000, 15_000, 30_000, 32,
        5_000, 3_000, 3, 8, 6, 6, 3,
        1_000, 600, 32, 10_000, 120_000, 10_000, 1_000,
        200, 2_500, 5_000, -50, 1_800_000, 0.5);
  }

  /** Small views and quick timings for tests on a handful of simulated nodes. */
  public static OverlayConfig test() {
    return new OverlayConfig(4, 4, 12, 4, 2, 2, 3, 2_000, 1_000, 1_000, 2_000, 16,
        500, 200, 2, 8, 3, 4, 2,
        150, 100, 16, 1_000, 20_000, 1_000, 1_000,
        50, 2_500, 5_000, -50, 60_000, 1);
  }

  /** A copy with other view sizes; the target degree becomes the new cap. */
  public OverlayConfig withViews(int active, int passive) {
    return withViews(active, active, passive);
  }

  /**
   * A copy with other view sizes and a target degree below the cap, which lets hubs form by
   * preferential attachment (see {@code activeViewTarget}).
   */
  public OverlayConfig withViews(int active, int target, int passive) {
    return new OverlayConfig(active, target, passive, activeRandomWalkLength,
        passiveRandomWalkLength,
        shuffleActive, shufflePassive, shuffleIntervalMillis, neighborTimeoutMillis,
        joinRetryMillis, reconnectIntervalMillis, failedPeersKept, probeIntervalMillis,
        probeTimeoutMillis, indirectProbes, awarenessMax, suspicionMult, suspicionMaxMult,
        suspicionConfirmations, graftTimeoutMillis, graftRetryMillis, broadcastTtl, dedupWindow,
        messageCacheMillis, outboundQueueCapacity, broadcastSendsPerSecond, tickMillis,
        peerMessagesPerSecond, peerBurst, banThreshold, banDurationMillis,
        scoreRecoveryPerSecond);
  }

  /** A copy with another outbound queue size and send rate. */
  public OverlayConfig withOutbound(int capacity, double sendsPerSecond) {
    return new OverlayConfig(activeViewSize, activeViewTarget, passiveViewSize,
        activeRandomWalkLength,
        passiveRandomWalkLength, shuffleActive, shufflePassive, shuffleIntervalMillis,
        neighborTimeoutMillis, joinRetryMillis, reconnectIntervalMillis, failedPeersKept,
        probeIntervalMillis, probeTimeoutMillis, indirectProbes, awarenessMax, suspicionMult,
        suspicionMaxMult, suspicionConfirmations, graftTimeoutMillis, graftRetryMillis,
        broadcastTtl, dedupWindow, messageCacheMillis, capacity, sendsPerSecond, tickMillis,
        peerMessagesPerSecond, peerBurst, banThreshold, banDurationMillis,
        scoreRecoveryPerSecond);
  }

  // ---- derived timings: the one place they are computed ----

  /**
   * Nodes this node watches or may promote, the {@code n} of memberlist's suspicion formula:
   * a node's failure detector only covers its views, not the whole network.
   */
  public int watchedNodes() {
    return activeViewSize + passiveViewSize;
  }

  /** memberlist: suspicionMult * log10(n + 1) * probeInterval. */
  public long suspicionMinMillis() {
    return Math.round(suspicionMult * Math.log10(watchedNodes() + 1.0) * probeIntervalMillis);
  }

  public long suspicionMaxMillis() {
    return Math.round(suspicionMaxMult * suspicionMinMillis());
  }

  /**
   * A helper answers Nack after half the requester's indirect window, so that the Nack
   * still arrives within the window over links of up to a quarter window one way (memberlist
   * uses 80% of the probe timeout, which is too late once links take tens of milliseconds).
   */
  public long indirectNackMillis() {
    return Math.max(1, indirectWindowMillis() / 2);
  }

  /**
   * How long the neighbours of a failed peer stay preferred candidates for a free slot: long
   * enough for all of them to notice the failure (a few probe periods).
   */
  public long repairWindowMillis() {
    return 10 * probeIntervalMillis;
  }

  /** Time left for indirect probes after the direct timeout. */
  public long indirectWindowMillis() {
    return probeIntervalMillis - probeTimeoutMillis;
  }
}
