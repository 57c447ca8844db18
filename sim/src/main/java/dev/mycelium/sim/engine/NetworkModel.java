package dev.mycelium.sim.engine;

import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * The simulated network between nodes: per-message latency from a distribution, loss (for
 * everyone, and extra loss on chosen nodes), duplication, reordering, per-node upload
 * bandwidth, and partitions that block one or both directions between two groups of nodes.
 * Mutable so that a scenario can change conditions while it runs.
 *
 * <p>Why these: they are the faults a gossip protocol meets on real links (Jepsen-style
 * partitions, lossy Wi-Fi, a saturated uplink), and each one has a test of its statistics.
 */
public final class NetworkModel {
  private LatencyModel latency = LatencyModel.uniform(20, 80);
  private double loss;
  private long lostToLoss;
  private double duplication;
  private Predicate<Envelope> lossApplies = e -> true;
  private final List<Partition> partitions = new ArrayList<>();

  private record Partition(int id, BitSet a, BitSet b, boolean twoWay) {
    boolean blocks(int from, int to) {
      return (a.get(from) && b.get(to)) || (twoWay && b.get(from) && a.get(to));
    }
  }

  private int nextPartition;
  private double reorder;
  private long bandwidth;
  private long[] uplinkFreeAt = new long[0];
  private final java.util.HashMap<Integer, Double> nodeLoss = new java.util.HashMap<>();
  private boolean fifo = true;
  // Last arrival time per directed link, in an open-addressing table of primitive longs:
  // a boxed HashMap here was a tenth of the simulator's time at thousands of nodes.
  private long[] linkKeys = new long[1 << 12];
  private long[] linkArrivals = new long[1 << 12];
  private int links;

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

  /** Messages dropped so far by the loss rates (network-wide and per node). */
  public long lostToLoss() {
    return lostToLoss;
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
   * Probability in [0, 1) that a message is reordered: it takes a second, independent latency
   * draw on top of the first and ignores the link's FIFO order, so later messages overtake it.
   */
  public NetworkModel reorder(double probability) {
    if (!(probability >= 0 && probability < 1)) {
      throw new IllegalArgumentException("reorder must be in [0, 1), got " + probability);
    }
    this.reorder = probability;
    return this;
  }

  /**
   * Upload bandwidth of every node in bytes per second (0: unlimited). A message leaves its
   * sender only when the messages before it have left, so a node that sends much queues.
   */
  public NetworkModel bandwidth(long bytesPerSecond) {
    if (bytesPerSecond < 0) {
      throw new IllegalArgumentException("bandwidth must be >= 0 bytes/s, got " + bytesPerSecond);
    }
    this.bandwidth = bytesPerSecond;
    return this;
  }

  /** Extra loss in [0, 1) on every message to or from one node (0 removes it). */
  public NetworkModel nodeLoss(int node, double probability) {
    if (!(probability >= 0 && probability < 1)) {
      throw new IllegalArgumentException("node loss must be in [0, 1), got " + probability);
    }
    if (probability == 0) {
      nodeLoss.remove(node);
    } else {
      nodeLoss.put(node, probability);
    }
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
      lostToLoss++;
      return NONE;
    }
    if (!nodeLoss.isEmpty() && (lostAt(from, random) || lostAt(to, random))) {
      lostToLoss++;
      return NONE;
    }
    long first = latency.sample(random);
    if (bandwidth > 0 && from >= 0) {
      if (from >= uplinkFreeAt.length) {
        uplinkFreeAt = java.util.Arrays.copyOf(uplinkFreeAt, Math.max(from + 1,
            uplinkFreeAt.length * 2));
      }
      long departs = Math.max(now, uplinkFreeAt[from])
          + Math.max(1, envelope.getSerializedSize() * 1000L / bandwidth);
      uplinkFreeAt[from] = departs;
      first += departs - now;
    }
    if (reorder > 0 && random.nextDouble() < reorder) {
      first += latency.sample(random);
    } else if (fifo) {
      // Multiplying by an odd constant is a bijection, and it spreads the bits that
      // Long.hashCode would otherwise fold into from ^ to (a handful of buckets).
      long key = (((long) from << 32) | (to & 0xffffffffL)) * 0x9E3779B97F4A7C15L;
      int slot = slot(key);
      if (linkKeys[slot] == key + 1 && now + first < linkArrivals[slot]) {
        first = linkArrivals[slot] - now;
      }
      if (linkKeys[slot] != key + 1) {
        linkKeys[slot] = key + 1;
        if (++links * 2 > linkKeys.length) {
          growLinks();
          slot = slot(key);
        }
      }
      linkArrivals[slot] = now + first;
    }
    if (duplication > 0 && random.nextDouble() < duplication) {
      return new long[] {first, first + latency.sample(random)};
    }
    return new long[] {first};
  }

  /** The slot of a key (stored as key + 1, so that 0 marks an empty slot). */
  private int slot(long key) {
    int mask = linkKeys.length - 1;
    int i = (int) (key ^ (key >>> 32)) & mask;
    while (linkKeys[i] != 0 && linkKeys[i] != key + 1) {
      i = (i + 1) & mask;
    }
    return i;
  }

  private void growLinks() {
    long[] oldKeys = linkKeys;
    long[] oldArrivals = linkArrivals;
    linkKeys = new long[oldKeys.length * 2];
    linkArrivals = new long[oldKeys.length * 2];
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != 0) {
        int s = slot(oldKeys[i] - 1);
        linkKeys[s] = oldKeys[i];
        linkArrivals[s] = oldArrivals[i];
      }
    }
  }

  private boolean lostAt(int node, RandomGenerator random) {
    Double p = nodeLoss.get(node);
    return p != null && random.nextDouble() < p;
  }

  private static final long[] NONE = new long[0];
}
