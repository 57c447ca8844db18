package dev.mycelium.storage.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.mycelium.model.FragmentId;
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

  /** What JVectorIndex.add does, without scheduling the background drain. */
  private static void add(IndexGraph g, GraphInserter inserter, FragmentId id, float[] v) {
    int ordinal = g.nextOrdinal.getAndIncrement();
    g.markPending(ordinal);
    g.vectors.set(ordinal, IndexGraph.VTS.createFloatVector(Vectors.normalised(v, DIM)));
    g.ids.set(ordinal, id);
    g.ordinals.put(id, ordinal);
    inserter.queue(ordinal);
  }

  private static void retireWhole(IndexGraph g, GraphInserter inserter, int i) {
    int ordinal = g.ordinals.remove(TestData.id(i));
    g.ids.set(ordinal, null);
    inserter.retired(ordinal);
  }
}
