package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.DigestIds;
import dev.mycelium.wire.proto.DigestNodes;
import dev.mycelium.wire.proto.DigestRoots;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.OwnerRoot;
import dev.mycelium.wire.proto.ReplicaAck;
import dev.mycelium.wire.proto.ReplicaFetch;
import dev.mycelium.wire.proto.ReplicaFetchReply;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.RestoreOffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Invariants of {@link ReplicaCore} under random sequences of replication messages from a
 * random set of peers (strangers and the owner's own holders alike), outside any restore: the
 * owner's store never grows from what a peer says, nothing is queued for repair or lost on a
 * peer's word, no honest node is penalized for honest traffic, and acks count only from the
 * holders that were sent the put.
 */
class ReplicaPropertiesTest {

  @Property(tries = 12)
  void nothingAPeerSaysGrowsTheOwnersStoreOrItsRepairQueue(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 60) int messages) {
    ReplicaNet net = new ReplicaNet(ReplicaNetworkTest.FAST, seed, 6);
    ReplicaNet.Node owner = net.list().get(0);
    List<Fragment> fs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      fs.add(owner.write(i));
    }
    net.run(2_000);
    List<ReplicaNet.Node> others = net.list().subList(1, 6);
    long entries = owner.store.stats().entries();
    SplittableRandom random = new SplittableRandom(seed);
    List<NodeId> liars = new ArrayList<>();
    for (int m = 0; m < messages; m++) {
      ReplicaNet.Node liar = others.get(random.nextInt(others.size()));
      liars.add(liar.id());
      ReplicaNet.Node target = random.nextBoolean() ? owner
          : net.node(owner.core.holders().get(random.nextInt(3)));
      if (target == liar) {
        continue;
      }
      Envelope env = lie(random, owner, liar, fs);
      net.apply(target, target.core.onMessage(net.now, liar.id(), env));
    }
    net.run(3_000);
    assertThat(owner.store.stats().entries()).isEqualTo(entries);
    assertThat(owner.core.status().queueLength()).isZero();
    assertThat(owner.core.status().lost()).isZero();
    for (Fragment f : fs) {
      assertThat(owner.core.confirmations(f.id())).isSubsetOf(owner.core.holders());
    }
    // Only the peers that lied were penalized, and the owner never.
    assertThat(net.penalties).allSatisfy(p -> assertThat(liars).contains(p.peer()));
  }

  private static Envelope lie(SplittableRandom random, ReplicaNet.Node owner,
      ReplicaNet.Node liar, List<Fragment> fs) {
    ByteString ownerId = ByteString.copyFrom(owner.id().toBytes());
    byte[] ids = new byte[32 * random.nextInt(0, 200)];
    random.nextBytes(ids);
    Fragment real = fs.get(random.nextInt(fs.size()));
    return switch (random.nextInt(9)) {
      case 0 -> Envelope.newBuilder().setDigestIds(DigestIds.newBuilder().setOwnerId(ownerId)
          .setLiveIds(ByteString.copyFrom(ids)).setReply(random.nextBoolean())
          .addBuckets(random.nextInt(256))).build();
      case 1 -> Envelope.newBuilder().setDigestIds(DigestIds.newBuilder().setOwnerId(ownerId)
          .setDeletedIds(ByteString.copyFrom(ids))).build();
      case 2 -> {
        byte[] root = new byte[16];
        random.nextBytes(root);
        yield Envelope.newBuilder().setDigestRoots(DigestRoots.newBuilder().addRoots(
            OwnerRoot.newBuilder().setOwnerId(ownerId).setRoot(ByteString.copyFrom(root))))
            .build();
      }
      case 3 -> {
        byte[] values = new byte[256];
        random.nextBytes(values);
        yield Envelope.newBuilder().setDigestNodes(DigestNodes.newBuilder().setOwnerId(ownerId)
            .setLevel(1 + random.nextInt(2)).addParents(random.nextInt(16))
            .setValues(ByteString.copyFrom(values))).build();
      }
      case 4 -> Envelope.newBuilder().setReplicaFetch(ReplicaFetch.newBuilder()
          .setRequestId(random.nextLong()).setOwnerId(ownerId)
          .setIds(ByteString.copyFrom(real.id().toBytes()))).build();
      case 5 -> Envelope.newBuilder().setReplicaAck(ReplicaAck.newBuilder()
          .setRequestId(random.nextLong()).setStored(ByteString.copyFrom(real.id().toBytes())))
          .build();
      case 6 -> Envelope.newBuilder().setManifestUpdate(ManifestUpdate.newBuilder()
          .setManifest(Manifest.sign(owner.keys, 1, List.of(liar.address), 1).signed())).build();
      case 7 -> Envelope.newBuilder().setRestoreOffer(RestoreOffer.newBuilder()
          .setManifest(Manifest.sign(owner.keys, 2, List.of(liar.address), 1).signed())
          .setHeld(1_000_000)).build();
      default -> Envelope.newBuilder().setReplicaFetchReply(ReplicaFetchReply.newBuilder()
          .setRequestId(random.nextLong())
          .addReplicas(ReplicaCodec.shared(owner.keys, real.signed()))).build();
    };
  }

  @Property(tries = 20)
  void aHolderKeepsWithinItsQuotasWhateverOwnersPush(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 40) int puts) {
    ReplicaLimits limits = new ReplicaLimits(3, 7, 3_000, 2_000, 1L << 20);
    InMemoryHeldReplicas held = new InMemoryHeldReplicas();
    dev.mycelium.model.OwnerKeys self = dev.mycelium.model.OwnerKeys.fromSeed(
        new byte[] {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
            9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1});
    dev.mycelium.overlay.PeerAddress selfAddress =
        new dev.mycelium.overlay.PeerAddress(self.nodeId(), "10.1.1.1", 7000);
    ReplicaCore core = new ReplicaCore(ReplicaNetworkTest.FAST, limits, self, selfAddress,
        new StoreOwnFragments(new dev.mycelium.model.InMemoryFragmentStore(ReplicaNet.CODEC,
            Long.MAX_VALUE, () -> 0L), ReplicaNet.CODEC, self.nodeId(),
            ReplicaSealer.sharedOnly(self)),
        held, new SplittableRandom(seed), new byte[32], ReplicaVerifier.IN_ORDER, 0);
    SplittableRandom random = new SplittableRandom(seed);
    List<dev.mycelium.model.OwnerKeys> owners = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      byte[] s = new byte[32];
      random.nextBytes(s);
      owners.add(dev.mycelium.model.OwnerKeys.fromSeed(s));
    }
    for (int p = 0; p < puts; p++) {
      dev.mycelium.model.OwnerKeys o = owners.get(random.nextInt(owners.size()));
      Manifest m = Manifest.sign(o, 1 + random.nextInt(3), List.of(selfAddress), 1);
      ReplicaPut.Builder put = ReplicaPut.newBuilder().setManifest(m.signed())
          .setRequestId(p);
      for (int r = 0; r < 1 + random.nextInt(6); r++) {
        Fragment f = ReplicaNet.CODEC.create(o, random.nextLong(1, 1L << 40),
            "y".repeat(random.nextInt(600)), new float[] {1, 2, 3, 4}, java.util.Map.of(),
            dev.mycelium.model.Visibility.SHARED);
        put.addReplicas(ReplicaCodec.shared(o, f.signed()));
      }
      core.onMessage(p, o.nodeId(), Envelope.newBuilder().setReplicaPut(put).build());
      assertThat(held.owners().size()).isLessThanOrEqualTo(limits.maxHeldOwners());
      for (NodeId owner : held.owners()) {
        long[] bytes = {0};
        int[] count = {0};
        held.forEach(owner, (id, deleted) -> {
          count[0]++;
          held.replica(id).ifPresent(r -> bytes[0] += r.getSerializedSize());
        });
        assertThat(count[0]).isLessThanOrEqualTo(limits.maxEntriesPerOwner());
        assertThat(bytes[0]).isLessThanOrEqualTo(limits.maxBytesPerOwner());
      }
    }
  }
}
