package dev.mycelium.overlay.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.random.RandomGenerator;

/**
 * The queue of fragments whose bytes are missing here, and when to try each again.
 *
 * <p>A fragment enters when a check fails (a BLANK own fragment, a held replica that failed the
 * scrub) or when anti-entropy finds it missing. {@link #due} hands out the fragments to fetch
 * now, at most a few per tick so repair never crowds out the node's real work, and more while
 * the node says it is idle. A failure backs off exponentially with "equal jitter" (half the
 * delay fixed, half random: Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog,
 * 2015), so that many nodes repairing from the same holder after an outage do not retry in
 * lock-step; each retry asks the next known source. After {@code maxAttempts} failures the
 * fragment is LOST: still tried, every {@code lostRetryMillis}, in case a holder comes back.
 *
 * <p>A repair cycle runs from the moment work appears in an empty queue to the moment nothing
 * is left but LOST fragments; the last complete one is kept for status pages. Pure: time comes
 * in as {@code now}, randomness from the generator handed in. Not thread-safe.
 */
public final class RepairScheduler {
  /** Where one fragment's repair stands. */
  public enum Phase { QUEUED, IN_FLIGHT, LOST }

  /** One fragment to fetch, and from whom. */
  public record Work(FragmentId id, NodeId owner, boolean own, NodeId source, int attempts) {}

  /** A repair cycle: when it started and ended, and what it did. */
  public record Cycle(long startedAt, long endedAt, long repaired, long failed) {}

  /** A snapshot of the counters. */
  public record Stats(int queued, int inFlight, int lost, long repairsDone, long repairsFailed,
      long bytesMoved, Cycle lastCycle, Cycle currentCycle) {
    /** Fragments waiting or being fetched (LOST ones are counted apart). */
    public int queueLength() {
      return queued + inFlight;
    }
  }

  private static final class Item {
    final FragmentId id;
    final NodeId owner;
    final boolean own;
    final LinkedHashSet<NodeId> sources = new LinkedHashSet<>();
    int attempts;
    long stamp;
    Phase phase = Phase.QUEUED;

    Item(FragmentId id, NodeId owner, boolean own) {
      this.id = id;
      this.owner = owner;
      this.own = own;
    }
  }

  private record Due(long at, long seq, long stamp, FragmentId id) {}

