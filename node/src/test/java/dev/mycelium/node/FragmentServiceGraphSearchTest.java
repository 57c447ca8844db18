package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.JVectorIndex;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Search on the graph index with no over-fetching ({@code index.search-overfetch = 1}; the
 * default is 4): filters, deletions and superseded versions are applied inside the graph walk,
 * so k hits still come back whenever k qualify.
 */
class FragmentServiceGraphSearchTest {
  private static final int DIM = 32;
  private static final String RARE = "rare";

  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final Identity me = Identity.of(OwnerKeys.generate(new SecureRandom()));
  private final AtomicLong clock = new AtomicLong(1_000);
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec, 1_000, clock::get);
  private final Random random = new Random(11);
  private JVectorIndex index;

  @TempDir Path dir;

  @AfterEach
  void close() {
    if (index != null) {
      index.close();
    }
  }

  private FragmentService service() {
    index = JVectorIndex.create(dir, DIM, new JVectorIndex.Options(16, 64, 2.0f), Runnable::run,
        0);
    return new FragmentService(me, codec, store, index, new HashEmbedder(DIM), 1, 10,
        new NodeMetrics(() -> null), clock::get);
  }

  private float[] randomVector() {
    float[] v = new float[DIM];
    for (int i = 0; i < DIM; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  @Test
  void aSelectiveFilterStillGetsKHitsAndNeverADeletedOrSupersededOne() {
    FragmentService s = service();
    List<FragmentId> rare = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      Map<String, String> meta = i % 30 == 0 ? Map.of("topic", RARE) : Map.of("topic", "common");
      FragmentId id = s.put(new PutRequest("fragment " + i, randomVector(), meta,
          Visibility.PRIVATE)).id();
      if (meta.get("topic").equals(RARE)) {
        rare.add(id);
      }
    }
    assertThat(rare).hasSize(20);
    Set<FragmentId> gone = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      s.delete(rare.get(i));
      gone.add(rare.get(i));
    }
    Set<FragmentId> newer = new HashSet<>();
    for (int i = 5; i < 8; i++) {
      clock.addAndGet(1);
      Map<String, String> meta = Map.of("topic", RARE,
          MemoryMarks.SUPERSEDES, rare.get(i).toString());
      newer.add(s.update(new PutRequest("newer " + i, randomVector(), meta, Visibility.PRIVATE),
          rare.get(i)).id());
      gone.add(rare.get(i));
    }
    SearchFilter rareOnly = new SearchFilter(Optional.empty(), Map.of("topic", RARE),
        Optional.empty(), Optional.empty());

    for (int q = 0; q < 20; q++) {
      List<SearchHit> hits = s.search(null, randomVector(), 10, rareOnly).hits();
      assertThat(hits).hasSize(10);
      assertThat(hits).allMatch(h -> h.fragment().orElseThrow().metadata().get("topic").equals(RARE));
      assertThat(hits).extracting(SearchHit::id).doesNotContainAnyElementsOf(gone);
    }
    // 12 old ones left and 3 newer versions: a k of 15 takes every one of them.
    List<SearchHit> all = s.search(null, randomVector(), 20, rareOnly).hits();
    assertThat(all).extracting(SearchHit::id).hasSize(15).containsAll(newer)
        .doesNotContainAnyElementsOf(gone);
  }

  @Test
  void theNearestFragmentDeletedLeavesKOthersUnfiltered() {
    FragmentService s = service();
    float[] query = randomVector();
    FragmentId nearest = s.put(new PutRequest("the nearest", query, Map.of(),
        Visibility.PRIVATE)).id();
    for (int i = 0; i < 300; i++) {
      s.put(new PutRequest("fragment " + i, randomVector(), Map.of(), Visibility.PRIVATE));
    }
    assertThat(s.search(null, query, 10, SearchFilter.NONE).hits().get(0).id())
        .isEqualTo(nearest);
    s.delete(nearest);
    List<SearchHit> hits = s.search(null, query, 10, SearchFilter.NONE).hits();
    assertThat(hits).hasSize(10).extracting(SearchHit::id).doesNotContain(nearest);
  }
}
