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
    int[][] views = new int[n][];
    for (int i = 0; i < n; i++) {
      if (sim.isLive(i)) {
        live.set(i);
        views[i] = sim.activeView(i);
      }
    }
    return of(views, live);
  }

  /**
   * The undirected graph of active views: node {@code i} links to every entry of
   * {@code views[i]} (indices; negative entries and links to nodes not in {@code live} are
   * ignored), and a link seen from either end counts once. Real nodes report their views this
   * way, so the simulator's real mode measures them as it measures simulated ones.
   */
  public static GraphStats of(int[][] views, BitSet live) {
    int n = views.length;
    // Edge lists grown per node, then sorted and deduplicated: a BitSet per node would cost
    // n^2 bits, over a gigabyte at 100,000 nodes.
    int[][] lists = new int[n][];
    int[] sizes = new int[n];
    for (int i = live.nextSetBit(0); i >= 0 && i < n; i = live.nextSetBit(i + 1)) {
      if (views[i] == null) {
        continue;
      }
      for (int j : views[i]) {
        if (j >= 0 && j < n && live.get(j) && j != i) {
          add(lists, sizes, i, j);
          add(lists, sizes, j, i);
        }
      }
    }
    int[][] adj = new int[n][];
    for (int i = 0; i < n; i++) {
      if (lists[i] == null) {
        adj[i] = new int[0];
        continue;
      }
      int[] a = Arrays.copyOf(lists[i], sizes[i]);
      Arrays.sort(a);
      int k = 0;
      for (int x = 0; x < a.length; x++) {
        if (x == 0 || a[x] != a[x - 1]) {
          a[k++] = a[x];
        }
      }
      adj[i] = Arrays.copyOf(a, k);
    }
    return new GraphStats(adj, (BitSet) live.clone());
  }

  private static void add(int[][] lists, int[] sizes, int i, int j) {
    if (lists[i] == null) {
      lists[i] = new int[8];
    } else if (sizes[i] == lists[i].length) {
      lists[i] = Arrays.copyOf(lists[i], sizes[i] * 2);
    }
    lists[i][sizes[i]++] = j;
  }

  /**
   * For every node, how many live nodes know it (list it in their active or passive view):
   * the in-degree of the "who knows whom" graph, where preferential attachment shows even
   * though the active view is capped.
   */
  public static int[] knownBy(OverlaySim sim) {
    int[] count = new int[sim.size()];
    for (int i = 0; i < sim.size(); i++) {
      if (!sim.isLive(i)) {
        continue;
      }
      for (int j : sim.activeView(i)) {
        if (j >= 0) {
          count[j]++;
        }
      }
      for (int j : sim.passiveView(i)) {
        if (j >= 0) {
          count[j]++;
        }
      }
    }
    return count;
  }

  /** Indexes of the live nodes, in order (the order of {@link #degrees()}). */
  public int[] liveIndexes() {
    return live.stream().toArray();
  }

  /** Degrees of the live nodes, in node order. */
  public int[] degrees() {
    int[] d = new int[live.cardinality()];
    int k = 0;
    for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
      d[k++] = adjacency[i].length;
    }
    return d;
  }

  /** Live node indexes ordered by degree, highest first (ties by index). */
  public int[] byDegreeDescending() {
    return live.stream().boxed()
        .sorted((a, b) -> adjacency[a].length != adjacency[b].length
            ? adjacency[b].length - adjacency[a].length : Integer.compare(a, b))
        .mapToInt(Integer::intValue).toArray();
  }

  /** Live node indexes in random order. */
  public int[] shuffledLive(RandomGenerator random) {
    int[] a = live.stream().toArray();
    for (int i = a.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /**
   * Size of the largest connected component, as a share of the live nodes, after removing the
   * first {@code k} nodes of {@code order} for each k in {@code removed}. Computed backwards
   * with union-find (adding nodes in reverse order), so a whole curve costs one pass: the
   * method of Newman and Ziff (2000) for percolation.
   */
  public double[] largestComponentAfterRemoving(int[] order, int[] removed) {
    int n = adjacency.length;
    int[] parent = new int[n];
    int[] size = new int[n];
    boolean[] present = new boolean[n];
    for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
      present[i] = true;
    }
    for (int v : order) {
      present[v] = false;
    }
    int largest = 0;
    for (int i = 0; i < n; i++) {
      parent[i] = i;
      size[i] = 1;
    }
    for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
      if (present[i]) {
        largest = Math.max(largest, 1);
        for (int j : adjacency[i]) {
          if (present[j]) {
            largest = Math.max(largest, union(parent, size, i, j));
          }
        }
      }
    }
    // largestAt[k]: largest component with the first k of order removed.
    int[] largestAt = new int[order.length + 1];
    largestAt[order.length] = largest;
    for (int k = order.length - 1; k >= 0; k--) {
      int v = order[k];
      present[v] = true;
      largest = Math.max(largest, 1);
      for (int j : adjacency[v]) {
        if (present[j]) {
          largest = Math.max(largest, union(parent, size, v, j));
        }
      }
      largestAt[k] = largest;
    }
    double total = Math.max(1, live.cardinality());
    double[] out = new double[removed.length];
    for (int r = 0; r < removed.length; r++) {
      int k = Math.min(Math.max(0, removed[r]), order.length);
      out[r] = largestAt[k] / total;
    }
    return out;
  }

  private static int find(int[] parent, int x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }

  private static int union(int[] parent, int[] size, int a, int b) {
    int ra = find(parent, a);
    int rb = find(parent, b);
    if (ra == rb) {
      return size[ra];
    }
    if (size[ra] < size[rb]) {
      int t = ra;
      ra = rb;
      rb = t;
    }
    parent[rb] = ra;
    size[ra] += size[rb];
    return size[ra];
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
