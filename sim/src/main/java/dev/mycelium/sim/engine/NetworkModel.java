package dev.mycelium.sim.engine;

import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * The simulated network between nodes: per-message latency from a distribution, loss,
 * duplication, and partitions that block one or both directions between two groups of nodes.
 * Mutable so that a scenario can change conditions while it runs.
 */
public final class NetworkModel {
  private LatencyModel latency = LatencyModel.uniform(20, 80);
  private double loss;
  private double duplication;
  private Predicate<Envelope> lossApplies = e -> true;
  private final List<Partition> partitions = new ArrayList<>();

  private record Partition(int id, BitSet a, BitSet b, boolean twoWay) {
    boolean blocks(int from, int to) {
      return (a.get(from) && b.get(to)) || (twoWay && b.get(from) && a.get(to));
    }
  }

  private int nextPartition;
  private boolean fifo = true;
  private final java.util.HashMap<Long, Long> lastArrival = new java.util.HashMap<>();

  /**
   * Whether each directed link keeps order, as a TCP connection does (the default). Off, the
   * latency draws alone decide the order, so messages on one link can overtake each other.
   */
  public NetworkModel fifo(boolean keepOrder) {
    this.fifo = keepOrder;
    return this;
  }

  public NetworkModel latency(LatencyModel model) {
    this.latency = model;
    return this;
  }

  /** Probability in [0, 1) that a message is lost. */
  public NetworkModel loss(double probability) {
    if (!(probability >= 0 && probability < 1)) {
      throw new IllegalArgumentException("loss must be in [0, 1), got " + probability);
    }
    this.loss = probability;
    return this;
  }

  /** Restricts loss to some messages (by default every message can be lost). */
  public NetworkModel lossAppliesTo(Predicate<Envelope> which) {
    this.lossApplies = which;
    return this;
  }

  /** Probability in [0, 1) that a message arrives twice. */
  public NetworkModel duplication(double probability) {
    if (!(probability >= 0 && probability < 1)) {
      throw new IllegalArgumentException("duplication must be in [0, 1), got " + probability);
    }
    this.duplication = probability;
    return this;
  }

  /**
   * Blocks messages from group a to group b (and b to a if twoWay). Returns an ID for
   * {@link #heal(int)}.
   */
  public int partition(BitSet a, BitSet b, boolean twoWay) {
    int id = nextPartition++;
    partitions.add(new Partition(id, (BitSet) a.clone(), (BitSet) b.clone(), twoWay));
    return id;
  }

  public void heal(int partitionId) {
    partitions.removeIf(p -> p.id() == partitionId);
  }

  public void healAll() {
    partitions.clear();
  }

  public double loss() {
    return loss;
  }

  /**
   * The delays after which copies of one message arrive: none if it is lost or blocked, two if
   * it is duplicated. Random draws come from the sender's stream.
   */
  public long[] deliveries(int from, int to, Envelope envelope, RandomGenerator random) {
    return deliveries(from, to, envelope, random, 0);
  }

  /**
   * As {@link #deliveries(int, int, Envelope, RandomGenerator)}, with the current virtual time
   * so that FIFO links can keep each message behind the previous one.
   */
  public long[] deliveries(int from, int to, Envelope envelope, RandomGenerator random,
      long now) {
    for (Partition p : partitions) {
      if (p.blocks(from, to)) {
        return NONE;
      }
    }
    if (loss > 0 && lossApplies.test(envelope) && random.nextDouble() < loss) {
      return NONE;
    }
    long first = latency.sample(random);
    if (fifo) {
      // Multiplying by an odd constant is a bijection, and it spreads the bits that
      // Long.hashCode would otherwise fold into from ^ to (a handful of buckets).
      long key = (((long) from << 32) | (to & 0xffffffffL)) * 0x9E3779B97F4A7C15L;
      Long last = lastArrival.get(key);
      if (last != null && now + first < last) {
        first = last - now;
      }
      lastArrival.put(key, now + first);
    }
    if (duplication > 0 && random.nextDouble() < duplication) {
      return new long[] {first, first + latency.sample(random)};
    }
    return new long[] {first};
  }

  private static final long[] NONE = new long[0];
}
