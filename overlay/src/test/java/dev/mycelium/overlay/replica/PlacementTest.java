package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PlacementTest {
  static NodeId id(SplittableRandom r) {
    byte[] b = new byte[32];
    r.nextBytes(b);
    return NodeId.of(b);
  }

  static List<Candidate> candidates(SplittableRandom r, int n, Capacity cap) {
    List<Candidate> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Candidate(new PeerAddress(id(r), "h" + i, 1), cap, 0));
    }
    return out;
  }

  @Test
  void theSameOwnerGetsTheSameHoldersWhateverTheCandidateOrder() {
    SplittableRandom r = new SplittableRandom(1);
    NodeId owner = id(r);
    List<Candidate> c = candidates(r, 10, new Capacity(1000, 0.2f));
    List<NodeId> first = Placement.rank(owner, c, 3);
    List<Candidate> reversed = new ArrayList<>(c);
    java.util.Collections.reverse(reversed);
    assertThat(first).hasSize(3).doesNotHaveDuplicates();
    assertThat(Placement.rank(owner, reversed, 3)).isEqualTo(first);
  }

  @Test
  void whenAHolderLeavesOnlyItsPlaceMoves() {
    SplittableRandom r = new SplittableRandom(2);
    int moved = 0;
    for (int trial = 0; trial < 200; trial++) {
      NodeId owner = id(r);
      List<Candidate> c = candidates(r, 8, new Capacity(1000, 0.2f));
      List<NodeId> before = Placement.rank(owner, c, 3);
      NodeId gone = before.get(trial % 3);
      List<Candidate> left = new ArrayList<>(c);
      left.removeIf(x -> x.id().equals(gone));
      List<NodeId> after = Placement.rank(owner, left, 3);
      List<NodeId> survivors = new ArrayList<>(before);
      survivors.remove(gone);
      // Pure rendezvous: the two survivors are still in the top 3, one newcomer joins.
      assertThat(after).containsAll(survivors).hasSize(3);
      List<NodeId> newcomers = new ArrayList<>(after);
      newcomers.removeAll(before);
      moved += newcomers.size();
      // Sticky refill gives the same set.
      assertThat(Placement.refill(owner, survivors, left, 3)).containsExactlyInAnyOrderElementsOf(after);
    }
    assertThat(moved).isEqualTo(200);
  }

  @Test
  void aNewCandidateDoesNotDisplaceStickyHolders() {
    SplittableRandom r = new SplittableRandom(3);
    NodeId owner = id(r);
    List<Candidate> c = candidates(r, 5, new Capacity(1000, 0.2f));
    List<NodeId> holders = Placement.rank(owner, c, 3);
    List<Candidate> more = new ArrayList<>(c);
    more.addAll(candidates(r, 20, new Capacity(1_000_000, 0f)));
    assertThat(Placement.refill(owner, holders, more, 3)).isEqualTo(holders);
  }

  @Test
  void heavierCandidatesWinMoreOftenAndBadScoresLess() {
    SplittableRandom r = new SplittableRandom(4);
    PeerAddress big = new PeerAddress(id(r), "big", 1);
    PeerAddress small = new PeerAddress(id(r), "small", 1);
    PeerAddress bad = new PeerAddress(id(r), "bad", 1);
    int bigWins = 0;
    int smallWins = 0;
    int badWins = 0;
    for (int i = 0; i < 3000; i++) {
      NodeId owner = id(r);
      List<NodeId> top = Placement.rank(owner, List.of(
          new Candidate(big, new Capacity(10_000_000, 0f), 0),
          new Candidate(small, new Capacity(10, 0.9f), 0),
          new Candidate(bad, new Capacity(10_000_000, 0f), -40)), 1);
      if (top.get(0).equals(big.id())) {
        bigWins++;
      } else if (top.get(0).equals(small.id())) {
        smallWins++;
      } else {
        badWins++;
      }
    }
    assertThat(bigWins).isGreaterThan(2 * smallWins);
    assertThat(bigWins).isGreaterThan(2 * badWins);
    assertThat(smallWins).isPositive();
    assertThat(Placement.weight(new Candidate(small, Capacity.UNKNOWN, 0))).isPositive();
  }

  @Test
  void theOwnerIsNeverItsOwnHolder() {
    SplittableRandom r = new SplittableRandom(5);
    List<Candidate> c = candidates(r, 4, new Capacity(1000, 0.2f));
    NodeId owner = c.get(0).id();
    assertThat(Placement.rank(owner, c, 4)).hasSize(3).doesNotContain(owner);
  }
}
