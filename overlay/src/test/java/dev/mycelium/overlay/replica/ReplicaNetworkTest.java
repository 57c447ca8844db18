package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The test list on a simulated network (see {@link ReplicaNet}): replication, the
 * reference repair protocol, a killed holder, a wiped owner, a corrupt holder copy, a delete
 * while a holder is away, and a holder that forges.
 */
class ReplicaNetworkTest {
  /** Quick timings: a 2 s anti-entropy interval, a scrub pass of 3 s in steps of 100 ms. */
  static final ReplicaConfig FAST = new ReplicaConfig(3, 8, 2_000, 16, 64, 32, 1_000, 200,
      5_000, 5, 20_000, 200, 3_000, 600_000, 3_000, 100, 8, 500);

  private ReplicaNet net(long seed) {
    return net(seed, 8);
  }

  /** A network of {@code size} nodes with the {@link #FAST} timings, ticked every tick. */
  ReplicaNet net(long seed, int size) {
    return new ReplicaNet(FAST, seed, size);
  }

  static List<Fragment> writeAll(ReplicaNet net, ReplicaNet.Node owner, int count) {
    List<Fragment> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(owner.write(i));
    }
    return out;
  }

  /** Every holder of the owner keeps a verifying replica of every fragment. */
  static void assertFullyReplicated(ReplicaNet net, ReplicaNet.Node owner,
      List<Fragment> fragments) {
    List<NodeId> holders = owner.core.holders();
    assertThat(holders).hasSize(3).doesNotContain(owner.id());
    for (NodeId h : holders) {
      ReplicaNet.Node holder = net.node(h);
      assertThat(holder.up).isTrue();
      for (Fragment f : fragments) {
        Optional<SignedReplica> r = holder.held.replica(f.id());
        assertThat(r).as("replica of %s on %s", f.id(), h.shortString()).isPresent();
        assertThat(dev.mycelium.model.ReplicaCodec.sharedFragment(
            dev.mycelium.model.ReplicaCodec.verify(f.id(), r.get()))).isEqualTo(f.signed());
      }
    }
  }

  @Test
  void writesReachRHoldersAndAreAcknowledged() {
    ReplicaNet net = net(1);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 50);
    net.run(2_000);
    assertFullyReplicated(net, a, fs);
    for (Fragment f : fs) {
      assertThat(a.core.confirmations(f.id())).containsExactlyInAnyOrderElementsOf(a.core.holders());
    }
    assertThat(a.events(ReplicaEvent.WriteAcked.class)).hasSize(150);
    // Holders know each other from the manifest.
    for (NodeId h : a.core.holders()) {
      assertThat(net.node(h).core.manifestOf(a.id()).orElseThrow().holderIds())
          .containsExactlyElementsOf(a.core.holders());
    }
  }

  @Test
  void aBurstOfWritesTravelsAsOnePutPerHolderPerTick() {
    ReplicaNet net = net(9);
    ReplicaNet.Node a = net.list().get(0);
    writeAll(net, a, 1);
    net.run(2_000);
    List<Integer> batches = new ArrayList<>();
    a.tamper = (to, env) -> {
      if (env.hasReplicaPut()) {
        batches.add(env.getReplicaPut().getReplicasCount());
      }
      return env;
    };
    List<Fragment> burst = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      burst.add(a.write(i));
    }
    net.run(2_000);
    assertThat(batches).as("replicas per ReplicaPut sent").containsExactly(100, 100, 100);
    assertFullyReplicated(net, a, burst);
    for (Fragment f : burst) {
      assertThat(a.core.confirmations(f.id())).hasSize(3);
    }
  }

  @Test
  void referenceProtocolLosesNothingAndReadsNeverFail() {
    ReplicaNet net = net(2);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 300);
    net.run(3_000);
    // Delete 5 to 10% of the owner's fragments at random: half lose their bytes outright,
    // half rot on disk and are caught by a read.
    int lose = 15 + net.random.nextInt(16);
    Set<Fragment> lost = new HashSet<>();
    while (lost.size() < lose) {
      lost.add(fs.get(net.random.nextInt(fs.size())));
    }
    int i = 0;
    for (Fragment f : lost) {
      if (i++ % 2 == 0) {
        a.store.markBlank(f.id());
      } else {
        a.store.corruptForTest(f.id());
      }
    }
    // 1,000 lookups during the loss: none fails, lost ones come back flagged BLANK.
    int blankHits = 0;
    for (int q = 0; q < 1000; q++) {
      Fragment f = fs.get(net.random.nextInt(fs.size()));
      StoredFragment got = a.store.get(f.id()).orElseThrow();
      if (got.state() == FragmentState.BLANK) {
        blankHits++;
        assertThat(lost).contains(f);
        assertThat(got.fragment()).isEmpty();
        net.apply(a, a.core.onBlank(net.now, f.id()));
      } else {
        assertThat(got.state()).isEqualTo(FragmentState.PRESENT);
        assertThat(got.fragment().orElseThrow().signed()).isEqualTo(f.signed());
      }
    }
    assertThat(blankHits).isPositive();
    // The reads found some; the rest are found when the node checks everything (its scrubber).
    for (Fragment f : lost) {
      if (a.store.check(f.id()) != FragmentState.PRESENT) {
        net.apply(a, a.core.onBlank(net.now, f.id()));
      }
    }
    assertThat(a.core.status().queueLength()).isEqualTo(lose);
    net.run(10_000);
    for (Fragment f : fs) {
      StoredFragment got = a.store.get(f.id()).orElseThrow();
      assertThat(got.state()).isEqualTo(FragmentState.PRESENT);
      assertThat(got.fragment().orElseThrow().signed().toByteArray())
          .isEqualTo(f.signed().toByteArray());
    }
    ReplicaStatus s = a.core.status();
    assertThat(s.queueLength()).isZero();
    assertThat(s.repairsDone()).isEqualTo(lose);
    assertThat(s.bytesMoved()).isPositive();
    assertThat(s.lastCycle()).isNotNull();
    assertThat(s.lastCycle().repaired()).isEqualTo(lose);
    assertThat(a.events(ReplicaEvent.Repaired.class)).hasSize(lose)
        .allSatisfy(r -> assertThat(a.core.holders()).contains(r.from()));
  }

  @Test
  void aKilledHolderIsReplacedAndTheReplicationFactorIsWholeAgain() {
    ReplicaNet net = net(3);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 120);
    net.run(2_000);
    List<NodeId> before = a.core.holders();
    ReplicaNet.Node victim = net.node(before.get(1));
    net.kill(victim);
    net.run(5_000);
    List<NodeId> after = a.core.holders();
    assertThat(after).hasSize(3).doesNotContain(victim.id());
    // Minimal movement: the two survivors stay.
    assertThat(after).contains(before.get(0), before.get(2));
    assertFullyReplicated(net, a, fs);
    assertThat(a.events(ReplicaEvent.HoldersChanged.class)).last()
        .satisfies(h -> assertThat(h.removed()).containsExactly(victim.id()));
  }

  @Test
  void aWipedNodeRestoresEveryFragmentAndEveryDelete() {
    ReplicaNet net = net(4);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 200);
    net.run(2_000);
    Fragment gone = fs.get(7);
    SignedTombstone t = ReplicaNet.CODEC.tombstone(a.keys, gone.id(), net.now - 1_000);
    a.store.delete(gone.id(), t);
    net.apply(a, a.core.delete(net.now, gone.id(), t));
    net.run(2_000);
    List<NodeId> holders = a.core.holders();
    // The disk is gone; the identity is kept.
    a.fresh();
    assertThat(a.store.stats().entries()).isZero();
    net.refreshViews();
    net.apply(a, a.core.restore(net.now));
    net.run(20_000);
    assertThat(a.core.holders()).containsExactlyElementsOf(holders);
    for (Fragment f : fs) {
      StoredFragment got = a.store.get(f.id()).orElseThrow();
      if (f == gone) {
        assertThat(got.state()).isEqualTo(FragmentState.DELETED);
      } else {
        assertThat(got.state()).as("fragment %s", f.id()).isEqualTo(FragmentState.PRESENT);
        assertThat(got.fragment().orElseThrow().signed()).isEqualTo(f.signed());
      }
    }
    assertThat(a.events(ReplicaEvent.RestoreOffered.class)).isNotEmpty();
    assertThat(a.core.status().queueLength()).isZero();
  }

  @Test
  void aWipedNodeWithNoNeighbourHoldingItFindsItsHoldersByBroadcast() {
    ReplicaNet net = net(5);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 40);
    net.run(2_000);
    a.fresh();
    // No candidates at all: only the broadcast reaches the holders.
    net.apply(a, a.core.restore(net.now));
    assertThat(a.events(ReplicaEvent.RestoreStarted.class)).last()
        .satisfies(r -> assertThat(r.neighboursAsked()).isZero());
    net.run(15_000);
    for (Fragment f : fs) {
      assertThat(a.store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
    }
  }

  @Test
  void aCorruptHolderCopyIsFoundByTheScrubAndRepairedFromAnotherHolder() {
    ReplicaNet net = net(6);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 60);
    net.run(2_000);
    ReplicaNet.Node h = net.node(a.core.holders().get(0));
    Fragment f = fs.get(11);
    h.held.corruptForTest(f.id());
    net.run(6_000);
    assertThat(h.events(ReplicaEvent.ScrubFailed.class)).extracting(ReplicaEvent.ScrubFailed::id)
        .containsExactly(f.id());
    assertThat(h.events(ReplicaEvent.Repaired.class)).singleElement().satisfies(r -> {
      assertThat(r.id()).isEqualTo(f.id());
      assertThat(r.own()).isFalse();
      assertThat(r.from()).isNotEqualTo(h.id());
    });
    assertFullyReplicated(net, a, fs);
  }

  /**
   * A held copy whose bytes stop reading (the store turned it BLANK, or dropped a record it
   * could not read) is still listed in the holder's digest, so the owner's anti-entropy sees
   * nothing missing: the holder's own scrub must notice and fetch it again.
   */
  @Test
  void holderCopiesWhoseBytesStopReadingAreFetchedAgainByTheScrub() {
    ReplicaNet net = net(6);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 60);
    net.run(2_000);
    ReplicaNet.Node h = net.node(a.core.holders().get(0));
    Fragment blanked = fs.get(11);
    Fragment lost = fs.get(23);
    h.held.blankForTest(blanked.id());
    h.held.loseForTest(lost.id());
    net.run(6_000);
    assertThat(h.events(ReplicaEvent.ScrubFailed.class)).extracting(ReplicaEvent.ScrubFailed::id)
        .containsExactlyInAnyOrder(blanked.id(), lost.id());
    assertThat(h.events(ReplicaEvent.Repaired.class)).extracting(ReplicaEvent.Repaired::id)
        .containsExactlyInAnyOrder(blanked.id(), lost.id());
    assertFullyReplicated(net, a, fs);
  }

  /** The store's own finding is acted on at once, without waiting for the scrub's pass. */
  @Test
  void aHeldCopyTheStoreFoundBlankIsFetchedAgainAtOnce() {
    ReplicaNet net = net(6);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 60);
    net.run(2_000);
    ReplicaNet.Node h = net.node(a.core.holders().get(0));
    Fragment blanked = fs.get(11);
    h.held.blankForTest(blanked.id());
    net.apply(h, h.core.onHeldBlank(net.now, blanked.id(), a.id()));
    // Not listed for that owner: ignored.
    net.apply(h, h.core.onHeldBlank(net.now, fs.get(12).id(), h.id()));
    net.run(500);
    assertThat(h.events(ReplicaEvent.Repaired.class)).extracting(ReplicaEvent.Repaired::id)
        .containsExactly(blanked.id());
    assertThat(h.events(ReplicaEvent.ScrubFailed.class)).extracting(ReplicaEvent.ScrubFailed::id)
        .containsExactly(blanked.id());
    assertFullyReplicated(net, a, fs);
  }

  /**
   * A holder that left, and was replaced while it was away, still holds its copies and its old
   * manifest when it comes back on its own files. Even when the other holders restarted in the
   * meantime (forgetting whom they saw dropped), it learns the current manifest and lets the
   * copies go, so a churned network does not keep more than R copies.
   */
  @Test
  void aHolderReplacedWhileItWasAwayLetsGoWhenItReturnsAfterTheOtherHoldersRestarted() {
    ReplicaNet net = net(13);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 20);
    net.run(2_000);
    ReplicaNet.Node away = net.node(a.core.holders().get(0));
    assertThat(away.held.size()).isEqualTo(fs.size());
    net.partition(away);
    for (ReplicaNet.Node n : net.list()) {
      if (n != away) {
        net.apply(n, n.core.onOverlayEvent(net.now,
            new dev.mycelium.overlay.OverlayEvent.Left(away.id())));
      }
    }
    net.refreshViews();
    net.run(2_000);
    assertThat(a.core.holders()).as("replaced while away").hasSize(3)
        .doesNotContain(away.id());
    for (ReplicaNet.Node n : net.list()) {
      if (n != away && n != a) {
        n.restart();
      }
    }
    away.restart();
    net.heal(away);
    net.refreshViews();
    net.run(4 * FAST.antiEntropyIntervalMillis());
    assertThat(away.events(ReplicaEvent.Released.class)).extracting(ReplicaEvent.Released::owner)
        .contains(a.id());
    assertThat(away.held.size()).as("copies still held by the replaced holder").isZero();
    assertFullyReplicated(net, a, fs);
    // Told once per manifest version: repeating its digest gets the former holder nothing more.
    Envelope roots = Envelope.newBuilder().setDigestRoots(
        dev.mycelium.wire.proto.DigestRoots.newBuilder().addRoots(
            dev.mycelium.wire.proto.OwnerRoot.newBuilder()
                .setOwnerId(com.google.protobuf.ByteString.copyFrom(a.id().toBytes()))
                .setRoot(com.google.protobuf.ByteString.copyFrom(new byte[16])))).build();
    assertThat(a.core.onMessage(net.now, away.id(), roots)).isEmpty();
  }

  /**
   * A put the owner sent before it dropped a holder can arrive after the manifest that drops
   * it (a put still in flight, or the owner's stream a moment behind). Having let the owner's
   * copies go, the holder must not take that put's older manifest as consent again and keep a
   * copy no manifest lists.
   */
  @Test
  void aPutThatArrivesAfterTheDropDoesNotMakeTheHolderHoldAgain() {
    ReplicaNet net = net(14);
    ReplicaNet.Node a = net.list().get(0);
    List<Envelope> putsToFirst = new ArrayList<>();
    List<Fragment> fs = new ArrayList<>();
    fs.add(a.write(1));
    net.run(1_000);
    ReplicaNet.Node dropped = net.node(a.core.holders().get(0));
    a.tamper = (to, env) -> {
      if (to.equals(dropped.id()) && env.hasReplicaPut()) {
        putsToFirst.add(env);
      }
      return env;
    };
    for (int i = 2; i <= 5; i++) {
      fs.add(a.write(i));
    }
    net.run(1_000);
    a.tamper = null;
    assertThat(putsToFirst).as("puts seen on their way to the holder").isNotEmpty();
    // The owner hears the holder left (it did not) and drops it; the holder is told.
    net.apply(a, a.core.onOverlayEvent(net.now,
        new dev.mycelium.overlay.OverlayEvent.Left(dropped.id())));
    net.run(1_000);
    assertThat(a.core.holders()).doesNotContain(dropped.id());
    assertThat(dropped.events(ReplicaEvent.Released.class)).extracting(ReplicaEvent.Released::owner)
        .containsExactly(a.id());
    assertThat(dropped.held.size()).isZero();
    // The old put arrives late.
    net.apply(dropped, dropped.core.onMessage(net.now, a.id(), putsToFirst.get(0)));
    net.run(1_000);
    assertThat(dropped.held.size()).as("copies taken from a put older than the drop").isZero();
    assertThat(dropped.held.manifest(a.id())).isEmpty();
  }

  /** The owner restarts over its stores before its next tick; three anti-entropy rounds run. */
  private static void restartAndRunAntiEntropy(ReplicaNet net, ReplicaNet.Node owner) {
    owner.restart();
    net.refreshViews();
    net.run(3 * FAST.antiEntropyIntervalMillis());
  }

  /**
   * A put still waiting for the tick that sends it is in the owner's memory only: when the
   * owner restarts before that tick, anti-entropy with its holders must place it.
   */
  @Test
  void aFragmentPutJustBeforeTheOwnerRestartsStillReachesItsHolders() {
    ReplicaNet net = net(11);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 10);
    net.run(2_000);
    assertFullyReplicated(net, a, fs);
    Fragment late = a.write(99);
    restartAndRunAntiEntropy(net, a);
    List<Fragment> all = new ArrayList<>(fs);
    all.add(late);
    assertFullyReplicated(net, a, all);
  }

  /**
   * The churn scenario's finding, in the core: the owner has chosen its holders (they hold its
   * manifest) but its first puts never left before it restarted. Anti-entropy finds the
   * holders lacking them and they fetch them; a holder with no digest of the owner yet used
   * to drop what it fetched, so the digests never converged.
   */
  @Test
  void anOwnerWhoseFirstPutsNeverLeftStillReachesItsHoldersAfterARestart() {
    ReplicaNet net = net(11);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 5);
    restartAndRunAntiEntropy(net, a);
    for (NodeId h : a.core.holders()) {
      assertThat(net.node(h).core.manifestOf(a.id())).isPresent();
    }
    assertFullyReplicated(net, a, fs);
  }

  @Test
  void aDeleteWhileAHolderIsAwayStaysDeletedWhenItComesBack() {
    ReplicaNet net = net(7);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 80);
    net.run(2_000);
    ReplicaNet.Node away = net.node(a.core.holders().get(2));
    net.partition(away);
    Fragment f = fs.get(3);
    SignedTombstone t = ReplicaNet.CODEC.tombstone(a.keys, f.id(), net.now);
    a.store.delete(f.id(), t);
    net.apply(a, a.core.delete(net.now, f.id(), t));
    net.run(2_000);
    assertThat(away.held.replica(f.id())).isPresent();
    net.heal(away);
    net.run(8_000);
    assertThat(away.held.replica(f.id())).isEmpty();
    assertThat(away.held.tombstone(f.id())).contains(t);
    for (ReplicaNet.Node n : net.list()) {
      assertThat(n.held.replica(f.id())).as("live copy on %s", n.address.host()).isEmpty();
    }
    assertThat(a.store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
    // Everyone agrees after the next rounds: the digests match.
    for (NodeId h : a.core.holders()) {
      assertThat(net.node(h).core.digestOf(a.id()).root()).isEqualTo(a.core.digestOf(a.id()).root());
    }
  }

  @Test
  void aForgingHolderIsRejectedPenalizedAndTheFragmentRepairedFromAnother() {
    ReplicaNet net = net(8);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 30);
    net.run(2_000);
    List<NodeId> holders = a.core.holders();
    ReplicaNet.Node forger = net.node(holders.get(0));
    forger.tamper = (to, env) -> {
      if (!env.hasReplicaFetchReply()) {
        return env;
      }
      var b = env.getReplicaFetchReply().toBuilder();
      for (int i = 0; i < b.getReplicasCount(); i++) {
        byte[] body = b.getReplicas(i).getBody().toByteArray();
        body[body.length - 5] ^= 0x40;
        b.setReplicas(i, b.getReplicas(i).toBuilder().setBody(ByteString.copyFrom(body)));
      }
      return Envelope.newBuilder().setReplicaFetchReply(b).build();
    };
    List<Fragment> lost = fs.subList(0, 6);
    for (Fragment f : lost) {
      a.store.markBlank(f.id());
      net.apply(a, a.core.onBlank(net.now, f.id()));
    }
    net.run(10_000);
    for (Fragment f : lost) {
      assertThat(a.store.get(f.id()).orElseThrow().fragment().orElseThrow().signed())
          .isEqualTo(f.signed());
    }
    assertThat(net.penalties).isNotEmpty().allSatisfy(p -> {
      assertThat(p.peer()).isEqualTo(forger.id());
      assertThat(p.points()).isEqualTo(PeerScores.BAD_SIGNATURE);
    });
    assertThat(a.events(ReplicaEvent.ForgedReplica.class)).isNotEmpty();
    assertThat(a.events(ReplicaEvent.Repaired.class)).hasSize(lost.size())
        .allSatisfy(r -> assertThat(r.from()).isNotEqualTo(forger.id()));
  }

  @Test
  void aBlankReadFetchesAtOnceFromAHolder() {
    ReplicaNet net = net(9);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 10);
    net.run(2_000);
    Fragment f = fs.get(4);
    a.store.markBlank(f.id());
    net.apply(a, a.core.fetchNow(net.now, f.id(), net.now + 500));
    net.run(200);
    assertThat(a.store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
    assertThat(a.events(ReplicaEvent.Repaired.class)).extracting(ReplicaEvent.Repaired::id)
        .containsExactly(f.id());
    assertThat(a.events(ReplicaEvent.FetchTimedOut.class)).isEmpty();
  }

  @Test
  void aBlankReadWithEveryHolderDownTimesOutAndStaysQueued() {
    ReplicaNet net = net(10);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 10);
    net.run(2_000);
    for (NodeId h : a.core.holders()) {
      net.partition(net.node(h));
    }
    Fragment f = fs.get(2);
    a.store.markBlank(f.id());
    net.apply(a, a.core.fetchNow(net.now, f.id(), net.now + 300));
    net.run(400);
    assertThat(a.events(ReplicaEvent.FetchTimedOut.class)).extracting(ReplicaEvent.FetchTimedOut::id)
        .containsExactly(f.id());
    assertThat(a.store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(a.core.repairPhase(f.id())).isNotNull();
  }

  @Test
  void withEveryHolderGoneAFragmentBecomesLostAndComesBackWhenOneReturns() {
    ReplicaNet net = net(11);
    ReplicaNet.Node a = net.list().get(0);
    List<Fragment> fs = writeAll(net, a, 5);
    net.run(2_000);
    List<NodeId> holders = a.core.holders();
    for (NodeId h : holders) {
      net.partition(net.node(h));
    }
    Fragment f = fs.get(1);
    a.store.markBlank(f.id());
    net.apply(a, a.core.onBlank(net.now, f.id()));
    net.run(60_000);
    assertThat(a.core.repairPhase(f.id())).isEqualTo(RepairScheduler.Phase.LOST);
    assertThat(a.events(ReplicaEvent.Lost.class)).extracting(ReplicaEvent.Lost::id)
        .containsExactly(f.id());
    assertThat(a.core.status().lost()).isEqualTo(1);
    net.heal(net.node(holders.get(0)));
    net.run(60_000);
    assertThat(a.store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
    assertThat(a.core.status().lost()).isZero();
  }

  @Test
  void aRunReplaysExactlyFromItsSeed() {
    long[] first = runOnce(12);
    long[] second = runOnce(12);
    assertThat(second).isEqualTo(first);
  }

  private long[] runOnce(long seed) {
    ReplicaNet net = net(seed);
    ReplicaNet.Node a = net.list().get(0);
    writeAll(net, a, 20);
    net.run(1_000);
    net.kill(net.node(a.core.holders().get(0)));
    net.run(4_000);
    return new long[] {net.messages, net.bytes, net.now};
  }

  @Test
  void underChurnEveryOwnerKeepsRWholeCopies() {
    ReplicaNet net = net(13, 10);
    List<ReplicaNet.Node> owners = net.list().subList(0, 2);
    java.util.Map<ReplicaNet.Node, List<Fragment>> written = new java.util.HashMap<>();
    owners.forEach(o -> written.put(o, new ArrayList<>()));
    List<ReplicaNet.Node> killable = new ArrayList<>(net.list().subList(2, 10));
    int n = 0;
    for (int round = 0; round < 4; round++) {
      for (int i = 0; i < 15; i++, n++) {
        for (ReplicaNet.Node o : owners) {
          written.get(o).add(o.write(n));
        }
        net.run(100);
      }
      // A holder of one owner or the other crashes.
      ReplicaNet.Node victim = net.node(owners.get(round % 2).core.holders().get(0));
      assertThat(killable).contains(victim);
      killable.remove(victim);
      net.kill(victim);
      net.run(2_000);
    }
    net.run(8_000);
    for (ReplicaNet.Node o : owners) {
      assertFullyReplicated(net, o, written.get(o));
    }
  }
}
