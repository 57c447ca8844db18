package dev.mycelium.overlay.search;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.search.NetworkSearch.Action;
import dev.mycelium.overlay.search.NetworkSearch.Outcome;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The network search core on a hand-driven network: messages are delivered from a queue, local
 * searches answer from a per-node list of hits, and time moves only when a test says so.
 */
class NetworkSearchTest {
  private static final NetworkSearch.Limits LIMITS = NetworkSearch.Limits.defaults(3);

  private static NodeId id(int b) {
    byte[] x = new byte[32];
    x[0] = (byte) b;
    x[31] = (byte) (b * 7 + 1);
    return NodeId.of(x);
  }

  private static NetworkSearchHit hit(String body, float score, NodeId node) {
    return NetworkSearchHit.newBuilder()
        .setFragment(SignedFragment.newBuilder().setBody(ByteString.copyFromUtf8(body))
            .setSignature(ByteString.copyFromUtf8("sig")))
        .setScore(score).setNode(ByteString.copyFrom(node.toBytes())).build();
  }

  private static NetworkSearchRequest query(int k) {
    return NetworkSearchRequest.newBuilder().addVector(1f).addVector(0f).setK(k).build();
  }

  /** A small network: cores, links, local hits, and the messages in flight. */
  private static final class Net {
    record Msg(NodeId from, NodeId to, Envelope env) {}

    final Map<NodeId, NetworkSearch> cores = new HashMap<>();
    final Map<NodeId, List<NodeId>> links = new HashMap<>();
    final Map<NodeId, List<NetworkSearchHit>> local = new HashMap<>();
    final Set<NodeId> silent = new HashSet<>();
    final Queue<Msg> inFlight = new ArrayDeque<>();
    final List<NetworkSearch.Outcome> completed = new ArrayList<>();
    final List<Action.Penalize> penalties = new ArrayList<>();
    final List<NetworkSearchRequest> requestsSeen = new ArrayList<>();

    NetworkSearch add(NodeId n, NetworkSearchHit... hits) {
      NetworkSearch c = new NetworkSearch(n, LIMITS, new SplittableRandom(n.hashCode()));
      cores.put(n, c);
      links.put(n, new ArrayList<>());
      local.put(n, List.of(hits));
      return c;
    }

    void link(NodeId a, NodeId b) {
      links.get(a).add(b);
      links.get(b).add(a);
    }

    void apply(long now, NodeId at, List<Action> actions) {
      for (Action a : actions) {
        if (a instanceof Action.Send s) {
          inFlight.add(new Msg(at, s.to(), s.envelope()));
        } else if (a instanceof Action.SearchLocally l) {
          apply(now, at, cores.get(at).onLocalResult(now, l.requestId(), local.get(at)));
        } else if (a instanceof Action.Completed c) {
          completed.add(c.outcome());
        } else if (a instanceof Action.Penalize p) {
          penalties.add(p);
        }
      }
    }

    /** Delivers every message in flight (and those they cause), at one instant. */
    void deliverAll(long now) {
      Msg m;
      while ((m = inFlight.poll()) != null) {
        if (silent.contains(m.to())) {
          continue;
        }
        NetworkSearch c = cores.get(m.to());
        if (m.env().hasSearchRequest()) {
          requestsSeen.add(m.env().getSearchRequest());
          apply(now, m.to(), c.onRequest(now, m.from(), m.env().getSearchRequest(),
              links.get(m.to())));
        } else {
          apply(now, m.to(), c.onResponse(now, m.from(), m.env().getSearchResponse()));
        }
      }
    }

    void tickAll(long now) {
      for (Map.Entry<NodeId, NetworkSearch> e : cores.entrySet()) {
        apply(now, e.getKey(), e.getValue().tick(now));
      }
    }

    ByteString start(long now, NodeId origin, int k, int hops, long budget) {
      NetworkSearch.Started s = cores.get(origin).start(now, query(k), hops, budget,
          links.get(origin));
      apply(now, origin, s.actions());
      return s.requestId();
    }
  }

