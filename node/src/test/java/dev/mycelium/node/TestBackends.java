package dev.mycelium.node;

import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.Fragment;
import dev.mycelium.storage.FragmentCodec;
import dev.mycelium.storage.FragmentId;
import dev.mycelium.storage.FragmentState;
import dev.mycelium.storage.FragmentStore;
import dev.mycelium.storage.StoreFullException;
import dev.mycelium.storage.StoreStats;
import dev.mycelium.storage.StoredFragment;
import dev.mycelium.storage.VectorHit;
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedTombstone;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Small in-process storage doubles, so that the node's own logic (routing, background
 * embedding, search assembly) is tested without depending on the persistent implementations.
 */
public final class TestBackends implements NodeBackends {
  @Override
  public FragmentStore openStore(NodeConfig config, FragmentCodec codec) {
    return new MapStore(config.storage().capacityEntries());
  }

  @Override
  public VectorIndex openIndex(NodeConfig config) {
    return new ExactIndex();
  }

  @Override
  public Embedder embedder(NodeConfig config) {
    return new WordHashEmbedder(config.storage().dimension());
  }

  /** A map of fragments and states. */
  static final class MapStore implements FragmentStore {
    private record Entry(FragmentState state, Optional<NodeId> owner, Fragment fragment) {}

    private final Map<FragmentId, Entry> entries = new ConcurrentHashMap<>();
    private final long capacity;

    MapStore(long capacity) {
      this.capacity = capacity;
    }

    @Override
    public synchronized FragmentState put(Fragment f) {
      Entry e = entries.get(f.id());
      if (e != null && e.state() == FragmentState.DELETED) {
        return FragmentState.DELETED;
      }
      if (e == null && entries.size() >= capacity) {
        throw new StoreFullException("store full; raise storage.capacity-entries");
      }
      entries.put(f.id(), new Entry(FragmentState.PRESENT, Optional.of(f.owner()), f));
      return FragmentState.PRESENT;
    }

    @Override
    public Optional<StoredFragment> get(FragmentId id) {
      Entry e = entries.get(id);
      if (e == null) {
        return Optional.empty();
      }
      return Optional.of(new StoredFragment(id, e.state(), e.owner(),
          e.state() == FragmentState.PRESENT ? Optional.of(e.fragment()) : Optional.empty()));
    }

    @Override
    public synchronized void delete(FragmentId id, SignedTombstone tombstone) {
      Entry e = entries.get(id);
      entries.put(id, new Entry(FragmentState.DELETED, e == null ? Optional.empty() : e.owner(),
          null));
    }

    @Override
    public synchronized void markBlank(FragmentId id) {
      Entry e = entries.get(id);
      if (e != null) {
        entries.put(id, new Entry(FragmentState.BLANK, e.owner(), null));
      }
    }

    @Override
    public FragmentState check(FragmentId id) {
      Entry e = entries.get(id);
      return e == null ? null : e.state();
    }

    @Override
    public void forEachId(Consumer<FragmentId> visitor) {
      entries.keySet().forEach(visitor);
    }

    @Override
    public StoreStats stats() {
      Map<FragmentState, Long> by = new EnumMap<>(FragmentState.class);
      entries.values().forEach(e -> by.merge(e.state(), 1L, Long::sum));
      return new StoreStats(by, entries.size(), capacity, 0);
    }

    @Override
    public void close() {}
  }

  /** Brute-force cosine search. */
  static final class ExactIndex implements VectorIndex {
    private final Map<FragmentId, float[]> vectors = new ConcurrentHashMap<>();

    @Override
    public void add(FragmentId id, float[] vector) {
      vectors.put(id, vector.clone());
    }

    @Override
    public void remove(FragmentId id) {
      vectors.remove(id);
    }

    @Override
    public List<VectorHit> search(float[] query, int k, Predicate<FragmentId> accept) {
      List<VectorHit> all = new ArrayList<>();
      vectors.forEach((id, v) -> {
        if (accept.test(id)) {
          all.add(new VectorHit(id, cosine(query, v)));
        }
      });
      all.sort((a, b) -> Float.compare(b.score(), a.score()));
      return all.subList(0, Math.min(k, all.size()));
    }

    private static float cosine(float[] a, float[] b) {
      double dot = 0;
      double na = 0;
      double nb = 0;
      for (int i = 0; i < a.length; i++) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
      }
      return na == 0 || nb == 0 ? 0 : (float) (dot / Math.sqrt(na * nb));
    }

    @Override
    public long size() {
      return vectors.size();
    }

    @Override
    public long pending() {
      return 0;
    }

    @Override
    public void close() {}
  }

  /** Bag of hashed words: texts that share words are close. */
  static final class WordHashEmbedder implements Embedder {
    private final int dimension;

    WordHashEmbedder(int dimension) {
      this.dimension = dimension;
    }

    @Override
    public int dimension() {
      return dimension;
    }

    @Override
    public float[] embed(String text) {
      float[] v = new float[dimension];
      for (String w : text.toLowerCase(java.util.Locale.ROOT).split("\\W+")) {
        if (!w.isEmpty()) {
          int h = java.util.Arrays.hashCode(w.getBytes(StandardCharsets.UTF_8));
          v[Math.floorMod(h, dimension)] += 1;
        }
      }
      double n = 0;
      for (float f : v) {
        n += f * f;
      }
      if (n > 0) {
        for (int i = 0; i < v.length; i++) {
          v[i] /= (float) Math.sqrt(n);
        }
      }
      return v;
    }
  }
}
