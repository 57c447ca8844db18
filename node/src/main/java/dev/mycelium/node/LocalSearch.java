package dev.mycelium.node;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.CopyLocator;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.storage.VectorHit;
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.storage.index.Vectors;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Search of this node's own fragments: nearest current hits, substitutes for lost ones. */
final class LocalSearch {
  private static final Logger LOG = LoggerFactory.getLogger(LocalSearch.class);

  /** Whether a fragment is current (neither superseded nor expired) at a given time. */
  @FunctionalInterface
  interface Currency {
    boolean current(FragmentId id, long nowMillis);
  }

  private final NodeId self;
  private final FragmentCodec codec;
  private final FragmentStore store;
  private final VectorIndex index;
  private final Embedder embedder;
  private final int overfetch;
  private final LongSupplier clock;
  private final Currency currency;
  private volatile int substitutesPerHit = 2;
  private volatile CopyLocator copies = id -> false;

  LocalSearch(NodeId self, FragmentCodec codec, FragmentStore store, VectorIndex index,
      Embedder embedder, int overfetch, LongSupplier clock, Currency currency) {
    this.self = self;
    this.codec = codec;
    this.store = store;
    this.index = index;
    this.embedder = embedder;
    this.overfetch = overfetch;
    this.clock = clock;
    this.currency = currency;
  }

  /** See {@link FragmentService#search}. */
  FragmentService.SearchResult search(String text, float[] vector, int k, SearchFilter filter) {
    long start = System.nanoTime();
    float[] query = queryVector(text, vector);
    List<SearchHit> hits = nearest(query, k, filter, false);
    return new FragmentService.SearchResult(withSubstitutes(query, hits, filter),
        (System.nanoTime() - start) / 1_000_000);
  }

  /** See {@link FragmentService#queryVector}. */
  float[] queryVector(String text, float[] vector) {
    float[] query = vector != null ? vector : embedder.embed(text);
    if (query.length != codec.limits().dimension()) {
      throw new InvalidFragmentException(
          "vector",
          "the query vector has " + query.length + " dimensions; this store uses "
              + codec.limits().dimension() + " (storage.dimension)");
    }
    return query;
  }

  /** See {@link FragmentService#searchShared}. */
  List<SearchHit> searchShared(float[] vector, int k, SearchFilter filter) {
    return nearest(queryVector(null, vector), k, filter, true);
  }

  /** See {@link FragmentService#nearDuplicate}. */
  Optional<SearchHit> nearDuplicate(float[] vector, Map<String, String> metadata,
      double similarity) {
    Map<String, String> scope = new HashMap<>();
    for (String key : List.of(MemoryMarks.AGENT, MemoryMarks.RUN)) {
      if (metadata.containsKey(key)) {
        scope.put(key, metadata.get(key));
      }
    }
    SearchFilter filter = new SearchFilter(Optional.of(self), scope,
        Optional.empty(), Optional.empty());
    for (SearchHit h : nearest(queryVector(null, vector), 10, filter, false)) {
      if (h.score() < similarity) {
        break;
      }
      if (h.state() != FragmentState.PRESENT) {
        continue;
      }
      Map<String, String> md = h.fragment().orElseThrow().metadata();
      if (Objects.equals(md.get(MemoryMarks.AGENT), metadata.get(MemoryMarks.AGENT))
          && Objects.equals(md.get(MemoryMarks.RUN), metadata.get(MemoryMarks.RUN))) {
        return Optional.of(h);
      }
    }
    return Optional.empty();
  }

