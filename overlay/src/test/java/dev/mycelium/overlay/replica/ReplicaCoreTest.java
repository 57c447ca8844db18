package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.DigestNodes;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One core's own rules, message by message (the network scenarios are in ReplicaNetworkTest). */
class ReplicaCoreTest {
  final ReplicaNet net = newNet(21, 6);
  final ReplicaNet.Node a = net.list().get(0);
  final ReplicaNet.Node b = net.list().get(1);

  /** A network with the {@link ReplicaNetworkTest#FAST} timings, ticked every tick. */
  ReplicaNet newNet(long seed, int size) {
    return new ReplicaNet(ReplicaNetworkTest.FAST, seed, size);
  }

  @Test
  void putRefusesAFragmentThatIsNotStoredAndDeleteRefusesAnotherOwnersTombstone() {
    Fragment f = ReplicaNet.CODEC.create(a.keys, 1, "x", new float[0], java.util.Map.of(),
        dev.mycelium.model.Visibility.SHARED);
    assertThatThrownBy(() -> a.core.put(net.now, f.id())).hasMessageContaining("store it");
    SignedTombstone bobs = ReplicaNet.CODEC.tombstone(b.keys, f.id(), net.now);
    assertThatThrownBy(() -> a.core.delete(net.now, f.id(), bobs))
        .hasMessageContaining("not by this node");
  }

  @Test
  void aPutFromSomeoneOtherThanTheOwnerIsMalformedAndPenalized() {
    Fragment f = a.write(1);
    net.run(1_000);
    ReplicaNet.Node holder = net.node(a.core.holders().get(0));
    Envelope put = Envelope.newBuilder().setReplicaPut(ReplicaPut.newBuilder()
        .setManifest(a.core.manifest().orElseThrow().signed())
        .addReplicas(ReplicaCodec.shared(a.keys, f.signed()))).build();
    ReplicaNet.Node stranger = net.list().stream()
        .filter(n -> n != a && !a.core.holders().contains(n.id())).findFirst().orElseThrow();
    List<ReplicaEffect> effects = holder.core.onMessage(net.now, stranger.id(), put);
    assertThat(effects).singleElement().isInstanceOfSatisfying(ReplicaEffect.Penalize.class, p -> {
      assertThat(p.peer()).isEqualTo(stranger.id());
      assertThat(p.points()).isEqualTo(PeerScores.MALFORMED);
    });
  }

  @Test
  void garbageDigestMessagesArePenalizedNotThrown() {
    Envelope bad = Envelope.newBuilder().setDigestNodes(DigestNodes.newBuilder()
        .setOwnerId(ByteString.copyFrom(b.id().toBytes())).setLevel(9).addParents(0)
        .setValues(ByteString.copyFrom(new byte[256]))).build();
    assertThat(a.core.onMessage(net.now, b.id(), bad)).singleElement()
        .isInstanceOf(ReplicaEffect.Penalize.class);
    Envelope wrongCase = Envelope.newBuilder().setPing(
        dev.mycelium.wire.proto.Ping.getDefaultInstance()).build();
    assertThat(a.core.onMessage(net.now, b.id(), wrongCase)).singleElement()
        .isInstanceOf(ReplicaEffect.Penalize.class);
  }

  @Test
  void aHolderOutOfTheViewIsReplacedOnlyAfterTheGrace() {
    a.write(1);
    net.run(1_000);
    var holder = a.core.holders().get(0);
    net.apply(a, a.core.onOverlayEvent(net.now, new OverlayEvent.PeerDown(holder)));
    net.run(ReplicaNetworkTest.FAST.holderGraceMillis() / 2);
    net.apply(a, a.core.onOverlayEvent(net.now, new OverlayEvent.PeerUp(holder)));
    net.run(ReplicaNetworkTest.FAST.holderGraceMillis());
    assertThat(a.core.holders()).contains(holder);
    net.apply(a, a.core.onOverlayEvent(net.now, new OverlayEvent.PeerDown(holder)));
    // The driver's candidates no longer list it either.
    java.util.List<Candidate> view = new java.util.ArrayList<>();
    for (ReplicaNet.Node n : net.list()) {
      if (n != a && !n.id().equals(holder)) {
        view.add(new Candidate(n.address, new dev.mycelium.overlay.Capacity(100_000, 0.2f), 0));
      }
    }
    net.apply(a, a.core.updatePeers(net.now, view));
    assertThat(a.core.holders()).contains(holder);
    net.run(ReplicaNetworkTest.FAST.holderGraceMillis() + 500);
    net.apply(a, a.core.updatePeers(net.now, view));
    assertThat(a.core.holders()).hasSize(3).doesNotContain(holder);
    // The dropped holder learns it from the new manifest and lets the replicas go.
    net.run(1_000);
    assertThat(net.node(holder).events(ReplicaEvent.Released.class)).isNotEmpty();
    assertThat(net.node(holder).held.size()).isZero();
  }

