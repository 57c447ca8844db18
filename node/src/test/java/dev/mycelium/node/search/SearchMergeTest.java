package dev.mycelium.node.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.wire.NodeId;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SearchMergeTest {
  private static final NodeId HERE = node(1);
  private static final NodeId THERE = node(2);

  private static NodeId node(int b) {
    byte[] x = new byte[32];
    x[0] = (byte) b;
    return NodeId.of(x);
  }

  private static FragmentId id(int b) {
    byte[] x = new byte[32];
    x[5] = (byte) b;
    return FragmentId.of(x);
  }

  private static SearchHit hit(int id, float score, FragmentState state, NodeId node) {
    return new SearchHit(id(id), score, state, Optional.empty(), Optional.empty(), node);
  }

  private static SearchHit sub(int id, float score, int forId) {
    return new SearchHit(id(id), score, FragmentState.PRESENT, Optional.empty(),
        Optional.of(id(forId)), HERE);
  }

  @Test
  void oneEntryPerFragmentRankedByScoreWithTheLocalCopyPreferred() {
    List<SearchHit> merged = SearchMerge.merge(
        List.of(hit(1, 0.9f, FragmentState.PRESENT, HERE), hit(2, 0.5f, FragmentState.PRESENT, HERE)),
        List.of(hit(1, 0.95f, FragmentState.PRESENT, THERE), hit(3, 0.7f, FragmentState.PRESENT, THERE)),
        10);
    assertThat(merged).extracting(SearchHit::id).containsExactly(id(1), id(3), id(2));
    assertThat(merged.get(0).node()).isEqualTo(HERE);
    assertThat(merged.get(1).node()).isEqualTo(THERE);
  }

  @Test
  void aRemoteCopyOfALostFragmentReplacesItAndItsSubstitutes() {
    List<SearchHit> merged = SearchMerge.merge(
        List.of(hit(1, 0.9f, FragmentState.LOST, HERE), sub(4, 0.6f, 1),
            hit(2, 0.5f, FragmentState.PRESENT, HERE)),
        List.of(hit(1, 0.9f, FragmentState.PRESENT, THERE)), 10);
    assertThat(merged).extracting(SearchHit::id).containsExactly(id(1), id(2));
    assertThat(merged.get(0).state()).isEqualTo(FragmentState.PRESENT);
    assertThat(merged.get(0).node()).isEqualTo(THERE);
  }

  @Test
  void substitutesFollowTheirHitAndDoNotCountTowardsK() {
    List<SearchHit> merged = SearchMerge.merge(
        List.of(hit(1, 0.9f, FragmentState.BLANK, HERE), sub(4, 0.6f, 1), sub(5, 0.55f, 1),
            hit(2, 0.5f, FragmentState.PRESENT, HERE)),
        List.of(hit(3, 0.7f, FragmentState.PRESENT, THERE), hit(4, 0.6f, FragmentState.PRESENT,
            THERE)),
        2);
    assertThat(merged).extracting(SearchHit::id).containsExactly(id(1), id(4), id(5), id(3));
    assertThat(merged.get(1).isSubstitute()).isTrue();
  }
}
