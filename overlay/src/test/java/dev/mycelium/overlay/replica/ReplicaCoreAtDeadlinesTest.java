package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * Every rule of {@link ReplicaCoreTest} again with each node ticked only at its core's {@link
 * ReplicaCore#nextDeadline()} (spaced by a tick, as {@code NodeCore} spaces them), and what
 * that deadline says, input by input: an idle core sleeps until its next periodic event, a put
 * and a repair are due at once, a fetch no later than its expiry, and the scrub, woken only at
 * its own deadlines, checks every held replica once a pass.
 */
class ReplicaCoreAtDeadlinesTest extends ReplicaCoreTest {
  private static final ReplicaConfig FAST = ReplicaNetworkTest.FAST;

  @Override
  ReplicaNet newNet(long seed, int size) {
    return new ReplicaNet(FAST, seed, size, true);
  }

  /** Ticks a core alone at each of its deadlines up to {@code end}; returns the tick times. */
  private static List<Long> tickAtDeadlines(ReplicaCore core, long from, long end) {
    List<Long> ticks = new java.util.ArrayList<>();
    long now = from;
    while (core.nextDeadline() <= end) {
      now = Math.max(now, core.nextDeadline());
      core.tick(now);
      ticks.add(now);
    }
    return ticks;
  }

  @Test
  void anIdleCoreSleepsUntilItsNextAntiEntropyRound() {
    ReplicaConfig c = ReplicaConfig.DEFAULTS;
    ReplicaNet lone = new ReplicaNet(c, 51, 1);
    ReplicaCore core = lone.list().get(0).core;
    long start = lone.now;
    assertThat(core.nextDeadline()).as("the first scrub pass starts at once").isEqualTo(start);
    List<Long> ticks = tickAtDeadlines(core, start, start + 10 * 60_000);
    // After the first tick (the scrub's first pass, over nothing) and the first anti-entropy
    // round (at a random phase), nothing is due before the next round.
    for (int i = 2; i < ticks.size(); i++) {
      assertThat(ticks.get(i) - ticks.get(i - 1)).isEqualTo(c.antiEntropyIntervalMillis());
    }
    assertThat(ticks).hasSizeBetween(20, 22);
    assertThat(core.nextDeadline() - ticks.get(ticks.size() - 1))
        .isEqualTo(c.antiEntropyIntervalMillis());
  }

  @Test
  void aPutIsDueAtOnceAndTheTickAtThatDeadlineSendsItToEveryHolder() {
    a.write(0);
    net.run(2_000);
    List<NodeId> holders = a.core.holders();
    assertThat(holders).hasSize(3);
    assertThat(a.core.nextDeadline()).as("nothing pending").isGreaterThan(net.now);

    Fragment f = ReplicaNet.CODEC.create(a.keys, 1_700_000_000_001L, "a new note",
        new float[] {1, 2, 3, 4}, Map.of(), Visibility.SHARED);
    a.store.put(f);
    assertThat(a.core.put(net.now, f.id())).as("a put waits for the tick").isEmpty();
    assertThat(a.core.nextDeadline()).isEqualTo(net.now);

    List<ReplicaEffect> sent = a.core.tick(net.now);
    assertThat(sent).filteredOn(e -> e instanceof ReplicaEffect.Send s
            && s.envelope().hasReplicaPut()
            && s.envelope().getReplicaPut().getReplicasCount() == 1)
        .extracting(e -> ((ReplicaEffect.Send) e).to())
        .containsExactlyInAnyOrderElementsOf(holders);
    assertThat(a.core.nextDeadline()).as("then only the acks' expiry")
        .isGreaterThan(net.now).isLessThanOrEqualTo(net.now + 3 * FAST.fetchTimeoutMillis());
  }

