package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The embedding loop on more than one thread: the same vectors, in order, markers kept. */
class EmbeddingQueueTest {
  private static final int DIM = 16;
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final OwnerKeys keys = OwnerKeys.generate(new SecureRandom());
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec, 1000, () -> 1L);
  private final ExactVectorIndex index = new ExactVectorIndex(DIM);
  private final HashEmbedder reference = new HashEmbedder(DIM);
  private final Set<String> embeddingThreads = ConcurrentHashMap.newKeySet();

  /** The hash embedder, noting its threads, failing on one text. */
  private final Embedder embedder = new Embedder() {
    @Override
    public int dimension() {
      return DIM;
    }

    @Override
    public float[] embed(String text) {
      embeddingThreads.add(Thread.currentThread().getName());
      if (text.equals("poison")) {
        throw new IllegalArgumentException("cannot embed this one (a test)");
      }
      return reference.embed(text);
    }
  };

  private FragmentId textOnly(String text) {
    Fragment f = codec.create(keys, 1_000, text, new float[0], Map.of(), Visibility.PRIVATE);
    store.put(f);
    return f.id();
  }

  @Test
  void twoThreadsEmbedEveryTextAsOneWouldAndAMarkerRunsAfterWhatWasQueuedBeforeIt()
      throws Exception {
    EmbeddingQueue q = new EmbeddingQueue(store, index, embedder, new NodeMetrics(() -> null),
        1000);
    q.threads(2);
    List<FragmentId> before = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      before.add(textOnly("note number " + i + " about bread"));
    }
    FragmentId poison = textOnly("poison");
    List<FragmentId> after = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      after.add(textOnly("later note " + i));
    }
    for (FragmentId id : before) {
      q.put(id);
    }
    q.put(poison);
    AtomicLong indexedAtMarker = new AtomicLong(-1);
    q.afterQueued(() -> indexedAtMarker.set(index.size()));
    for (FragmentId id : after) {
      q.put(id);
    }

    Thread loop = new Thread(q::loop, "mycelium-embed-loop");
    loop.start();
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> index.size() == 190);
    } finally {
      loop.interrupt();
      loop.join(10_000);
    }

    // Everything queued before the marker, and nothing after it (the poison failed alone).
    assertThat(indexedAtMarker.get()).isEqualTo(150);
    for (int i = 0; i < before.size(); i++) {
      assertThat(index.vector(before.get(i)).orElseThrow())
          .containsExactly(reference.embed("note number " + i + " about bread"), within(1e-6f));
    }
    assertThat(index.vector(poison)).isEmpty();
    assertThat(index.vector(after.get(39)).orElseThrow())
        .containsExactly(reference.embed("later note 39"), within(1e-6f));
    assertThat(embeddingThreads).contains("mycelium-embed-loop", "mycelium-embedder-1");
    assertThat(q.stopped()).isEmpty();
  }
}
