package dev.mycelium.overlay.search;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import dev.mycelium.overlay.FuzzFrames;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Network search requests and responses from a few peers: whatever the bytes, the core answers
 * with actions (a penalty for a malformed message) and never throws, and every search it started
 * completes by its deadline with at most k hits.
 */
class SearchMessageFuzzTest {
  private static final NetworkSearch.Limits LIMITS = NetworkSearch.Limits.defaults(3);

  private static NodeId id(int b) {
    byte[] x = new byte[32];
    x[0] = (byte) b;
    return NodeId.of(x);
  }

  /**
   * Input: repeated records of a flag byte (low bits: the sender; bit 7: make a response answer
   * the search this node started last), a 2-byte length and that many bytes of envelope.
   */
  @FuzzTest
  void searchMessages(byte[] input) {
    NodeId self = id(1);
    List<NodeId> peers = List.of(id(2), id(3), id(4));
    NetworkSearch core = new NetworkSearch(self, LIMITS, new SplittableRandom(1));
    long now = 0;
    NetworkSearch.Started started = core.start(now,
        NetworkSearchRequest.newBuilder().addVector(1f).addVector(0f).setK(5).build(), 2, 1_000,
        peers);
    ByteString mine = started.requestId();
    List<NetworkSearch.Action> actions = new ArrayList<>(started.actions());
    int handled = 0;
    for (FuzzFrames.Frame f : FuzzFrames.read(input)) {
      NodeId from = peers.get(f.sender(peers.size()));
      Envelope env = f.envelope();
      if (env == null) {
        continue;
      }
      switch (env.getBodyCase()) {
        case SEARCH_REQUEST -> actions.addAll(
            core.onRequest(now, from, env.getSearchRequest(), peers));
        case SEARCH_RESPONSE -> actions.addAll(core.onResponse(now, from,
            f.marked()
                ? env.getSearchResponse().toBuilder().setRequestId(mine).build()
                : env.getSearchResponse()));
        default -> {
          continue;
        }
      }
      for (; handled < actions.size(); handled++) {
        if (actions.get(handled) instanceof NetworkSearch.Action.SearchLocally s) {
          actions.addAll(core.onLocalResult(now, s.requestId(), List.of(NetworkSearchHit
              .newBuilder().setFragment(SignedFragment.newBuilder()
                  .setBody(ByteString.copyFromUtf8("local")))
              .setScore(0.5f).setNode(ByteString.copyFrom(self.toBytes())).build())));
        }
      }
      now += 100;
      actions.addAll(core.tick(now));
    }
    actions.addAll(core.tick(now + 60_000));
    assertThat(core.inProgress()).isZero();
    List<NetworkSearch.Action.Completed> done = actions.stream()
        .filter(a -> a instanceof NetworkSearch.Action.Completed c && c.requestId().equals(mine))
        .map(a -> (NetworkSearch.Action.Completed) a).toList();
    assertThat(done).hasSize(1);
    assertThat(done.get(0).outcome().hits().size()).isLessThanOrEqualTo(5);
  }
}
