package dev.mycelium.overlay.search;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.search.NetworkSearch.Action;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Peers that send well-formed but abusive searches: each test checks that what one request,
 * or one peer, can make this node spend stays within the configured limits.
 */
class HostileSearchTest {
  private static final NetworkSearch.Limits LIMITS = NetworkSearch.Limits.defaults(4);

  private static NodeId id(int n) {
    byte[] x = new byte[32];
    x[0] = (byte) n;
    x[1] = (byte) (n >> 8);
    x[31] = 9;
    return NodeId.of(x);
  }

  private static NetworkSearchRequest request(int n, NodeId origin, int k, int hops, int budget) {
    byte[] rid = new byte[16];
    rid[0] = (byte) n;
    rid[1] = (byte) (n >> 8);
    rid[2] = (byte) (n >> 16);
    return NetworkSearchRequest.newBuilder().addVector(1f).setK(k).setHopsLeft(hops)
        .setBudgetMillis(budget).setRequestId(ByteString.copyFrom(rid))
        .setOrigin(ByteString.copyFrom(origin.toBytes())).build();
  }

  private static NetworkSearchHit hit(int n, int pad, NodeId node) {
    return NetworkSearchHit.newBuilder().setFragment(SignedFragment.newBuilder()
            .setBody(ByteString.copyFromUtf8("fragment " + n + "x".repeat(pad)))
            .setSignature(ByteString.copyFromUtf8("sig")))
        .setScore(n / 1000f).setNode(ByteString.copyFrom(node.toBytes())).build();
  }

  private static List<NodeId> neighbours(int count) {
    List<NodeId> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(id(1000 + i));
    }
    return out;
  }

  @Test
  void anOversizedRequestIsClampedInKBudgetHopsAndFanout() {
    NetworkSearch core = new NetworkSearch(id(1), LIMITS, new SplittableRandom(1));
    NodeId peer = id(2);
    List<Action> out = core.onRequest(0, peer,
        request(1, peer, LIMITS.maxK(), Integer.MAX_VALUE, Integer.MAX_VALUE), neighbours(200));
    List<NetworkSearchRequest> forwarded = out.stream().filter(Action.Send.class::isInstance)
        .map(a -> ((Action.Send) a).envelope().getSearchRequest()).toList();
    assertThat(forwarded).hasSize(LIMITS.maxFanout());
    assertThat(forwarded).allSatisfy(r -> {
      assertThat(r.getK()).isEqualTo(LIMITS.maxPeerK());
      assertThat(r.getHopsLeft()).isEqualTo(LIMITS.maxHops() - 1);
      assertThat((long) r.getBudgetMillis()).isLessThan(LIMITS.maxPeerBudgetMillis());
    });
    assertThat(out).filteredOn(Action.SearchLocally.class::isInstance).singleElement()
        .satisfies(a -> assertThat(((Action.SearchLocally) a).request().getK())
            .isEqualTo(LIMITS.maxPeerK()));
    // Its answer is due within the peer budget, not the 2^31 ms it asked for.
    assertThat(core.nextDeadline()).isLessThanOrEqualTo(LIMITS.maxPeerBudgetMillis());
  }

  @Test
  void aPeerSendingManyRequestsIsServedAtItsRateAndOthersAreNotAffected() {
    NetworkSearch core = new NetworkSearch(id(1), LIMITS, new SplittableRandom(1));
    NodeId flood = id(2);
    int served = 0;
    for (int i = 0; i < 1000; i++) {
      if (!core.onRequest(0, flood, request(i, flood, 5, 1, 100), List.of()).isEmpty()) {
        served++;
      }
      core.tick(0);
    }
    assertThat(served).isEqualTo(LIMITS.requestBurst());
    assertThat(core.rateLimited()).isEqualTo(1000 - LIMITS.requestBurst());
    // An honest peer still gets answers, and the flooder gets its rate back over time.
    NodeId honest = id(3);
    assertThat(core.onRequest(0, honest, request(5000, honest, 5, 1, 100), List.of()))
        .isNotEmpty();
    int later = 0;
    for (int i = 0; i < 100; i++) {
      if (!core.onRequest(1_000, flood, request(2000 + i, flood, 5, 1, 100), List.of())
          .isEmpty()) {
        later++;
      }
    }
    assertThat(later).isEqualTo((int) LIMITS.requestsPerSecond());
  }

  @Test
  void anAnswerCarryingFarMoreThanAskedForIsReadOnlyUpToK() {
    NetworkSearch core = new NetworkSearch(id(1), LIMITS, new SplittableRandom(1));
    NodeId liar = id(2);
    NetworkSearch.Started s = core.start(0, NetworkSearchRequest.newBuilder().addVector(1f)
        .setK(5).build(), 1, 1_000, List.of(liar, id(3)));
    NetworkSearchResponse.Builder r = NetworkSearchResponse.newBuilder()
        .setRequestId(s.requestId());
    for (int i = 0; i < 5_000; i++) {
      r.addHits(hit(i, 0, liar));
    }
    for (int i = 0; i < 50_000; i++) {
      r.addUnanswered(ByteString.copyFrom(id(5000 + i).toBytes()));
    }
    core.onResponse(1, liar, r.build());
    assertThat(core.pendingBytes()).isLessThan(5 * 200);
    List<Action> done = core.tick(1_000);
    assertThat(done).singleElement().satisfies(a -> {
      NetworkSearch.Outcome o = ((Action.Completed) a).outcome();
      assertThat(o.hits()).hasSize(5);
      assertThat(o.unanswered()).hasSizeLessThanOrEqualTo(NetworkSearch.MAX_UNANSWERED + 2);
    });
    assertThat(core.pendingBytes()).isZero();
  }

  @Test
  void hitsHeldForAllSearchesStayWithinTheByteBudget() {
    NetworkSearch.Limits small = new NetworkSearch.Limits(3, 1000, 30_000, 4096, 256, 100,
        5_000, 16, 10, 20, 20_000);
    NetworkSearch core = new NetworkSearch(id(1), small, new SplittableRandom(1));
    List<NodeId> peers = neighbours(8);
    long most = 0;
    for (int s = 0; s < 20; s++) {
      NetworkSearch.Started st = core.start(0, NetworkSearchRequest.newBuilder().addVector(1f)
          .setK(100).build(), 1, 1_000, peers);
      for (NodeId p : peers) {
        NetworkSearchResponse.Builder r = NetworkSearchResponse.newBuilder()
            .setRequestId(st.requestId());
        for (int i = 0; i < 100; i++) {
          r.addHits(hit(s * 10_000 + p.hashCode() % 1000 * 100 + i, 100, p));
        }
        core.onResponse(1, p, r.build());
        most = Math.max(most, core.pendingBytes());
      }
    }
    assertThat(most).isPositive().isLessThanOrEqualTo(small.maxPendingBytes());
  }
}
