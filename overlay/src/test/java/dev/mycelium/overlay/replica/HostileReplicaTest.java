package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.DigestIds;
import dev.mycelium.wire.proto.DigestRoots;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.OwnerRoot;
import dev.mycelium.wire.proto.ReplicaAck;
import dev.mycelium.wire.proto.ReplicaFetch;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Replication peers that speak the protocol correctly and lie: each test plays one attack on
 * an honest node's {@link ReplicaCore} and checks that what the liar can make it hold or do
 * stays bounded.
 */
class HostileReplicaTest {
  private final ReplicaNet net = new ReplicaNet(ReplicaNetworkTest.FAST, 77, 6);
  private final ReplicaNet.Node owner = net.list().get(0);

  private static byte[] randomIds(SplittableRandom random, int count) {
    byte[] b = new byte[count * 32];
    random.nextBytes(b);
    return b;
  }

  private Envelope ids(NodeId about, byte[] live) {
    return Envelope.newBuilder().setDigestIds(DigestIds.newBuilder()
        .setOwnerId(ByteString.copyFrom(about.toBytes()))
        .setLiveIds(ByteString.copyFrom(live))).build();
  }

  private ReplicaNet.Node stranger() {
    return net.list().stream().filter(n -> n != owner && !owner.core.holders().contains(n.id()))
        .findFirst().orElseThrow();
  }

  private List<Fragment> settle(int writes) {
    List<Fragment> fs = new ArrayList<>();
    for (int i = 0; i < writes; i++) {
      fs.add(owner.write(i));
    }
    net.run(2_000);
    assertThat(owner.core.holders()).hasSize(3);
    return fs;
  }

  @Test
  void sixtyThousandMadeUpIdsFromAStrangerLeaveTheOwnersStoreUnchanged() {
    settle(5);
    long before = owner.store.stats().entries();
    ReplicaNet.Node liar = stranger();
    SplittableRandom random = new SplittableRandom(1);
    List<ReplicaEffect> effects = new ArrayList<>();
    // The attack: three messages naming 60,000 random IDs as the node's own.
    for (int m = 0; m < 3; m++) {
      effects.addAll(owner.core.onMessage(net.now, liar.id(),
          ids(owner.id(), randomIds(random, 20_000))));
    }
    // And the same within the per-message cap, many times over.
    for (int m = 0; m < 15; m++) {
      effects.addAll(owner.core.onMessage(net.now, liar.id(),
          ids(owner.id(), randomIds(random, 4096))));
    }
    net.apply(owner, effects);
    net.run(5_000);
    assertThat(owner.store.stats().entries()).isEqualTo(before);
    assertThat(owner.core.status().queueLength()).isZero();
    assertThat(effects).filteredOn(ReplicaEffect.Send.class::isInstance).isEmpty();
    assertThat(effects).filteredOn(ReplicaEffect.Penalize.class::isInstance)
        .as("oversized messages are malformed").hasSize(3)
        .allSatisfy(e -> assertThat(((ReplicaEffect.Penalize) e).points())
            .isEqualTo(PeerScores.MALFORMED));
  }

  @Test
  void aLyingHolderOutsideARestoreCannotCreatePlaceholdersOnlyBoundedProbes() {
    settle(5);
    long before = owner.store.stats().entries();
    ReplicaNet.Node holder = net.node(owner.core.holders().get(0));
    SplittableRandom random = new SplittableRandom(2);
    for (int m = 0; m < 15; m++) {
      net.apply(owner, owner.core.onMessage(net.now, holder.id(),
          ids(owner.id(), randomIds(random, 4096))));
    }
    long sentBefore = net.messages;
    net.run(5_000);
    assertThat(owner.store.stats().entries()).isEqualTo(before);
    assertThat(owner.core.status().queueLength()).isZero();
    // Probes are fetches of at most fetchBatch IDs; their number is bounded by the pending cap.
    long probes = (ReplicaCore.MAX_PENDING_PROBES + ReplicaCore.MAX_PROBES_IN_FLIGHT)
        / ReplicaNetworkTest.FAST.fetchBatch();
    assertThat(net.messages - sentBefore).isLessThan(2 * probes + 200);
  }

