package dev.mycelium.storage.index;

import static dev.mycelium.storage.index.TestData.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mycelium.storage.VectorHit;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExactVectorIndexTest {
  @Test
  void keptVectorIsTheUnitVectorUntilRemoved() {
    ExactVectorIndex index = new ExactVectorIndex(2);
    index.add(id(1), new float[] {3, 4});
    assertThat(index.vector(id(1))).hasValueSatisfying(v ->
        assertThat(v).containsExactly(new float[] {0.6f, 0.8f}, org.assertj.core.data.Offset.offset(1e-6f)));
    assertThat(index.vector(id(2))).isEmpty();
    index.remove(id(1));
    assertThat(index.vector(id(1))).isEmpty();
  }

  @Test
  void ranksByCosineAndScoresAreCosines() {
    ExactVectorIndex index = new ExactVectorIndex(2);
    index.add(id(1), new float[] {1, 0});
    index.add(id(2), new float[] {10, 10});
    index.add(id(3), new float[] {0, 3});
    index.add(id(4), new float[] {-1, 0});

    List<VectorHit> hits = index.search(new float[] {2, 1}, 3, id -> true);

    assertThat(hits).extracting(VectorHit::id).containsExactly(id(2), id(1), id(3));
    assertThat(hits.get(0).score()).isCloseTo((float) (3 / Math.sqrt(10)), within());
    assertThat(hits.get(1).score()).isCloseTo((float) (2 / Math.sqrt(5)), within());
    assertThat(hits.get(2).score()).isCloseTo((float) (1 / Math.sqrt(5)), within());
  }

  @Test
  void removeReplaceAndFilter() {
    ExactVectorIndex index = new ExactVectorIndex(2);
    index.add(id(1), new float[] {1, 0});
    index.add(id(2), new float[] {0, 1});
    index.add(id(3), new float[] {1, 1});
    index.remove(id(1));
    index.add(id(2), new float[] {1, 0.01f});

    assertThat(index.size()).isEqualTo(2);
    assertThat(index.search(new float[] {1, 0}, 5, id -> true))
        .extracting(VectorHit::id)
        .containsExactly(id(2), id(3));
    assertThat(index.search(new float[] {1, 0}, 5, id -> id.equals(id(3))))
        .extracting(VectorHit::id)
        .containsExactly(id(3));
  }

  @Test
  void rejectsBadInputWithAReason() {
    ExactVectorIndex index = new ExactVectorIndex(3);
    assertThatThrownBy(() -> index.add(id(1), new float[] {1, 2}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("3");
    assertThatThrownBy(() -> index.add(id(1), new float[3]))
        .hasMessageContaining("zeros");
    assertThatThrownBy(() -> index.search(new float[] {1, 0, 0}, 0, id -> true))
        .hasMessageContaining("k must be");
  }

  private static org.assertj.core.data.Offset<Float> within() {
    return org.assertj.core.data.Offset.offset(1e-5f);
  }
}