  private final NodeId a = id(1);
  private final NodeId b = id(2);
  private final NodeId c = id(3);
  private final NodeId d = id(4);

  @Test
  void neighboursAnswerAndHitsAreMergedDeduplicatedAndRanked() {
    Net net = new Net();
    net.add(a);
    net.add(b, hit("x", 0.9f, b), hit("y", 0.5f, b));
    net.add(c, hit("x", 0.8f, c), hit("z", 0.7f, c));
    net.link(a, b);
    net.link(a, c);
    net.start(0, a, 10, 1, 1000);
    net.deliverAll(5);
    assertThat(net.completed).singleElement().satisfies(o -> {
      assertThat(o.complete()).isTrue();
      assertThat(o.unanswered()).isEmpty();
      assertThat(o.answered()).containsExactlyInAnyOrder(b, c);
      assertThat(o.hits()).extracting(h -> h.hit().getFragment().getBody().toStringUtf8())
          .containsExactly("x", "z", "y");
      assertThat(o.hits().get(0).via()).as("the better copy of x wins").isEqualTo(b);
      assertThat(o.hits().get(1).hit().getNode()).isEqualTo(ByteString.copyFrom(c.toBytes()));
    });
    assertThat(net.cores.get(a).inProgress()).isZero();
  }

  @Test
  void onlyTheBestKComeBack() {
    Net net = new Net();
    net.add(a);
    net.add(b, hit("p", 0.1f, b), hit("q", 0.3f, b), hit("r", 0.2f, b));
    net.link(a, b);
    net.start(0, a, 2, 1, 1000);
    net.deliverAll(1);
    assertThat(net.completed.get(0).hits())
        .extracting(h -> h.hit().getFragment().getBody().toStringUtf8())
        .containsExactly("q", "r");
  }