  private List<SearchHit> nearest(float[] query, int k, SearchFilter filter, boolean sharedOnly) {
    boolean unfiltered = filter.equals(SearchFilter.NONE) && !sharedOnly;
    long now = clock.getAsLong();
    Map<FragmentId, StoredFragment> seen = new ConcurrentHashMap<>();
    // Without a filter every indexed ID is a candidate and only the returned ones are looked
    // up; with one, each candidate is read and checked (a read verifies the hash, so this is
    // reserved for filtered searches).
    Predicate<FragmentId> accept =
        unfiltered
            ? id -> currency.current(id, now)
            : id -> {
                if (!currency.current(id, now)) {
                  return false;
                }
                Optional<StoredFragment> sf = store.get(id);
                sf.ifPresent(s -> seen.put(id, s));
                return sf.isPresent() && passes(sf.get(), filter, sharedOnly);
              };
    int want = (int) Math.min((long) k * overfetch, Math.max(k, 10_000));
    List<VectorHit> candidates = index.search(query, want, accept);
    List<SearchHit> hits = new ArrayList<>(k);
    for (VectorHit h : candidates) {
      if (hits.size() == k) {
        break;
      }
      StoredFragment sf = seen.get(h.id());
      if (sf == null) {
        Optional<StoredFragment> read = store.get(h.id());
        if (read.isEmpty()) {
          continue;
        }
        sf = read.get();
      }
      if (!passes(sf, filter, sharedOnly) || !currency.current(h.id(), now)) {
        continue;
      }
      hits.add(new SearchHit(h.id(), h.score(), sf.state(), sf.fragment(), Optional.empty(),
          self, sf.owner()));
    }
    return hits;
  }

  /**
   * Puts the surviving nearest neighbours of every unavailable hit right after it. The lost
   * fragment's vector is still in the index, so "near the lost one" is measured from what it
   * meant, not from the query; each substitute is scored against the query like any hit.
   */
  private List<SearchHit> withSubstitutes(float[] query, List<SearchHit> hits,
      SearchFilter filter) {
    int per = substitutesPerHit;
    if (per == 0 || hits.stream().allMatch(h -> h.state() == FragmentState.PRESENT)) {
      return hits;
    }
    Set<FragmentId> used = new HashSet<>();
    hits.forEach(h -> used.add(h.id()));
    long now = clock.getAsLong();
    List<SearchHit> out = new ArrayList<>(hits.size() + per);
    for (SearchHit h : hits) {
      out.add(h);
      if (h.state() == FragmentState.PRESENT || copyReachable(h.id())) {
        continue;
      }
      Optional<float[]> lost = index.vector(h.id());
      if (lost.isEmpty()) {
        continue;
      }
      Map<FragmentId, StoredFragment> read = new HashMap<>();
      Predicate<FragmentId> survivor = id -> {
        if (used.contains(id) || !currency.current(id, now)) {
          return false;
        }
        Optional<StoredFragment> sf = store.get(id);
        if (sf.isEmpty() || sf.get().state() != FragmentState.PRESENT
            || !passes(sf.get(), filter, false)) {
          return false;
        }
        read.put(id, sf.get());
        return true;
      };
      for (VectorHit n : index.search(lost.get(), per, survivor)) {
        StoredFragment sf = read.get(n.id());
        if (sf == null || !used.add(n.id())) {
          continue;
        }
        float score = index.vector(n.id()).map(v -> Vectors.cosine(query, v)).orElse(0f);
        out.add(new SearchHit(n.id(), score, FragmentState.PRESENT, sf.fragment(),
            Optional.of(h.id()), self));
      }
    }
    return out;
  }

  private boolean copyReachable(FragmentId id) {
    try {
      return copies.copyReachable(id);
    } catch (RuntimeException e) {
      LOG.debug("copy locator failed for {}: {}", id, e.toString());
      return false;
    }
  }

  void setCopyLocator(CopyLocator locator) {
    this.copies = Objects.requireNonNull(locator, "copy locator");
  }

  int substitutesPerHit() {
    return substitutesPerHit;
  }

  void setSubstitutesPerHit(int n) {
    if (n < 0 || n > 10) {
      throw new IllegalArgumentException("substitutes per hit must be from 0 to 10, got " + n);
    }
    this.substitutesPerHit = n;
  }

  private static boolean passes(StoredFragment sf, SearchFilter filter, boolean sharedOnly) {
    if (sharedOnly) {
      return sf.state() == FragmentState.PRESENT
          && sf.fragment().orElseThrow().visibility() == Visibility.SHARED
          && filter.test(sf.fragment().orElseThrow());
    }
    switch (sf.state()) {
      case PRESENT:
        return filter.test(sf.fragment().orElseThrow());
      case BLANK:
      case LOST:
        // Only the owner is known of a fragment without bytes: it passes a filter on the owner
        // alone, flagged, so the caller learns that a match may be missing its text.
        return filter.metadata().isEmpty()
            && filter.fromMillis().isEmpty()
            && filter.toMillis().isEmpty()
            && (filter.owner().isEmpty() || filter.owner().equals(sf.owner()));
      default:
        return false;
    }
  }
}
