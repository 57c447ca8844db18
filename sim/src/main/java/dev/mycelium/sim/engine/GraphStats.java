package dev.mycelium.sim.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * Shape of the overlay among live nodes: the undirected graph of active views (an edge if
 * either end lists the other). Components, degree distribution, clustering coefficient and
 * mean shortest path are what the HyParView paper reports, so we report them too.
 */
public final class GraphStats {
  private final int[][] adjacency;
  private final BitSet live;

  private GraphStats(int[][] adjacency, BitSet live) {
    this.adjacency = adjacency;
    this.live = live;
  }

  /** Snapshot of the current active views of every running node. */
  public static GraphStats of(OverlaySim sim) {
    int n = sim.size();
    BitSet live = new BitSet(n);
    List<BitSet> sets = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      sets.add(new BitSet(n));
      if (sim.status(i) == OverlaySim.Status.UP || sim.status(i) == OverlaySim.Status.PAUSED) {
        live.set(i);
      }
    }
    for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
      for (int j : sim.activeView(i)) {
        if (j >= 0 && live.get(j) && j != i) {
          sets.get(i).set(j);
          sets.get(j).set(i);
        }
      }
    }
    int[][] adj = new int[n][];
    for (int i = 0; i < n; i++) {
      adj[i] = sets.get(i).stream().toArray();
    }
    return new GraphStats(adj, live);
  }

  public int liveNodes() {
    return live.cardinality();
  }

  /** Sizes of connected components among live nodes, largest first. */
  public List<Integer> componentSizes() {
    BitSet seen = new BitSet();
    List<Integer> sizes = new ArrayList<>();
    for (int s = live.nextSetBit(0); s >= 0; s = live.nextSetBit(s + 1)) {
      if (seen.get(s)) {
        continue;
      }
      int size = 0;
      ArrayDeque<Integer> q = new ArrayDeque<>();
      q.add(s);
      seen.set(s);
      while (!q.isEmpty()) {
        int u = q.poll();
        size++;
        for (int v : adjacency[u]) {
          if (!seen.get(v)) {
            seen.set(v);
            q.add(v);
          }
        }
      }
      sizes.add(size);
    }
    sizes.sort((a, b) -> b - a);
    return sizes;
  }

  /** Degree to number of live nodes with that degree. */
  public SortedMap<Integer, Integer> degreeHistogram() {
    SortedMap<Integer, Integer> h = new TreeMap<>();
    for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
      h.merge(adjacency[i].length, 1, Integer::sum);
    }
    return h;
  }

  public int maxDegree() {
    int max = 0;
    for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
      max = Math.max(max, adjacency[i].length);
    }
    return max;
  }

  /** Mean local clustering coefficient (nodes of degree < 2 count as 0). */
  public double clusteringCoefficient() {
    double sum = 0;
    int count = 0;
    for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
      int[] nb = adjacency[i];
      count++;
      if (nb.length < 2) {
        continue;
      }
      int links = 0;
      for (int a = 0; a < nb.length; a++) {
        for (int b = a + 1; b < nb.length; b++) {
          if (Arrays.binarySearch(adjacency[nb[a]], nb[b]) >= 0) {
            links++;
          }
        }
      }
      sum += 2.0 * links / (nb.length * (nb.length - 1.0));
    }
    return count == 0 ? 0 : sum / count;
  }

  /** Mean shortest path length between reachable pairs, from up to {@code sources} BFS roots. */
  public double meanPathLength(int sources, RandomGenerator random) {
    int[] liveIdx = live.stream().toArray();
    if (liveIdx.length < 2) {
      return 0;
    }
    long total = 0;
    long pairs = 0;
    int[] dist = new int[adjacency.length];
    for (int k = 0; k < Math.min(sources, liveIdx.length); k++) {
      int s = sources >= liveIdx.length ? liveIdx[k] : liveIdx[random.nextInt(liveIdx.length)];
      Arrays.fill(dist, -1);
      ArrayDeque<Integer> q = new ArrayDeque<>();
      q.add(s);
      dist[s] = 0;
      while (!q.isEmpty()) {
        int u = q.poll();
        for (int v : adjacency[u]) {
          if (dist[v] < 0) {
            dist[v] = dist[u] + 1;
            total += dist[v];
            pairs++;
            q.add(v);
          }
        }
      }
    }
    return pairs == 0 ? 0 : (double) total / pairs;
  }
}
