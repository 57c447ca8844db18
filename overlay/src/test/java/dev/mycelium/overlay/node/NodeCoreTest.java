package dev.mycelium.overlay.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.OverlayNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.Signer;
import dev.mycelium.overlay.Verifier;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaSealer;
import dev.mycelium.overlay.replica.StoreOwnFragments;
import dev.mycelium.overlay.search.NetworkSearch;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.ReplicaPut;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NodeCoreTest {
  private static final FragmentCodec CODEC =
      new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  private static final long START = 1_700_000_000_000L;

  /** A few composed nodes on a virtual clock; every effect is carried out as a driver would. */
  private static final class Net {
    private record Delivery(long at, long seq, NodeId from, NodeId to, Envelope env) {}

    final List<NodeCore> nodes = new ArrayList<>();
    final Map<NodeId, NodeCore> byId = new HashMap<>();
    final Map<NodeId, List<NetworkSearchHit>> localHits = new HashMap<>();
    final Map<ByteString, NetworkSearch.Outcome> completed = new HashMap<>();
    final List<NodeEffect.Penalized> penalized = new ArrayList<>();
    final List<OverlayEvent.Banned> banned = new ArrayList<>();
    final List<NodeEffect.IngestShared> ingested = new ArrayList<>();
    final Map<NodeId, InMemoryFragmentStore> stores = new HashMap<>();
    final PriorityQueue<Delivery> queue = new PriorityQueue<>(
        (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    long now = START;
    long seq;

    NodeCore add(int n, boolean replicate) {
      return add(n, replicate, 500);
    }

    /** @param replicaTickMillis the shortest time between two replication ticks */
    NodeCore add(int n, boolean replicate, long replicaTickMillis) {
      OwnerKeys keys = OwnerKeys.fromSeed(seed(n));
      PeerAddress address = new PeerAddress(keys.nodeId(), "10.0.0." + n, 7000);
      OverlayNode overlay = new OverlayNode(OverlayConfig.test(), address,
          new SplittableRandom(n), signer(keys.nodeId()), verifier(), now);
      NodeCore core = new NodeCore(overlay);
      if (replicate) {
        InMemoryFragmentStore store = new InMemoryFragmentStore(CODEC, Long.MAX_VALUE, () -> now);
        ReplicaCore replica = new ReplicaCore(ReplicaConfig.DEFAULTS, keys, address,
            new StoreOwnFragments(store, CODEC, keys.nodeId(), ReplicaSealer.sharedOnly(keys)),
            new InMemoryHeldReplicas(), new SplittableRandom(n * 31L), now);
        stores.put(keys.nodeId(), store);
        apply(core, core.attachReplica(now, new NodeCore.ReplicaPart(replica,
            replicaTickMillis, false, 10_000, () -> new Capacity(1000, 0.1f))));
      }
      core.attachSearch(new NetworkSearch(keys.nodeId(), NetworkSearch.Limits.defaults(3),
          new SplittableRandom(n * 17L)));
      core.attachShared(new SharedKnowledgeCore(keys.nodeId(), List.of("garden"), "general"));
      nodes.add(core);
      byId.put(core.id(), core);
      return core;
    }

    /** Starts the first node and joins the others through it. */
    void grow() {
      apply(nodes.get(0), nodes.get(0).start(now));
      for (int i = 1; i < nodes.size(); i++) {
        apply(nodes.get(i), nodes.get(i).join(now, List.of(nodes.get(0).self())));
      }
    }

    void apply(NodeCore from, List<NodeEffect> effects) {
      for (NodeEffect e : effects) {
        if (e instanceof NodeEffect.Send s) {
          queue.add(new Delivery(now + 5, seq++, from.id(), s.to(), s.envelope()));
        } else if (e instanceof NodeEffect.SearchLocally l) {
          apply(from, from.onLocalResult(now, l.requestId(),
              localHits.getOrDefault(from.id(), List.of())));
        } else if (e instanceof NodeEffect.CheckHits c) {
          apply(from, from.onCheckedResponse(now, c.from(), c.response(), List.of()));
        } else if (e instanceof NodeEffect.SearchCompleted c) {
          completed.put(c.requestId(), c.outcome());
        } else if (e instanceof NodeEffect.Penalized p) {
          penalized.add(p);
        } else if (e instanceof NodeEffect.IngestShared i) {
          ingested.add(i);
        } else if (e instanceof NodeEffect.OverlayReport r
            && r.event() instanceof OverlayEvent.Banned b) {
          banned.add(b);
        }
      }
    }

    /** Runs deliveries and every node's deadlines until {@code until}. */
    void runUntil(long until) {
      while (true) {
        long next = Long.MAX_VALUE;
        for (NodeCore n : nodes) {
          next = Math.min(next, n.nextDeadline());
        }
        Delivery d = queue.peek();
        if (d != null && d.at <= next) {
          if (d.at > until) {
            break;
          }
          queue.poll();
          now = Math.max(now, d.at);
          NodeCore to = byId.get(d.to);
          if (to != null) {
            apply(to, to.onMessage(now, d.from, d.env));
          }
          continue;
        }
        if (next > until) {
          break;
        }
        now = Math.max(now, next);
        for (NodeCore n : nodes) {
          if (n.nextDeadline() <= now) {
            apply(n, n.tick(now));
          }
        }
      }
      now = until;
    }

    void runFor(long millis) {
      runUntil(now + millis);
    }
  }

  private static byte[] seed(int n) {
    byte[] s = new byte[32];
    s[0] = (byte) n;
    s[31] = 7;
    return s;
  }

  private static byte[] tag(NodeId origin, byte[] data) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(origin.toBytes());
      return sha.digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Signer signer(NodeId self) {
    return data -> tag(self, data);
  }

  private static Verifier verifier() {
    return (origin, data, sig) -> Arrays.equals(tag(origin, data), sig);
  }

  private static NetworkSearchRequest query() {
    return NetworkSearchRequest.newBuilder().setK(3).addVector(1).addVector(0).addVector(0)
        .addVector(0).build();
  }

  @Test
  void networkSearchesAmongReplicatingNodesAreAnsweredAndCostNobodyAnything() {
    Net net = new Net();
    NodeCore asker = net.add(1, true);
    net.add(2, true);
    NodeCore holder = net.add(3, true);
    net.grow();
    net.runFor(10_000);
    assertThat(asker.overlay().activeView()).isNotEmpty();
    OwnerKeys keys = OwnerKeys.fromSeed(seed(3));
    Fragment f = CODEC.create(keys, START, "bread rises overnight", new float[] {1, 0, 0, 0},
        Map.of(), Visibility.SHARED);
    net.localHits.put(holder.id(), List.of(NetworkSearchHit.newBuilder()
        .setFragment(f.signed()).setScore(1f)
        .setNode(ByteString.copyFrom(holder.id().toBytes())).build()));

    List<ByteString> ids = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      NodeCore.SearchStarted s = asker.startSearch(net.now, query(), 2, 2_000);
      ids.add(s.requestId());
      net.apply(asker, s.effects());
      net.runFor(2_500);
    }

    assertThat(ids).allSatisfy(id -> {
      assertThat(net.completed).containsKey(id);
      NetworkSearch.Outcome o = net.completed.get(id);
      assertThat(o.complete()).isTrue();
      assertThat(o.asked()).isNotEmpty();
      assertThat(o.hits()).singleElement()
          .satisfies(h -> assertThat(h.hit().getNode()).isEqualTo(
              ByteString.copyFrom(holder.id().toBytes())));
    });
    assertThat(net.penalized).isEmpty();
    assertThat(net.banned).isEmpty();
    for (NodeCore n : net.nodes) {
      assertThat(n.penalties()).isZero();
      assertThat(n.routes().dropped()).isZero();
      assertThat(n.overlay().activeView()).isNotEmpty();
      for (NodeCore other : net.nodes) {
        assertThat(n.overlay().scores().score(net.now, other.id())).isGreaterThanOrEqualTo(0);
      }
    }
  }

  @Test
  void aMessageForACoreThatIsNotRunningIsDroppedAndCountedNeverPenalized() {
    Net net = new Net();
    NodeCore plain = net.add(1, false);
    NodeId peer = OwnerKeys.fromSeed(seed(9)).nodeId();
    List<NodeEffect> out = new ArrayList<>();
    out.addAll(plain.onMessage(net.now, peer,
        Envelope.newBuilder().setReplicaPut(ReplicaPut.getDefaultInstance()).build()));
    out.addAll(plain.onMessage(net.now, peer, Envelope.getDefaultInstance()));

    assertThat(out).noneMatch(e -> e instanceof NodeEffect.Penalized);
    assertThat(plain.routes().dropped()).isEqualTo(2);
    assertThat(plain.routes().droppedByType())
        .containsEntry(Envelope.BodyCase.REPLICA_PUT, 1L)
        .containsEntry(Envelope.BodyCase.BODY_NOT_SET, 1L);
    assertThat(plain.overlay().scores().score(net.now, peer)).isZero();
  }

  @Test
  void aMalformedMessageOfARunningCoreLowersTheOneScoreTable() {
    Net net = new Net();
    NodeCore node = net.add(1, true);
    NodeId peer = OwnerKeys.fromSeed(seed(9)).nodeId();
    List<NodeEffect> out = node.onMessage(net.now, peer, Envelope.newBuilder()
        .setManifestUpdate(ManifestUpdate.getDefaultInstance()).build());
    assertThat(out).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(
        NodeEffect.Penalized.class, p -> assertThat(p.peer()).isEqualTo(peer)));
    assertThat(node.overlay().scores().score(net.now, peer)).isNegative();
    assertThat(node.penalties()).isEqualTo(1);
    assertThat(node.routes().dropped()).isZero();
  }

  @Test
  void theNextDeadlineIsTheEarliestCoreDeadlineAndAnEarlyTickDoesNothing() {
    Net net = new Net();
    NodeCore node = net.add(1, false);
    NodeCore other = net.add(2, false);
    assertThat(node.nextDeadline()).as("a node that has not started waits for nothing")
        .isEqualTo(Long.MAX_VALUE);
    net.grow();
    net.runFor(3_000);
    assertThat(node.overlay().activeView()).containsExactly(other.id());
    long overlayNext = node.nextDeadline();
    assertThat(overlayNext).isGreaterThan(net.now);
    assertThat(node.tick(overlayNext - 1)).isEmpty();

    // The other node goes silent; a search of it waits until its own deadline, which comes
    // before the overlay's next piece of work.
    net.byId.remove(other.id());
    long t = overlayNext;
    node.tick(t);
    overlayNext = node.overlay().nextDeadline();
    long budget = 10;
    assertThat(overlayNext).isGreaterThan(t + budget);
    NodeCore.SearchStarted s = node.startSearch(t, query(), 1, budget);
    assertThat(s.effects()).noneMatch(e -> e instanceof NodeEffect.SearchCompleted);
    assertThat(node.nextDeadline()).isEqualTo(t + budget);
    assertThat(node.tick(t + budget - 1))
        .noneMatch(e -> e instanceof NodeEffect.SearchCompleted);
    assertThat(node.tick(t + budget)).anySatisfy(e -> assertThat(e)
        .isInstanceOfSatisfying(NodeEffect.SearchCompleted.class,
            c -> assertThat(c.outcome().unanswered()).containsExactly(other.id())));
    assertThat(node.nextDeadline()).isEqualTo(overlayNext);
  }

  @Test
  void aSharedFragmentThatDoesNotCheckMakesItsOriginDistrustedAndCostsItScore() {
    Net net = new Net();
    NodeCore a = net.add(1, false);
    NodeCore b = net.add(2, false);
    net.grow();
    net.runFor(5_000);
    net.apply(b, b.publishShared(net.now, "garden", ByteString.copyFromUtf8("bytes"), 1, 5));
    net.runFor(1_000);
    assertThat(net.ingested).singleElement().satisfies(i -> {
      assertThat(i.origin()).isEqualTo(b.id());
      assertThat(i.topic()).isEqualTo(SharedKnowledgeCore.TOPIC_PREFIX + "garden");
    });
    List<NodeEffect> out = a.onSharedRejected(net.now, b.id(), "not a signed fragment");
    net.apply(a, out);
    assertThat(out).anyMatch(e -> e instanceof NodeEffect.Penalized);
    assertThat(a.shared().orElseThrow().distrusts(b.id())).isTrue();
    assertThat(a.overlay().scores().score(net.now, b.id())).isNegative();

    net.apply(b, b.publishShared(net.now, "garden", ByteString.copyFromUtf8("again"), 1, 5));
    net.runFor(1_000);
    assertThat(net.ingested).hasSize(1);
    assertThat(a.shared().orElseThrow().fromDistrusted()).isEqualTo(1);
    assertThat(b.shared().orElseThrow().published()).isEqualTo(2);
  }

  /**
   * Three replicating nodes (replication ticks at least 200 ms apart, as in the daemon) grown
   * and left a minute to place each other as holders: with R = 3 and two others, each node's
   * holders are the other two.
   */
  private static NodeCore[] settledTrio(Net net) {
    NodeCore[] nodes = {net.add(1, true, 200), net.add(2, true, 200), net.add(3, true, 200)};
    net.grow();
    net.runFor(60_000);
    for (NodeCore n : nodes) {
      assertThat(n.replica().orElseThrow().holders()).hasSize(2).doesNotContain(n.id());
    }
    return nodes;
  }

  /**
   * Three replicating nodes with nothing to do: replication is woken for its anti-entropy
   * rounds (one per 30 s: 20 in 10 minutes, one more for the first round's random phase) and
   * nothing else, since the nodes hold no replica to scrub, their holders are their neighbours
   * and the view does not change. At most 22 wakes in 10 minutes, where a 200 ms tick made
   * 3,000. The capacity advert keeps its 4 s cadence on its own timer.
   */
  @Test
  void anIdleReplicatingNodeWakesReplicationOnlyForItsAntiEntropyRounds() {
    Net net = new Net();
    NodeCore[] nodes = settledTrio(net);
    long[] before = new long[nodes.length];
    for (int i = 0; i < nodes.length; i++) {
      before[i] = nodes[i].replicaTicks();
    }
    net.runFor(10 * 60_000);
    for (int i = 0; i < nodes.length; i++) {
      assertThat(nodes[i].replicaTicks() - before[i]).as("replication wakes of node %d", i)
          .isBetween(20L, 22L);
    }
  }

  /**
   * A put brings replication's deadline forward to one tick spacing after its last tick (at
   * once after a quiet spell), and the tick then sends the put to the holders; a second put
   * right after waits for the spacing, so puts in a burst leave together.
   */
  @Test
  void aPutBringsTheDeadlineForwardAndTheTickThereSendsIt() {
    Net net = new Net();
    NodeCore[] nodes = settledTrio(net);
    NodeCore a = nodes[0];
    NodeCore b = nodes[1];
    NodeCore c = nodes[2];
    assertThat(a.nextDeadline()).isGreaterThan(net.now);

    OwnerKeys keys = OwnerKeys.fromSeed(seed(1));
    Fragment f = CODEC.create(keys, START, "a note", new float[] {1, 0, 0, 0}, Map.of(),
        Visibility.SHARED);
    net.stores.get(a.id()).put(f);
    net.apply(a, a.replicaPut(net.now, f.id()));
    assertThat(a.nextDeadline()).isEqualTo(net.now);
    List<NodeEffect> tick = a.tick(net.now);
    assertThat(tick).filteredOn(e -> e instanceof NodeEffect.Send s
            && s.envelope().hasReplicaPut())
        .extracting(e -> ((NodeEffect.Send) e).to())
        .containsExactlyInAnyOrder(b.id(), c.id());
    assertThat(tick).last().isInstanceOf(NodeEffect.ReplicaStatusUpdated.class);
    net.apply(a, tick);

    Fragment g = CODEC.create(keys, START + 1, "another note", new float[] {0, 1, 0, 0},
        Map.of(), Visibility.SHARED);
    net.stores.get(a.id()).put(g);
    net.apply(a, a.replicaPut(net.now, g.id()));
    assertThat(a.nextDeadline()).isEqualTo(net.now + 200);
    assertThat(a.tick(net.now + 199)).noneMatch(e -> e instanceof NodeEffect.Send s
        && s.envelope().hasReplicaPut());
  }
}
