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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Invariants of {@link NetworkSearch} under random requests and answers from a random set of
 * peers: whatever they ask, what this node forwards is clamped, searches in progress and the
 * bytes of their hits stay bounded, and no peer is served beyond its rate.
 */
class NetworkSearchPropertiesTest {
  private static NodeId id(int n) {
    byte[] x = new byte[32];
    x[0] = (byte) n;
    x[1] = (byte) (n >> 8);
    x[31] = 5;
    return NodeId.of(x);
  }

  @Property(tries = 50)
  void requestsAreClampedQueuesBoundedAndPeersRateLimited(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 400) int steps) {
    NetworkSearch.Limits limits = new NetworkSearch.Limits(4, 1000, 30_000, 512, 32, 20,
        2_000, 6, 5, 8, 64 * 1024);
    NetworkSearch core = new NetworkSearch(id(0), limits, new SplittableRandom(seed));
    SplittableRandom random = new SplittableRandom(seed);
    List<NodeId> peers = new ArrayList<>();
    for (int i = 1; i <= 8; i++) {
      peers.add(id(i));
    }
    List<NodeId> neighbours = new ArrayList<>(peers);
    for (int i = 100; i < 130; i++) {
      neighbours.add(id(i));
    }
    Map<NodeId, Integer> served = new HashMap<>();
    List<ByteString> ownSearches = new ArrayList<>();
    long now = 0;
    for (int s = 0; s < steps; s++) {
      now += random.nextInt(0, 200);
      NodeId peer = peers.get(random.nextInt(peers.size()));
      int kind = random.nextInt(4);
      List<Action> out;
      if (kind <= 1) {
        byte[] rid = new byte[16];
        random.nextBytes(rid);
        if (random.nextInt(5) == 0 && !ownSearches.isEmpty()) {
          rid = ownSearches.get(0).toByteArray(); // an ID already seen
        }
        NetworkSearchRequest req = NetworkSearchRequest.newBuilder().addVector(1f)
            .setK(random.nextInt(1, 1001)).setHopsLeft(random.nextInt(1, Integer.MAX_VALUE))
            .setBudgetMillis(random.nextInt(1, Integer.MAX_VALUE))
            .setRequestId(ByteString.copyFrom(rid))
            .setOrigin(ByteString.copyFrom(peer.toBytes())).build();
        out = core.onRequest(now, peer, req, neighbours);
        if (!out.isEmpty()) {
          served.merge(peer, 1, Integer::sum);
        }
        List<Action.Send> sends = out.stream().filter(Action.Send.class::isInstance)
            .map(Action.Send.class::cast).toList();
        assertThat(sends.size()).isLessThanOrEqualTo(limits.maxFanout());
        for (Action.Send send : sends) {
          if (send.envelope().hasSearchRequest()) {
            NetworkSearchRequest f = send.envelope().getSearchRequest();
            assertThat(f.getK()).isLessThanOrEqualTo(limits.maxPeerK());
            assertThat(f.getHopsLeft()).isLessThan(limits.maxHops());
            assertThat((long) f.getBudgetMillis()).isLessThan(limits.maxPeerBudgetMillis());
          }
        }
      } else if (kind == 2) {
        NetworkSearch.Started st = core.start(now, NetworkSearchRequest.newBuilder()
            .addVector(1f).setK(random.nextInt(1, 200)).build(), 1 + random.nextInt(4),
            1 + random.nextInt(5_000), peers);
        ownSearches.add(st.requestId());
        out = st.actions();
      } else {
        ByteString rid = ownSearches.isEmpty() ? ByteString.copyFrom(new byte[16])
            : ownSearches.get(random.nextInt(ownSearches.size()));
        NetworkSearchResponse.Builder r = NetworkSearchResponse.newBuilder().setRequestId(rid);
        for (int h = random.nextInt(0, 400); h > 0; h--) {
          r.addHits(NetworkSearchHit.newBuilder().setScore(random.nextFloat())
              .setNode(ByteString.copyFrom(peer.toBytes()))
              .setFragment(SignedFragment.newBuilder().setBody(
                  ByteString.copyFromUtf8("f" + random.nextInt(1000) + "z".repeat(
                      random.nextInt(500))))));
        }
        out = core.onResponse(now, peer, r.build());
      }
      core.tick(now);
      assertThat(core.inProgress()).isLessThanOrEqualTo(limits.maxPending() + ownSearches.size());
      assertThat(core.pendingBytes()).isBetween(0L, limits.maxPendingBytes());
    }
    for (Map.Entry<NodeId, Integer> e : served.entrySet()) {
      assertThat((double) e.getValue())
          .isLessThanOrEqualTo(limits.requestBurst() + limits.requestsPerSecond() * now / 1000.0
              + 1);
    }
    core.tick(now + 1_000_000);
    assertThat(core.inProgress()).isZero();
    assertThat(core.pendingBytes()).isZero();
  }
}
