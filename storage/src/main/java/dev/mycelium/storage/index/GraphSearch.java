package dev.mycelium.storage.index;

import dev.mycelium.model.FragmentId;
import dev.mycelium.storage.VectorHit;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.similarity.DefaultSearchScoreProvider;
import io.github.jbellis.jvector.graph.similarity.SearchScoreProvider;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.vector.VectorUtil;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/** Search: the graph walked, the still-pending vectors scored exactly, the two merged. */
final class GraphSearch {
  private final IndexGraph g;

  GraphSearch(IndexGraph g) {
    this.g = g;
  }

  /** See {@link JVectorIndex#search(float[], int, Predicate, float)}. */
  List<VectorHit> search(float[] query, int k, Predicate<FragmentId> accept, float overquery) {
    Vectors.checkK(k);
    if (!(overquery >= 1.0f)) {
      throw new IllegalArgumentException("overquery must be at least 1, got " + overquery);
    }
    float[] q = Vectors.normalised(query, g.dimension);
    Predicate<FragmentId> filter = accept == null ? id -> true : accept;
    g.checkOpen();
    g.lock.readLock().lock();
    try {
      // Snapshot the pending set before the graph search: an ordinal that leaves it meanwhile
      // is already in the graph.
      List<Integer> pendingNow =
          g.pendingCount.get() == 0 ? List.of() : new ArrayList<>(g.pendingOrdinals);
      Vectors.TopK top = new Vectors.TopK(k);
      Set<FragmentId> seen = new HashSet<>();
      VectorFloat<?> qv = IndexGraph.VTS.createFloatVector(q);
      if (g.graph.size(0) > 0) {
        SearchScoreProvider ssp =
            DefaultSearchScoreProvider.exact(qv, IndexGraph.SIMILARITY, g.ravv);
        Bits passing =
            ordinal -> {
              FragmentId id = g.ids.get(ordinal);
              return id != null && filter.test(id);
            };
        int beam = Math.max(k, (int) Math.ceil(k * overquery));
        SearchResult result;
        try (GraphSearcher searcher = new GraphSearcher(g.graph)) {
          result = searcher.search(ssp, k, beam, 0.0f, 0.0f, passing);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        for (SearchResult.NodeScore ns : result.getNodes()) {
          offer(top, seen, qv, ns.node, id -> true);
        }
      }
      for (int ordinal : pendingNow) {
        offer(top, seen, qv, ordinal, filter);
      }
      if (top.size() < k && g.ordinals.size() > top.size()) {
        // A selective filter can starve the graph walk; scan exactly so that k come back
        // whenever k pass.
        int end = g.nextOrdinal.get();
        for (int ordinal = 0; ordinal < end; ordinal++) {
          offer(top, seen, qv, ordinal, filter);
        }
      }
      return top.bestFirst();
    } finally {
      g.lock.readLock().unlock();
    }
  }

  private void offer(
      Vectors.TopK top,
      Set<FragmentId> seen,
      VectorFloat<?> q,
      int ordinal,
      Predicate<FragmentId> f) {
    FragmentId id = g.ids.get(ordinal);
    VectorFloat<?> v = g.vectors.get(ordinal);
    if (id == null || v == null || seen.contains(id)) {
      return;
    }
    // Rescore exactly so that graph and pending hits rank on the same scale (cosine).
    float score = VectorUtil.dotProduct(q, v);
    if (top.wants(score) && f.test(id)) {
      seen.add(id);
      top.offer(new VectorHit(id, score));
    }
  }
}
