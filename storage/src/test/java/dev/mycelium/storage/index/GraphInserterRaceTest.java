package dev.mycelium.storage.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.mycelium.model.FragmentId;
import dev.mycelium.storage.VectorHit;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A remove clears an ordinal's ID and queues its graph node for marking in two steps, without
 * the lock. A compaction that runs between the two must leave that node's vector alone: the
 * node is still in the graph, and every insert or search that reaches it reads the vector.
 * Freeing it killed the indexer thread with a NullPointerException inside jvector on a node
 * restoring 400 fragments, after which nothing more was indexed.
 */
class GraphInserterRaceTest {
  private static final int DIM = 16;

  @Test
  void aCompactionBetweenTheTwoStepsOfARemoveKeepsTheVectorOfANodeStillInTheGraph() {
    IndexGraph g = new IndexGraph(DIM, JVectorIndex.Options.DEFAULTS, 0);
    // Never runs a drain by itself: the test decides when the inserter works.
    GraphInserter inserter = new GraphInserter(g, task -> { });
    Random r = new Random(7);
    for (int i = 0; i < 300; i++) {
      add(g, inserter, TestData.id(i), TestData.random(r, DIM));
    }
    inserter.flush();
    // Enough whole removes for a compaction to have work to do.
    for (int i = 0; i < 80; i++) {
      retireWhole(g, inserter, i);
    }
    // The remove of 150 has cleared its ID but not yet queued its mark.
    int halfRetired = g.ordinals.remove(TestData.id(150));
    g.ids.set(halfRetired, null);

    g.lock.writeLock().lock();
    try {
      inserter.compact();
    } finally {
      g.lock.writeLock().unlock();
    }

    assertThat(g.graph.containsNode(halfRetired)).as("still in the graph").isTrue();
    for (int o = 0; o < g.nextOrdinal.get(); o++) {
      if (g.graph.containsNode(o)) {
        assertThat(g.vectors.get(o)).as("vector of graph node %d", o).isNotNull();
      }
    }
    // The remove finishes, and the index goes on taking vectors.
    inserter.retired(halfRetired);
    for (int i = 300; i < 400; i++) {
      add(g, inserter, TestData.id(i), TestData.random(r, DIM));
    }
    assertThatCode(inserter::flush).doesNotThrowAnyException();
    assertThat(g.pendingCount.get()).isZero();
  }

  /**
   * jvector starts an insert's search at the graph's entry node. When that node was removed
   * (marked deleted, waiting for a compaction) and is alone on the top layer, the insert found
   * no neighbours and the new node was left with no edge at all: no search could reach it
   * again. A CI run once missed a text put right after its index removed a BLANK fragment.
   */
  @Test
  void aVectorInsertedAfterTheEntryNodeWasRemovedIsLinkedAndFound() {
    Random r = new Random(11);
    int tried = 0;
    for (int round = 0; round < 40; round++) {
      IndexGraph g = new IndexGraph(384, new JVectorIndex.Options(16, 100, 1.0f), 0);
      GraphInserter inserter = new GraphInserter(g, task -> { });
      for (int i = 0; i < 21; i++) {
        add(g, inserter, TestData.id(i), TestData.random(r, 384));
      }
      inserter.flush();
      int entry = g.graph.entryNode().node;
      if (entry < 0) {
        continue;
      }
      tried++;
      retireWhole(g, inserter, g.ids.get(entry));
      float[] fresh = TestData.random(r, 384);
      add(g, inserter, TestData.id(1000), fresh);
      inserter.flush();
      int ordinal = g.ordinals.get(TestData.id(1000));
      int edges = 0;
      var view = g.graph.getView();
      for (var it = view.getNeighborsIterator(0, ordinal); it.hasNext(); it.nextInt()) {
        edges++;
      }
      assertThat(edges).as("edges of the vector inserted after the entry was removed, round %d",
          round).isPositive();
      assertThat(new GraphSearch(g).search(fresh, 5, id -> true, 1.0f))
          .extracting(VectorHit::id).as("round %d", round).contains(TestData.id(1000));
    }
    assertThat(tried).isPositive();
  }

  /** What JVectorIndex.add does, without scheduling the background drain. */
  private static void add(IndexGraph g, GraphInserter inserter, FragmentId id, float[] v) {
    int ordinal = g.nextOrdinal.getAndIncrement();
    g.markPending(ordinal);
    g.vectors.set(ordinal, IndexGraph.VTS.createFloatVector(Vectors.normalised(v, g.dimension)));
    g.ids.set(ordinal, id);
    g.ordinals.put(id, ordinal);
    inserter.queue(ordinal);
  }

  private static void retireWhole(IndexGraph g, GraphInserter inserter, int i) {
    retireWhole(g, inserter, TestData.id(i));
  }

  private static void retireWhole(IndexGraph g, GraphInserter inserter, FragmentId id) {
    int ordinal = g.ordinals.remove(id);
    g.ids.set(ordinal, null);
    inserter.retired(ordinal);
  }
}
