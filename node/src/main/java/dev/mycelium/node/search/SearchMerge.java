package dev.mycelium.node.search;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.node.FragmentService.SearchHit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Merges this node's hits with other nodes' into one ranking, one entry per fragment.
 *
 * <p>Rules, in order: a fragment appears once; this node's PRESENT copy wins over a remote
 * one (it was read and checked here); a remote copy of a fragment that is BLANK or LOST here
 * replaces the flagged hit, and the substitutes that stood in for it go, since the original was
 * found after all. Substitutes stay right after the hit they stand for and do not count
 * towards {@code k}.
 */
public final class SearchMerge {
  private SearchMerge() {}

  private static final class Group {
    SearchHit hit;
    final List<SearchHit> substitutes = new ArrayList<>();

    Group(SearchHit hit) {
      this.hit = hit;
    }
  }

  /** The merged ranking: at most {@code k} real hits, each followed by its substitutes. */
  public static List<SearchHit> merge(List<SearchHit> local, List<SearchHit> remote, int k) {
    Map<FragmentId, Group> groups = new LinkedHashMap<>();
    Set<FragmentId> substituteIds = new HashSet<>();
    for (SearchHit h : local) {
      if (h.isSubstitute()) {
        Group g = groups.get(h.substituteFor().get());
        if (g != null) {
          g.substitutes.add(h);
          substituteIds.add(h.id());
        }
      } else {
        groups.putIfAbsent(h.id(), new Group(h));
      }
    }
    for (SearchHit h : remote) {
      if (h.isSubstitute() || substituteIds.contains(h.id())) {
        continue;
      }
      Group g = groups.get(h.id());
      if (g == null) {
        groups.put(h.id(), new Group(h));
      } else if (g.hit.state() != FragmentState.PRESENT && h.state() == FragmentState.PRESENT) {
        g.hit = h;
        g.substitutes.forEach(s -> substituteIds.remove(s.id()));
        g.substitutes.clear();
      }
    }
    List<Group> ranked = new ArrayList<>(groups.values());
    ranked.sort(Comparator.comparingDouble((Group g) -> -g.hit.score()));
    List<SearchHit> out = new ArrayList<>();
    for (int i = 0; i < ranked.size() && i < k; i++) {
      out.add(ranked.get(i).hit);
      out.addAll(ranked.get(i).substitutes);
    }
    return out;
  }
}