  @Test
  void aRepairIsDueAtOnceAndItsFetchExpiresAtItsDeadlineNotBefore() {
    List<Fragment> fs = ReplicaNetworkTest.writeAll(net, a, 3);
    net.run(2_000);
    for (NodeId h : a.core.holders()) {
      net.partition(net.node(h));
    }
    Fragment f = fs.get(1);
    a.store.markBlank(f.id());
    assertThat(a.core.onBlank(net.now, f.id())).isEmpty();
    assertThat(a.core.nextDeadline()).isEqualTo(net.now);
    assertThat(a.core.tick(net.now)).anySatisfy(e -> assertThat(e)
        .isInstanceOfSatisfying(ReplicaEffect.Send.class,
            s -> assertThat(s.envelope().hasReplicaFetch()).isTrue()));
    long expiry = net.now + FAST.fetchTimeoutMillis();
    assertThat(a.core.nextDeadline()).isLessThanOrEqualTo(expiry);

    // Woken only at its deadlines, the core reports the timeout at the fetch's expiry.
    long now = net.now;
    while (true) {
      now = Math.max(now, a.core.nextDeadline());
      List<ReplicaEffect> out = a.core.tick(now);
      boolean timedOut = out.stream().anyMatch(e -> e instanceof ReplicaEffect.Report r
          && r.event() instanceof ReplicaEvent.RepairFailed rf && rf.id().equals(f.id()));
      if (timedOut) {
        assertThat(now).isEqualTo(expiry);
        break;
      }
      assertThat(now).isLessThan(expiry);
    }
  }

  @Test
  void theScrubChecksEveryHeldReplicaOnceAPassWhenWokenOnlyAtItsDeadlines() {
    List<Fragment> fs = ReplicaNetworkTest.writeAll(net, a, 40);
    net.run(2_000);
    ReplicaNet.Node h = net.node(a.core.holders().get(0));
    // The holder restarts over its stores with the shipped scrub pacing (a pass of 15 minutes
    // in steps at least 5 s apart: 40 replicas are one every 22.5 s); every replica read comes
    // from the scrub, since nobody else talks to it.
    ReplicaConfig c = ReplicaConfig.DEFAULTS.withDigestLeafBits(FAST.digestLeafBits());
    CountingHeld held = new CountingHeld(h.held);
    ReplicaCore core = new ReplicaCore(c, h.keys, h.address,
        new StoreOwnFragments(h.store, ReplicaNet.CODEC, h.keys.nodeId(), h.sealer), held,
        new SplittableRandom(7), net.now);
    held.reads.clear(); // loading counted every replica's bytes
    long start = net.now;
    List<Long> ticks = tickAtDeadlines(core, start, start + c.scrubPassMillis() - 1);

    assertThat(held.reads.keySet()).containsExactlyInAnyOrderElementsOf(
        fs.stream().map(Fragment::id).toList());
    assertThat(held.reads.values()).as("each once").containsOnly(1);
    // 40 steps and the anti-entropy rounds; a step every tick would have been 9,000 ticks.
    assertThat(ticks).hasSizeLessThanOrEqualTo(40 + 31);
    assertThat(core.nextDeadline()).as("the next pass starts one pass after this one")
        .isGreaterThanOrEqualTo(start + c.scrubPassMillis() - c.antiEntropyIntervalMillis());
    tickAtDeadlines(core, start + c.scrubPassMillis(), start + c.scrubPassMillis());
    assertThat(held.reads.values()).as("the second pass has begun").contains(2);
  }

  /** The holder's store, counting the reads of each replica. */
  private static final class CountingHeld implements HeldReplicas {
    final HeldReplicas store;
    final Map<FragmentId, Integer> reads = new HashMap<>();

    CountingHeld(HeldReplicas store) {
      this.store = store;
    }

    @Override
    public Optional<SignedReplica> replica(FragmentId id) {
      reads.merge(id, 1, Integer::sum);
      return store.replica(id);
    }

    @Override
    public Set<NodeId> owners() {
      return store.owners();
    }

    @Override
    public void forEach(NodeId owner, BiConsumer<FragmentId, Boolean> visitor) {
      store.forEach(owner, visitor);
    }

    @Override
    public Optional<NodeId> ownerOf(FragmentId id) {
      return store.ownerOf(id);
    }

    @Override
    public Optional<SignedTombstone> tombstone(FragmentId id) {
      return store.tombstone(id);
    }

    @Override
    public boolean putReplica(NodeId owner, FragmentId id, SignedReplica replica) {
      return store.putReplica(owner, id, replica);
    }

    @Override
    public void putTombstone(NodeId owner, FragmentId id, SignedTombstone tombstone) {
      store.putTombstone(owner, id, tombstone);
    }

    @Override
    public void remove(FragmentId id) {
      store.remove(id);
    }

    @Override
    public void dropOwner(NodeId owner) {
      store.dropOwner(owner);
    }

    @Override
    public Optional<SignedManifest> manifest(NodeId owner) {
      return store.manifest(owner);
    }

    @Override
    public void putManifest(NodeId owner, SignedManifest manifest) {
      store.putManifest(owner, manifest);
    }
  }
}