  @Test
  void statusReportsPlacementAndHeldData() {
    for (int i = 0; i < 5; i++) {
      a.write(i);
    }
    net.run(1_000);
    ReplicaStatus s = a.core.status();
    assertThat(s.holders()).hasSize(3);
    assertThat(s.manifestVersion()).isPositive();
    assertThat(s.ownEntries()).isEqualTo(5);
    assertThat(s.replicatedBytes()).isPositive();
    ReplicaStatus h = net.node(s.holders().get(0)).core.status();
    assertThat(h.heldOwners()).isEqualTo(1);
    assertThat(h.heldEntries()).isEqualTo(5);
  }

  @Test
  void aHolderThatDiedWhileTheOwnerWasDownIsReplacedWhenItStaysSilent() {
    java.util.List<Fragment> fs = new java.util.ArrayList<>();
    for (int i = 0; i < 10; i++) {
      fs.add(a.write(i));
    }
    net.run(2_000);
    var holders = a.core.holders();
    ReplicaNet.Node victim = net.node(holders.get(0));
    net.partition(victim); // dies while the owner restarts: nobody reports it to the new core
    a.restart();
    assertThat(a.core.holders()).as("the manifest survives a restart").isEqualTo(holders);
    net.refreshViews();
    ReplicaConfig c = ReplicaNetworkTest.FAST;
    net.run(c.holderGraceMillis() + 3 * c.antiEntropyIntervalMillis() + 3_000);
    assertThat(a.core.holders()).hasSize(3).doesNotContain(victim.id())
        .contains(holders.get(1), holders.get(2));
    for (NodeId h : a.core.holders()) {
      for (Fragment f : fs) {
        assertThat(net.node(h).held.replica(f.id())).isPresent();
      }
    }
  }

  /**
   * An owner with fragments to repair keeps holders that only look gone in its manifest: a
   * holder dropped from it releases its replicas, which may be the last good copies. Once the
   * repairs are done the owner lets them go.
   */
  @Test
  void holdersThatLookGoneStayListedWhileOwnFragmentsWaitForRepair() {
    ReplicaNet wide = newNet(23, 9);
    ReplicaNet.Node owner = wide.list().get(0);
    List<Fragment> fs = new java.util.ArrayList<>();
    for (int i = 0; i < 10; i++) {
      fs.add(owner.write(i));
    }
    wide.run(2_000);
    List<NodeId> first = owner.core.holders();
    assertThat(first).hasSize(3);
    // The holders drop out of reach without a word, and the owner loses half its fragments.
    for (NodeId h : first) {
      wide.partition(wide.node(h));
    }
    wide.refreshViews();
    for (int i = 0; i < 5; i++) {
      owner.store.markBlank(fs.get(i).id());
      wide.apply(owner, owner.core.onBlank(wide.now, fs.get(i).id()));
    }
    ReplicaConfig c = ReplicaNetworkTest.FAST;
    wide.run(c.holderGraceMillis() + 3 * c.antiEntropyIntervalMillis() + 3_000);
    assertThat(owner.core.holders()).as("replacements beside the holders that look gone")
        .containsAll(first).hasSizeGreaterThan(3);

    // They come back: the repairs find their copies, and then the manifest is R again.
    for (NodeId h : first) {
      wide.heal(wide.node(h));
    }
    wide.refreshViews();
    // Fragments whose fetches failed meanwhile are LOST and tried again every lostRetry, each
    // time from one source, and half the sources are the replacements without the bytes.
    for (int round = 0; round < 10 && fs.stream().anyMatch(f -> owner.store.get(f.id())
        .orElseThrow().state() != dev.mycelium.model.FragmentState.PRESENT); round++) {
      wide.run(c.lostRetryMillis());
    }
    for (Fragment f : fs) {
      assertThat(owner.store.get(f.id()).orElseThrow().state()).as("fragment %s", f.id())
          .isEqualTo(dev.mycelium.model.FragmentState.PRESENT);
      assertThat(owner.store.get(f.id()).orElseThrow().fragment().orElseThrow().text())
          .isEqualTo(f.text());
    }
    wide.refreshViews();
    wide.run(3 * c.antiEntropyIntervalMillis() + 1_000);
    ReplicaNetworkTest.assertFullyReplicated(wide, owner, fs);
  }

  @Test
  void aHolderWithoutRoomIsReplaced() {
    java.util.List<Fragment> fs = new java.util.ArrayList<>();
    for (int i = 0; i < 5; i++) {
      fs.add(a.write(i));
    }
    net.run(1_000);
    ReplicaNet.Node full = net.node(a.core.holders().get(1));
    full.held.setCapacity(full.held.size());
    for (int i = 5; i < 10; i++) {
      fs.add(a.write(i));
    }
    net.run(3_000);
    assertThat(a.events(ReplicaEvent.WriteRefused.class)).isNotEmpty()
        .allSatisfy(w -> assertThat(w.holder()).isEqualTo(full.id()));
    assertThat(a.core.holders()).hasSize(3).doesNotContain(full.id());
    for (NodeId h : a.core.holders()) {
      for (Fragment f : fs) {
        assertThat(net.node(h).held.replica(f.id())).isPresent();
      }
    }
    assertThat(full.events(ReplicaEvent.Released.class)).isNotEmpty();
  }
}
