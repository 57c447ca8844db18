package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.storage.Fragment;
import dev.mycelium.storage.FragmentState;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.DigestIds;
import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
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
    List<Fragment> fs = settle(10);
    List<NodeId> holders = owner.core.holders();
    owner.fresh();
    net.refreshViews();
    net.apply(owner, owner.core.restore(net.now));
    net.run(10_000);
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
}