  private final ReplicaConfig config;
  private final RandomGenerator random;
  private final Map<FragmentId, Item> items = new HashMap<>();
  /** Items of this node's own fragments, so that {@link #repairingOwn} need not search. */
  private int ownItems;
  private final PriorityQueue<Due> timeline = new PriorityQueue<>(
      (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
  private long seq;
  private int queued;
  private int inFlight;
  private int lost;
  private long done;
  private long failed;
  private long bytes;
  private Cycle lastCycle;
  private long cycleStart = -1;
  private long cycleDone;
  private long cycleFailed;

  public RepairScheduler(ReplicaConfig config, RandomGenerator random) {
    this.config = Objects.requireNonNull(config, "config");
    this.random = Objects.requireNonNull(random, "random generator");
  }

  /**
   * Queues a fragment for repair, due at once, or adds sources to one already queued (a LOST
   * fragment given a new source is tried again at once).
   *
   * @param own whether the fragment is this node's own (else a replica held for its owner)
   * @param sources peers that may hold a copy, best first
   */
  public void enqueue(long now, FragmentId id, NodeId owner, boolean own,
      Collection<NodeId> sources) {
    Item it = items.get(id);
    if (it == null) {
      it = new Item(id, owner, own);
      items.put(id, it);
      if (own) {
        ownItems++;
      }
      it.sources.addAll(sources);
      queued++;
      startCycle(now);
      schedule(it, now);
      return;
    }
    // New sources go first: they have not failed yet.
    List<NodeId> added = new ArrayList<>();
    for (NodeId s : sources) {
      if (!it.sources.contains(s)) {
        added.add(s);
      }
    }
    boolean fresh = !added.isEmpty();
    if (fresh) {
      List<NodeId> old = new ArrayList<>(it.sources);
      it.sources.clear();
      it.sources.addAll(added);
      it.sources.addAll(old);
    }
    if (fresh && it.phase == Phase.LOST) {
      setPhase(it, Phase.QUEUED);
      it.attempts = 0;
      startCycle(now);
      schedule(it, now);
    }
  }

  /**
   * The fragments to fetch now: at most {@code repairsPerTick} (or {@code idleRepairsPerTick}
   * when idle), each with the source to ask. They are IN_FLIGHT until {@link #succeeded},
   * {@link #failed} or {@link #deferred} is called for them.
   */
  public List<Work> due(long now, boolean idle) {
    int budget = idle ? config.idleRepairsPerTick() : config.repairsPerTick();
    List<Work> out = new ArrayList<>();
    while (out.size() < budget && !timeline.isEmpty() && timeline.peek().at <= now) {
      Due d = timeline.poll();
      Item it = items.get(d.id);
      if (it == null || it.stamp != d.stamp || it.phase == Phase.IN_FLIGHT) {
        continue;
      }
      if (it.sources.isEmpty()) {
        fail(now, it);
        continue;
      }
      NodeId source = pick(it);
      setPhase(it, Phase.IN_FLIGHT);
      out.add(new Work(it.id, it.owner, it.own, source, it.attempts));
    }
    return out;
  }

  /**
   * When {@link #due} next has something to hand out, {@link Long#MAX_VALUE} when nothing is
   * queued. Never later than that; it may be earlier by an entry a success or a claim left
   * behind, which the next {@link #due} drops.
   */
  public long nextDue() {
    return timeline.isEmpty() ? Long.MAX_VALUE : timeline.peek().at;
  }

  /** Takes a fragment out of the queue at once (a fetch-now outside the throttle). */
  public Work claim(FragmentId id) {
    Item it = items.get(id);
    if (it == null || it.phase == Phase.IN_FLIGHT || it.sources.isEmpty()) {
      return null;
    }
    NodeId source = pick(it);
    setPhase(it, Phase.IN_FLIGHT);
    it.stamp++;
    return new Work(it.id, it.owner, it.own, source, it.attempts);
  }

  /** The fragment is back (from anyone): it leaves the queue. */
  public void succeeded(long now, FragmentId id, long movedBytes) {
    Item it = items.remove(id);
    if (it == null) {
      return;
    }
    forget(it);
    count(it.phase, -1);
    done++;
    cycleDone++;
    bytes += Math.max(0, movedBytes);
    endCycleIfIdle(now);
  }

  /**
   * A fetch of the fragment from {@code source} failed (timed out, missing there, or a bad copy).
   *
   * @return whether this failure made the fragment LOST
   */
  public boolean failed(long now, FragmentId id, NodeId source) {
    Item it = items.get(id);
    if (it == null) {
      return false;
    }
    failed++;
    cycleFailed++;
    if (source != null && it.sources.remove(source)) {
      it.sources.add(source); // to the back: the next attempt asks the next source
    }
    return fail(now, it);
  }

  /** The fragment was not answered for want of room in a reply: ask again soon, no penalty. */
  public void deferred(long now, FragmentId id) {
    Item it = items.get(id);
    if (it != null && it.phase == Phase.IN_FLIGHT) {
      setPhase(it, it.attempts >= config.maxAttempts() ? Phase.LOST : Phase.QUEUED);
      schedule(it, now);
    }
  }

  /** Drops a fragment from the queue without counting it (it was deleted meanwhile). */
  public void cancel(long now, FragmentId id) {
    Item it = items.remove(id);
    if (it != null) {
      forget(it);
      count(it.phase, -1);
      endCycleIfIdle(now);
    }
  }

  private void forget(Item it) {
    if (it.own) {
      ownItems--;
    }
  }

  /** Drops every fragment of an owner (this node no longer holds for it). */
  public void cancelOwner(long now, NodeId owner) {
    for (FragmentId id : new ArrayList<>(items.keySet())) {
      if (items.get(id).owner.equals(owner)) {
        cancel(now, id);
      }
    }
  }

  /**
   * Adds sources to every queued fragment of an owner (its holders became known, or changed);
   * a LOST one given a new source is tried again at once.
   */
  public void addSources(long now, NodeId owner, Collection<NodeId> sources) {
    for (Item it : new ArrayList<>(items.values())) {
      if (it.owner.equals(owner)) {
        enqueue(now, it.id, owner, it.own, sources);
      }
    }
  }

  /** Failed attempts so far for a queued fragment (0 when not queued). */
  public int attempts(FragmentId id) {
    Item it = items.get(id);
    return it == null ? 0 : it.attempts;
  }

  /** The owner of a queued fragment, or null. */
  public NodeId owner(FragmentId id) {
    Item it = items.get(id);
    return it == null ? null : it.owner;
  }

  /** Whether any of this node's own fragments is queued, being fetched or LOST. */
  public boolean repairingOwn() {
    // Counted, not searched: placement asks on every tick while it keeps extra holders, and
    // a holder's queue can hold many thousands of other owners' fragments.
    return ownItems > 0;
  }

  /** Whether a fragment is queued, being fetched or LOST. */
  public boolean contains(FragmentId id) {
    return items.containsKey(id);
  }

  /** Where a fragment's repair stands, or null when it is not queued. */
  public Phase phase(FragmentId id) {
    Item it = items.get(id);
    return it == null ? null : it.phase;
  }

  /** The IDs in a phase (for status pages and tests). */
  public List<FragmentId> ids(Phase phase) {
    List<FragmentId> out = new ArrayList<>();
    for (Item it : items.values()) {
      if (it.phase == phase) {
        out.add(it.id);
      }
    }
    return out;
  }

  public Stats stats() {
    Cycle current = cycleStart < 0 ? null : new Cycle(cycleStart, -1, cycleDone, cycleFailed);
    return new Stats(queued, inFlight, lost, done, failed, bytes, lastCycle, current);
  }

  private boolean fail(long now, Item it) {
    it.attempts++;
    boolean becameLost = false;
    if (it.attempts >= config.maxAttempts()) {
      becameLost = it.attempts == config.maxAttempts();
      setPhase(it, Phase.LOST);
    } else {
      setPhase(it, Phase.QUEUED);
    }
    schedule(it, now + delay(it));
    endCycleIfIdle(now);
    return becameLost;
  }

  private long delay(Item it) {
    if (it.phase == Phase.LOST) {
      long d = config.lostRetryMillis();
      return d / 2 + (long) (random.nextDouble() * (d / 2 + 1));
    }
    int shift = Math.min(30, it.attempts - 1);
    long d = Math.min(config.backoffMaxMillis(), config.backoffBaseMillis() << shift);
    return d / 2 + (long) (random.nextDouble() * (d / 2 + 1));
  }

  private NodeId pick(Item it) {
    return it.sources.iterator().next();
  }

  private void schedule(Item it, long at) {
    it.stamp++;
    timeline.add(new Due(at, seq++, it.stamp, it.id));
  }

  private void setPhase(Item it, Phase p) {
    count(it.phase, -1);
    it.phase = p;
    count(p, 1);
  }

  private void count(Phase p, int delta) {
    switch (p) {
      case QUEUED -> queued += delta;
      case IN_FLIGHT -> inFlight += delta;
      case LOST -> lost += delta;
      default -> throw new IllegalStateException("unknown phase " + p);
    }
  }

  private void startCycle(long now) {
    if (cycleStart < 0) {
      cycleStart = now;
      cycleDone = 0;
      cycleFailed = 0;
    }
  }

  private void endCycleIfIdle(long now) {
    if (cycleStart >= 0 && queued == 0 && inFlight == 0) {
      lastCycle = new Cycle(cycleStart, now, cycleDone, cycleFailed);
      cycleStart = -1;
    }
  }
}