  @Test
  void duringARestoreOneHolderAloneCannotCreatePlaceholders() {
    RestoredOnce r = restoredOnce();
    List<Fragment> fs = r.fragments();
    List<NodeId> holders = r.holders();
    for (Fragment f : fs) {
      assertThat(owner.store.get(f.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
    }
    // Start another restore and have one holder lie about 4,096 IDs.
    net.apply(owner, owner.core.restore(net.now));
    byte[] fake = randomIds(new SplittableRandom(3), 4096);
    net.apply(owner, owner.core.onMessage(net.now, holders.get(0), ids(owner.id(), fake)));
    net.run(10_000);
    assertThat(owner.store.stats().entries()).isEqualTo(fs.size());
  }

  // ---- manifests, consent and quotas ----

  private static OwnerKeys identity(int n) {
    byte[] seed = new byte[32];
    seed[0] = (byte) n;
    seed[1] = (byte) (n >> 8);
    seed[30] = 7;
    return OwnerKeys.fromSeed(seed);
  }

  private static PeerAddress address(OwnerKeys k) {
    return new PeerAddress(k.nodeId(), "10.9.0.1", 7000);
  }

  /** A node with its own limits, driven message by message. */
  private static ReplicaCore victim(ReplicaLimits limits, InMemoryHeldReplicas held) {
    return victim(limits, held, ReplicaVerifier.IN_ORDER);
  }

  private static ReplicaCore victim(ReplicaLimits limits, InMemoryHeldReplicas held,
      ReplicaVerifier verifier) {
    OwnerKeys k = identity(999);
    InMemoryFragmentStore store = new InMemoryFragmentStore(ReplicaNet.CODEC, Long.MAX_VALUE,
        () -> 0L);
    return new ReplicaCore(ReplicaNetworkTest.FAST, limits, k, address(k),
        new StoreOwnFragments(store, ReplicaNet.CODEC, k.nodeId(), ReplicaSealer.sharedOnly(k)),
        held, new SplittableRandom(5), new byte[32], verifier, 0);
  }

  private static Envelope manifestUpdate(Manifest m) {
    return Envelope.newBuilder().setManifestUpdate(ManifestUpdate.newBuilder()
        .setManifest(m.signed())).build();
  }

  private static SignedReplica replica(OwnerKeys owner, int n, int textBytes) {
    Fragment f = ReplicaNet.CODEC.create(owner, 1_700_000_000_000L + n, "x".repeat(textBytes)
        + n, new float[] {n, 1, 2, 3}, Map.of(), Visibility.SHARED);
    return ReplicaCodec.shared(owner, f.signed());
  }

  /** A put of {@code count} of x's replicas under x's manifest naming {@code holder}. */
  private static ReplicaPut.Builder put(OwnerKeys x, OwnerKeys holder, long requestId, int count,
      int textBytes) {
    Manifest m = Manifest.sign(x, 1, List.of(address(holder)), 1);
    ReplicaPut.Builder put = ReplicaPut.newBuilder().setManifest(m.signed())
        .setRequestId(requestId);
    for (int i = 0; i < count; i++) {
      put.addReplicas(replica(x, i, textBytes));
    }
    return put;
  }

  private static List<FragmentId> ackIds(List<ReplicaEffect> effects, boolean stored) {
    ReplicaAck ack = effects.stream().filter(ReplicaEffect.Send.class::isInstance)
        .map(e -> ((ReplicaEffect.Send) e).envelope()).filter(Envelope::hasReplicaAck)
        .findFirst().orElseThrow().getReplicaAck();
    byte[] b = (stored ? ack.getStored() : ack.getRefused()).toByteArray();
    List<FragmentId> out = new ArrayList<>();
    for (int i = 0; i < b.length; i += 32) {
      out.add(FragmentId.of(java.util.Arrays.copyOfRange(b, i, i + 32)));
    }
    return out;
  }

  @Test
  void aManifestNamingMoreThanSixteenHoldersIsMalformed() {
    InMemoryHeldReplicas held = new InMemoryHeldReplicas();
    ReplicaCore v = victim(ReplicaLimits.DEFAULTS, held);
    OwnerKeys x = identity(1);
    List<PeerAddress> holders = new ArrayList<>();
    holders.add(address(identity(999)));
    for (int i = 0; i < 16; i++) {
      holders.add(address(identity(100 + i)));
    }
    // Signed by hand: Manifest.sign itself refuses the list.
    dev.mycelium.wire.proto.ManifestBody.Builder b = dev.mycelium.wire.proto.ManifestBody
        .newBuilder().setOwnerPublicKey(ByteString.copyFrom(x.publicKey())).setVersion(1)
        .setReplicationFactor(17);
    for (PeerAddress h : holders) {
      b.addHolders(dev.mycelium.wire.proto.ReplicaHolder.newBuilder()
          .setNodeId(ByteString.copyFrom(h.id().toBytes())).setHost(h.host()).setPort(h.port()));
    }
    byte[] body = dev.mycelium.wire.Canonical.encode(b.build());
    Envelope env = Envelope.newBuilder().setManifestUpdate(ManifestUpdate.newBuilder()
        .setManifest(dev.mycelium.wire.proto.SignedManifest.newBuilder()
            .setBody(ByteString.copyFrom(body))
            .setSignature(ByteString.copyFrom(x.sign(dev.mycelium.wire.Canonical.sha256(body))))))
        .build();
    assertThat(v.onMessage(0, x.nodeId(), env)).singleElement()
        .isInstanceOf(ReplicaEffect.Penalize.class);
    assertThat(v.manifestOf(x.nodeId())).isEmpty();
    assertThat(held.owners()).isEmpty();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Manifest.sign(x, 1, holders, 3))
        .hasMessageContaining("at most 16");
  }

  @Test
  void aManifestRelayedBySomeoneOtherThanItsOwnerOrAKnownHolderIsIgnored() {
    ReplicaCore v = victim(ReplicaLimits.DEFAULTS, new InMemoryHeldReplicas());
    OwnerKeys x = identity(1);
    OwnerKeys stranger = identity(2);
    Manifest m = Manifest.sign(x, 1, List.of(address(identity(999)), address(identity(3))), 2);
    assertThat(v.onMessage(0, stranger.nodeId(), manifestUpdate(m))).isEmpty();
    assertThat(v.manifestOf(x.nodeId())).isEmpty();
    v.onMessage(0, x.nodeId(), manifestUpdate(m));
    assertThat(v.manifestOf(x.nodeId()).orElseThrow().version()).isEqualTo(1);
    // A newer one from a holder the known manifest names is taken; from the stranger it is not.
    Manifest newer = Manifest.sign(x, 2, List.of(address(identity(999)),
        address(stranger)), 2);
    v.onMessage(0, stranger.nodeId(), manifestUpdate(newer));
    assertThat(v.manifestOf(x.nodeId()).orElseThrow().version()).isEqualTo(1);
    v.onMessage(0, identity(3).nodeId(), manifestUpdate(newer));
    assertThat(v.manifestOf(x.nodeId()).orElseThrow().version()).isEqualTo(2);
  }

  @Test
  void aHolderHoldsForAtMostMaxHeldOwnersAndRefusesTheRest() {
    InMemoryHeldReplicas held = new InMemoryHeldReplicas();
    ReplicaCore v = victim(ReplicaLimits.DEFAULTS.withQuotas(4, 1000, 1L << 20), held);
    int accepted = 0;
    for (int i = 0; i < 10; i++) {
      OwnerKeys x = identity(10 + i);
      Manifest m = Manifest.sign(x, 1, List.of(address(identity(999))), 1);
      List<ReplicaEffect> effects = v.onMessage(0, x.nodeId(), Envelope.newBuilder()
          .setReplicaPut(ReplicaPut.newBuilder().setManifest(m.signed()).setRequestId(i)
              .addReplicas(replica(x, 1, 10))).build());
      if (ackIds(effects, true).size() == 1) {
        accepted++;
      } else {
        assertThat(ackIds(effects, false)).hasSize(1);
      }
    }
    assertThat(accepted).isEqualTo(4);
    assertThat(held.owners()).hasSize(4);
    assertThat(v.status().heldOwners()).isEqualTo(4);
  }

  @Test
  void perOwnerQuotasInEntriesAndBytesAndTheReplicaSizeCapAreKept() {
    InMemoryHeldReplicas held = new InMemoryHeldReplicas();
    ReplicaLimits limits = new ReplicaLimits(8, 10, 4_000, 1_000, 1L << 20);
    ReplicaCore v = victim(limits, held);
    OwnerKeys x = identity(1);
    ReplicaPut.Builder put = put(x, identity(999), 1, 30, 10);
    List<ReplicaEffect> effects = v.onMessage(0, x.nodeId(),
        Envelope.newBuilder().setReplicaPut(put).build());
    assertThat(ackIds(effects, true)).hasSize(10);
    assertThat(ackIds(effects, false)).hasSize(20);
    assertThat(v.digestOf(x.nodeId()).size()).isEqualTo(10);
    // Bytes: another owner's replicas of about 300 bytes fill 4,000 bytes well before 10 entries.
    OwnerKeys y = identity(2);
    ReplicaPut.Builder big = put(y, identity(999), 2, 10, 300);
    big.addReplicas(replica(y, 99, 2_000)); // over the 1,000-byte replica cap
    effects = v.onMessage(0, y.nodeId(), Envelope.newBuilder().setReplicaPut(big).build());
    long kept = 0;
    for (FragmentId id : ackIds(effects, true)) {
      kept += held.replica(id).orElseThrow().getSerializedSize();
    }
    assertThat(kept).isLessThanOrEqualTo(4_000).isPositive();
    assertThat(ackIds(effects, true).size()).isLessThan(10);
    assertThat(ackIds(effects, false)).hasSize(11 - ackIds(effects, true).size());
    assertThat(effects).noneMatch(ReplicaEffect.Penalize.class::isInstance);
  }

  @Test
  void aPutFromAnOwnerThisNodeDoesNotHoldForCostsNoReplicaCheck() {
    AtomicInteger checked = new AtomicInteger();
    ReplicaVerifier counting = replicas -> {
      checked.addAndGet(replicas.size());
      return ReplicaVerifier.IN_ORDER.verifyAll(replicas);
    };
    InMemoryHeldReplicas held = new InMemoryHeldReplicas();
    ReplicaCore v = victim(ReplicaLimits.DEFAULTS, held, counting);
    OwnerKeys x = identity(3);
    // A valid manifest of x's, naming another node: the victim has no part in it.
    ReplicaPut.Builder put = put(x, identity(998), 1, 64, 10);
    List<ReplicaEffect> effects = v.onMessage(0, x.nodeId(),
        Envelope.newBuilder().setReplicaPut(put).build());
    assertThat(checked).hasValue(0);
    assertThat(ackIds(effects, false)).hasSize(64);
    assertThat(held.owners()).doesNotContain(x.nodeId());
  }

  @Test
  void whatAPutLeavesDoesNotDependOnTheOrderItsReplicasAreCheckedIn() {
    OwnerKeys x = identity(4);
    Manifest m = Manifest.sign(x, 1, List.of(address(identity(999))), 1);
    ReplicaPut.Builder put = ReplicaPut.newBuilder().setManifest(m.signed()).setRequestId(1);
    for (int i = 0; i < 20; i++) {
      SignedReplica r = replica(x, i, 10);
      if (i % 7 == 3) {
        // Altered after signing: the signature no longer checks.
        r = r.toBuilder().setSignature(ByteString.copyFrom(new byte[64])).build();
      }
      put.addReplicas(r);
    }
    put.addReplicas(replica(x, 99, 2_000)); // over the cap: refused unchecked
    Envelope env = Envelope.newBuilder().setReplicaPut(put).build();
    // Checks the batch from the last replica to the first, as threads may finish in any order.
    ReplicaVerifier backwards = replicas -> {
      ReplicaVerifier.Checked[] out = new ReplicaVerifier.Checked[replicas.size()];
      for (int i = replicas.size() - 1; i >= 0; i--) {
        out[i] = ReplicaVerifier.Checked.of(replicas.get(i));
      }
      return List.of(out);
    };
    ReplicaLimits limits = new ReplicaLimits(8, 100, 1L << 20, 1_000, 1L << 20);
    InMemoryHeldReplicas heldA = new InMemoryHeldReplicas();
    InMemoryHeldReplicas heldB = new InMemoryHeldReplicas();
    List<ReplicaEffect> inOrder = victim(limits, heldA, ReplicaVerifier.IN_ORDER)
        .onMessage(0, x.nodeId(), env);
    List<ReplicaEffect> reversed = victim(limits, heldB, backwards).onMessage(0, x.nodeId(), env);
    assertThat(ackIds(reversed, true)).hasSize(17).isEqualTo(ackIds(inOrder, true));
    assertThat(ackIds(reversed, false)).hasSize(1).isEqualTo(ackIds(inOrder, false));
    assertThat(reversed.stream().filter(ReplicaEffect.Penalize.class::isInstance).count())
        .isEqualTo(3);
    assertThat(reversed).isEqualTo(inOrder);
  }

  // ---- acks, fetches and digests only between entitled peers ----

  @Test
  void anAckFromAPeerThePutWasNotSentToConfirmsNothing() {
    ReplicaNet.Node liar = stranger();
    settle(1);
    Fragment f = owner.write(50);
    List<ReplicaEffect> effects = new ArrayList<>();
    net.apply(owner, effects = owner.core.tick(net.now + 1));
    ReplicaEffect.Send put = effects.stream().filter(ReplicaEffect.Send.class::isInstance)
        .map(ReplicaEffect.Send.class::cast).filter(s -> s.envelope().hasReplicaPut())
        .findFirst().orElseThrow();
    long req = put.envelope().getReplicaPut().getRequestId();
    Envelope forged = Envelope.newBuilder().setReplicaAck(ReplicaAck.newBuilder()
        .setRequestId(req).setStored(ByteString.copyFrom(f.id().toBytes()))).build();
    assertThat(owner.core.onMessage(net.now, liar.id(), forged)).isEmpty();
    assertThat(owner.core.confirmations(f.id())).doesNotContain(liar.id());
    net.run(1_000);
    assertThat(owner.core.confirmations(f.id())).hasSize(3).doesNotContain(liar.id());
  }

  @Test
  void fetchesAndDigestExchangesAreAnsweredOnlyForTheOwnerAndItsHolders() {
    List<Fragment> fs = settle(3);
    ReplicaNet.Node liar = stranger();
    ReplicaNet.Node holder = net.node(owner.core.holders().get(0));
    Envelope fetch = Envelope.newBuilder().setReplicaFetch(ReplicaFetch.newBuilder()
        .setRequestId(1).setOwnerId(ByteString.copyFrom(owner.id().toBytes()))
        .setIds(ByteString.copyFrom(fs.get(0).id().toBytes()))).build();
    assertThat(holder.core.onMessage(net.now, liar.id(), fetch)).isEmpty();
    assertThat(owner.core.onMessage(net.now, liar.id(), fetch)).isEmpty();
    NodeId other = owner.core.holders().get(1);
    assertThat(holder.core.onMessage(net.now, other, fetch)).singleElement()
        .satisfies(e -> assertThat(((ReplicaEffect.Send) e).envelope().getReplicaFetchReply()
            .getReplicasCount()).isEqualTo(1));
    Envelope roots = Envelope.newBuilder().setDigestRoots(DigestRoots.newBuilder()
        .addRoots(OwnerRoot.newBuilder().setOwnerId(ByteString.copyFrom(owner.id().toBytes()))
            .setRoot(ByteString.copyFrom(new byte[16])))).build();
    assertThat(holder.core.onMessage(net.now, liar.id(), roots)).isEmpty();
    assertThat(owner.core.onMessage(net.now, liar.id(), roots)).isEmpty();
    assertThat(holder.core.onMessage(net.now, other, roots)).isNotEmpty();
  }

  @Test
  void repeatedFetchesOfAnOwnFragmentSealItOnce() {
    AtomicInteger seals = new AtomicInteger();
    ReplicaSealer plain = ReplicaSealer.sharedOnly(owner.keys);
    owner.sealer = new ReplicaSealer() {
      @Override
      public Optional<SignedReplica> seal(Fragment fragment) {
        seals.incrementAndGet();
        return plain.seal(fragment);
      }

      @Override
      public Optional<dev.mycelium.wire.proto.SignedFragment> open(
          ReplicaCodec.Verified replica) {
        return plain.open(replica);
      }
    };
    owner.fresh();
    net.refreshViews();
    Fragment f = owner.write(1);
    net.run(1_000);
    int afterPut = seals.get();
    assertThat(afterPut).isEqualTo(1);
    NodeId holder = owner.core.holders().get(0);
    Envelope fetch = Envelope.newBuilder().setReplicaFetch(ReplicaFetch.newBuilder()
        .setRequestId(1).setOwnerId(ByteString.copyFrom(owner.id().toBytes()))
        .setIds(ByteString.copyFrom(f.id().toBytes()))).build();
    for (int i = 0; i < 100; i++) {
      assertThat(owner.core.onMessage(net.now, holder, fetch)).hasSize(1);
    }
    assertThat(seals.get()).isEqualTo(afterPut);
  }

  // ---- restores take only from the owner's known holders ----

  @Test
  void aRestoringOwnerTakesNoIdsFromAPeerThatKeptACopyButHoldsNothingForIt() {
    List<Fragment> fs = settle(3);
    Fragment gone = fs.get(1);
    ReplicaNet.Node keeper = stranger(); // kept a copy somehow; never a holder
    SignedReplica copy = ReplicaCodec.shared(owner.keys, gone.signed());
    for (NodeId h : owner.core.holders()) {
      net.partition(net.node(h)); // the holders, and their tombstones, are out of reach
    }
    owner.fresh();
    net.refreshViews();
    List<ReplicaEffect> effects = new ArrayList<>(owner.core.restore(net.now));
    effects.addAll(owner.core.onMessage(net.now, keeper.id(),
        ids(owner.id(), gone.id().toBytes())));
    effects.addAll(owner.core.onMessage(net.now, keeper.id(), Envelope.newBuilder()
        .setReplicaFetchReply(dev.mycelium.wire.proto.ReplicaFetchReply.newBuilder()
            .setRequestId(1).addReplicas(copy)).build()));
    effects.addAll(owner.core.tick(net.now + 200));
    assertThat(effects).filteredOn(ReplicaEffect.Send.class::isInstance)
        .noneMatch(e -> ((ReplicaEffect.Send) e).envelope().hasReplicaFetch());
    assertThat(owner.store.get(gone.id())).isEmpty();
  }

  @Test
  void anOfferUnderAnOlderManifestIsIgnoredAndItsSenderDroppedWhenANewerArrives() {
    settle(3);
    ReplicaNet.Node former = stranger();
    long current = owner.core.manifest().orElseThrow().version();
    Manifest old = Manifest.sign(owner.keys, current - 1, List.of(former.address), 1);
    Envelope offer = Envelope.newBuilder().setRestoreOffer(
        dev.mycelium.wire.proto.RestoreOffer.newBuilder().setManifest(old.signed())).build();
    // Not restoring, and older than what the owner knows: nothing at all.
    assertThat(owner.core.onMessage(net.now, former.id(), offer)).isEmpty();
    assertThat(owner.core.manifest().orElseThrow().version()).isEqualTo(current);
    // After a wipe the old offer is all the owner knows, until a current holder answers.
    owner.fresh();
    net.apply(owner, owner.core.restore(net.now));
    net.apply(owner, owner.core.onMessage(net.now, former.id(), offer));
    net.refreshViews();
    net.apply(owner, owner.core.restore(net.now));
    net.run(3_000);
    assertThat(owner.core.manifest().orElseThrow().version()).isGreaterThanOrEqualTo(current);
    long entries = owner.store.stats().entries();
    List<ReplicaEffect> after = owner.core.onMessage(net.now, former.id(),
        ids(owner.id(), randomIds(new SplittableRandom(4), 10)));
    assertThat(after).isEmpty();
    net.apply(owner, after);
    net.run(3_000);
    assertThat(owner.store.stats().entries()).isEqualTo(entries);
  }

  @Test
  void tombstonesAndManifestsAboutOwnersThisNodeHasNoPartInCostNoSignatureCheck() {
    ReplicaCore v = victim(ReplicaLimits.DEFAULTS, new InMemoryHeldReplicas());
    OwnerKeys x = identity(1);
    dev.mycelium.wire.proto.ReplicaDelete.Builder del =
        dev.mycelium.wire.proto.ReplicaDelete.newBuilder();
    for (int i = 0; i < ReplicaCore.MAX_DELETE_TOMBSTONES; i++) {
      byte[] id = new byte[32];
      id[0] = (byte) i;
      id[1] = (byte) (i >> 8);
      SignedTombstone t = ReplicaNet.CODEC.tombstone(x, FragmentId.of(id), 1);
      // A broken signature: were it checked, the sender would be penalized.
      del.addTombstones(t.toBuilder().setSignature(ByteString.copyFrom(new byte[64])));
    }
    assertThat(v.onMessage(0, identity(2).nodeId(),
        Envelope.newBuilder().setReplicaDelete(del).build())).isEmpty();
    del.addTombstones(del.getTombstones(0));
    assertThat(v.onMessage(0, identity(2).nodeId(),
        Envelope.newBuilder().setReplicaDelete(del).build())).singleElement()
        .isInstanceOf(ReplicaEffect.Penalize.class);
    Manifest m = Manifest.sign(x, 1, List.of(address(identity(999))), 1);
    Envelope forgedRelay = Envelope.newBuilder().setManifestUpdate(ManifestUpdate.newBuilder()
        .setManifest(m.signed().toBuilder().setSignature(ByteString.copyFrom(new byte[64]))))
        .build();
    assertThat(v.onMessage(0, identity(2).nodeId(), forgedRelay)).isEmpty();
    assertThat(v.onMessage(0, x.nodeId(), forgedRelay)).singleElement()
        .isInstanceOf(ReplicaEffect.Penalize.class);
  }

  @Test
  void twoCollidingHoldersCreateNoMorePlaceholdersThanTheyClaimedToHold() {
    SecondRestore r = secondRestore();
    List<Fragment> fs = r.fragments();
    List<NodeId> holders = r.holders();
    Manifest m = r.manifest();
    // Two holders offer, claiming 20 entries, then list 2,000 made-up IDs.
    byte[] fake = randomIds(new SplittableRandom(8), 2_000);
    for (NodeId liar : holders.subList(0, 2)) {
      net.apply(owner, owner.core.onMessage(net.now, liar, Envelope.newBuilder()
          .setRestoreOffer(dev.mycelium.wire.proto.RestoreOffer.newBuilder()
              .setManifest(m.signed()).setHeld(20)).build()));
    }
    for (NodeId liar : holders.subList(0, 2)) {
      net.apply(owner, owner.core.onMessage(net.now, liar, ids(owner.id(), fake)));
    }
    assertThat(owner.store.stats().entries()).isLessThanOrEqualTo(fs.size() + 20L);
    net.run(10_000);
    assertThat(owner.store.stats().entries()).isLessThanOrEqualTo(fs.size() + 20L);
  }

  @Test
  void liarsClaimingMillionsCreateNoMorePlaceholdersThanAnHonestOfferSays() {
    SecondRestore r = secondRestore();
    List<Fragment> fs = r.fragments();
    List<NodeId> holders = r.holders();
    Manifest m = r.manifest();
    // Two liar holders claim a million each, the third holder its true 10.
    for (int k = 0; k < 3; k++) {
      net.apply(owner, owner.core.onMessage(net.now, holders.get(k), Envelope.newBuilder()
          .setRestoreOffer(dev.mycelium.wire.proto.RestoreOffer.newBuilder()
              .setManifest(m.signed()).setHeld(k < 2 ? 1_000_000 : fs.size())).build()));
    }
    byte[] fake = randomIds(new SplittableRandom(9), 2_000);
    for (NodeId liar : holders.subList(0, 2)) {
      net.apply(owner, owner.core.onMessage(net.now, liar, ids(owner.id(), fake)));
    }
    // Before: the largest claim was the budget, and 2,000 placeholders were made.
    assertThat(owner.store.stats().entries()).isLessThanOrEqualTo(2L * fs.size());
  }

  /** What an owner that lost its store has while a second restore runs. */
  private record SecondRestore(List<Fragment> fragments, List<NodeId> holders,
      Manifest manifest) {}

  /** {@link #restoredOnce}, then a second restore, whose offers the test then plays. */
  private SecondRestore secondRestore() {
    RestoredOnce r = restoredOnce();
    assertThat(owner.store.stats().entries()).isEqualTo(r.fragments().size());
    net.apply(owner, owner.core.restore(net.now));
    return new SecondRestore(r.fragments(), r.holders(), owner.core.manifest().orElseThrow());
  }

  /** An owner's fragments and holders after it lost its store and ran one restore. */
  private record RestoredOnce(List<Fragment> fragments, List<NodeId> holders) {}

  /** Settles 10 fragments on their holders, wipes the owner and runs one full restore. */
  private RestoredOnce restoredOnce() {
    List<Fragment> fs = settle(10);
    List<NodeId> holders = owner.core.holders();
    owner.fresh();
    net.refreshViews();
    net.apply(owner, owner.core.restore(net.now));
    net.run(10_000);
    return new RestoredOnce(fs, holders);
  }
}