  @Test
  void aSilentNeighbourEndsTheSearchAtTheDeadlineWithPartialResults() {
    Net net = new Net();
    net.add(a);
    net.add(b, hit("x", 0.9f, b));
    net.add(c);
    net.link(a, b);
    net.link(a, c);
    net.silent.add(c);
    net.start(0, a, 5, 1, 1000);
    net.deliverAll(10);
    assertThat(net.completed).isEmpty();
    assertThat(net.cores.get(a).nextDeadline()).isEqualTo(1000);
    net.tickAll(999);
    assertThat(net.completed).isEmpty();
    net.tickAll(1000);
    assertThat(net.completed).singleElement().satisfies(o -> {
      assertThat(o.complete()).isFalse();
      assertThat(o.unanswered()).containsExactly(c);
      assertThat(o.hits()).hasSize(1);
    });
    assertThat(net.cores.get(a).nextDeadline()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void hopsCarryTheRequestFurtherAndFarHitsNameTheNodeThatAnswered() {
    // a - b - c - d in a line; two hops from a reach c but not d.
    Net net = new Net();
    net.add(a);
    net.add(b, hit("near", 0.4f, b));
    net.add(c, hit("far", 0.6f, c));
    net.add(d, hit("too far", 0.99f, d));
    net.link(a, b);
    net.link(b, c);
    net.link(c, d);
    net.start(0, a, 10, 2, 1000);
    net.deliverAll(1);
    assertThat(net.completed).singleElement().satisfies(o -> {
      assertThat(o.complete()).isTrue();
      assertThat(o.hits()).extracting(h -> h.hit().getFragment().getBody().toStringUtf8())
          .containsExactly("far", "near");
      assertThat(o.hits().get(0).hit().getNode()).isEqualTo(ByteString.copyFrom(c.toBytes()));
      assertThat(o.hits().get(0).via()).isEqualTo(b);
    });
    // b forwarded with one hop left and half the budget: its own wait ends first.
    assertThat(net.requestsSeen).hasSize(2);
    assertThat(net.requestsSeen.get(1).getHopsLeft()).isEqualTo(1);
    assertThat(net.requestsSeen.get(1).getBudgetMillis()).isEqualTo(500);
    assertThat(net.cores.get(b).forwarded()).isEqualTo(1);
    assertThat(net.cores.get(c).forwarded()).isZero();
  }

  @Test
  void aRelayAnswersAtItsOwnDeadlineNamingWhoDidNotAnswer() {
    Net net = new Net();
    net.add(a);
    net.add(b, hit("near", 0.4f, b));
    net.add(c);
    net.link(a, b);
    net.link(b, c);
    net.silent.add(c);
    net.start(0, a, 10, 2, 1000);
    net.deliverAll(1);
    assertThat(net.completed).isEmpty();
    net.tickAll(501);
    net.deliverAll(502);
    assertThat(net.completed).singleElement().satisfies(o -> {
      assertThat(o.complete()).as("a's own neighbour answered").isTrue();
      assertThat(o.unanswered()).containsExactly(c);
      assertThat(o.hits()).hasSize(1);
    });
  }

  @Test
  void aRequestReachingANodeTwiceIsAnsweredDuplicateAndNotSearchedAgain() {
    // a triangle: a asks b and c with two hops; b and c forward to each other.
    Net net = new Net();
    net.add(a);
    net.add(b, hit("from b", 0.5f, b));
    net.add(c, hit("from c", 0.6f, c));
    net.link(a, b);
    net.link(a, c);
    net.link(b, c);
    net.start(0, a, 10, 2, 1000);
    net.deliverAll(1);
    assertThat(net.completed).singleElement().satisfies(o -> {
      assertThat(o.complete()).isTrue();
      assertThat(o.hits()).hasSize(2);
    });
    assertThat(net.cores.get(b).duplicates() + net.cores.get(c).duplicates()).isEqualTo(2);
    assertThat(net.cores.get(b).requestsServed()).isEqualTo(1);
    assertThat(net.cores.get(c).requestsServed()).isEqualTo(1);
  }

  @Test
  void noNeighboursCompletesAtOnce() {
    Net net = new Net();
    net.add(a);
    net.start(0, a, 3, 1, 1000);
    assertThat(net.completed).singleElement().satisfies(o -> {
      assertThat(o.complete()).isTrue();
      assertThat(o.asked()).isEmpty();
      assertThat(o.hits()).isEmpty();
    });
  }

  @Test
  void malformedRequestsArePenalisedAndStrayAnswersIgnored() {
    NetworkSearch core = new NetworkSearch(a, LIMITS, new SplittableRandom(1));
    List<Action> bad = core.onRequest(0, b, NetworkSearchRequest.newBuilder()
        .setRequestId(ByteString.copyFrom(new byte[3])).build(), List.of(c));
    assertThat(bad).singleElement().isInstanceOfSatisfying(Action.Penalize.class, p -> {
      assertThat(p.peer()).isEqualTo(b);
      assertThat(p.why()).contains("request ID");
    });
    NetworkSearchRequest huge = query(LIMITS.maxK() + 1).toBuilder()
        .setRequestId(ByteString.copyFrom(new byte[16])).setOrigin(ByteString.copyFrom(b.toBytes()))
        .setHopsLeft(1).setBudgetMillis(10).build();
    assertThat(core.onRequest(0, b, huge, List.of())).singleElement()
        .isInstanceOf(Action.Penalize.class);
    assertThat(core.malformed()).isEqualTo(2);
    List<Action> stray = core.onResponse(0, c, NetworkSearchResponse.newBuilder()
        .setRequestId(ByteString.copyFrom(new byte[16])).build());
    assertThat(stray).isEmpty();
    assertThat(core.stray()).isEqualTo(1);
  }

  @Test
  void hopsBeyondTheLimitAreCutAndAnOwnSearchOverTheLimitIsRefused() {
    NetworkSearch core = new NetworkSearch(b, LIMITS, new SplittableRandom(1));
    NetworkSearchRequest far = query(1).toBuilder()
        .setRequestId(ByteString.copyFrom(new byte[16])).setOrigin(ByteString.copyFrom(a.toBytes()))
        .setHopsLeft(50).setBudgetMillis(900).build();
    List<Action> out = core.onRequest(0, a, far, List.of(c));
    assertThat(out).filteredOn(x -> x instanceof Action.Send).singleElement()
        .satisfies(x -> assertThat(((Action.Send) x).envelope().getSearchRequest().getHopsLeft())
            .isEqualTo(LIMITS.maxHops() - 1));
    assertThatThrownBy(() -> core.start(0, query(1), LIMITS.maxHops() + 1, 100, List.of(c)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hops");
  }

  @Test
  void aLateAnswerAfterTheDeadlineIsStray() {
    Net net = new Net();
    net.add(a);
    net.add(b, hit("x", 0.9f, b));
    net.link(a, b);
    net.silent.add(b);
    net.start(0, a, 5, 1, 100);
    net.deliverAll(1);
    net.tickAll(100);
    assertThat(net.completed).singleElement()
        .satisfies(o -> assertThat(o.unanswered()).containsExactly(b));
    Outcome first = net.completed.get(0);
    net.silent.clear();
    // b's answer arrives after a gave up.
    NetworkSearch coreA = net.cores.get(a);
    assertThat(coreA.onResponse(200, b, NetworkSearchResponse.newBuilder()
        .setRequestId(ByteString.copyFrom(new byte[16])).build())).isEmpty();
    assertThat(coreA.stray()).isEqualTo(1);
    assertThat(net.completed).containsExactly(first);
  }

  /**
   * On a random connected graph with answers delivered in breadth-first order, a search with h
   * hops hears from exactly the nodes within h hops of the origin, each searched once.
   */
  @Test
  void onARandomGraphTheSearchReachesExactlyTheNodesWithinTheHopLimit() {
    SplittableRandom rnd = new SplittableRandom(42);
    int n = 60;
    for (int hops = 1; hops <= 3; hops++) {
      Net net = new Net();
      List<NodeId> nodes = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        NodeId x = id(10 + i);
        nodes.add(x);
        net.add(x, hit("fragment of " + i, 0.5f, x));
      }
      // A random spanning tree keeps it connected; extra edges add cycles (and duplicates).
      Set<String> edges = new HashSet<>();
      for (int i = 1; i < n; i++) {
        int j = rnd.nextInt(i);
        net.link(nodes.get(i), nodes.get(j));
        edges.add(Math.min(i, j) + "-" + Math.max(i, j));
      }
      for (int e = 0; e < n / 2; e++) {
        int i = rnd.nextInt(n);
        int j = rnd.nextInt(n);
        if (i != j && edges.add(Math.min(i, j) + "-" + Math.max(i, j))) {
          net.link(nodes.get(i), nodes.get(j));
        }
      }
      NodeId origin = nodes.get(0);
      Map<NodeId, Integer> dist = new HashMap<>();
      ArrayDeque<NodeId> todo = new ArrayDeque<>(List.of(origin));
      dist.put(origin, 0);
      while (!todo.isEmpty()) {
        NodeId x = todo.poll();
        for (NodeId y : net.links.get(x)) {
          if (!dist.containsKey(y)) {
            dist.put(y, dist.get(x) + 1);
            todo.add(y);
          }
        }
      }
      Set<ByteString> expected = new HashSet<>();
      for (NodeId x : nodes) {
        if (!x.equals(origin) && dist.get(x) <= hops) {
          expected.add(ByteString.copyFrom(x.toBytes()));
        }
      }
      net.start(0, origin, 1000, hops, 1000);
      net.deliverAll(1);
      final int h = hops;
      assertThat(net.completed).as("hops %d", h).singleElement().satisfies(o -> {
        assertThat(o.complete()).isTrue();
        Set<ByteString> answered = new HashSet<>();
        o.hits().forEach(x -> answered.add(x.hit().getNode()));
        assertThat(answered).isEqualTo(expected);
      });
      long served = 0;
      for (NetworkSearch c : net.cores.values()) {
        served += c.requestsServed();
        assertThat(c.inProgress()).isZero();
      }
      assertThat(served).as("each node searched once").isEqualTo(expected.size());
    }
  }
}
