package dev.mycelium.storage.index;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VectorsTest {
  @Test
  void aTinyVectorNormalisesToAUnitVectorNotToInfinity() {
    float[] unit = Vectors.normalised(new float[] {Float.MIN_VALUE, 0, 0, 0}, 4);
    assertThat(unit).containsExactly(1f, 0f, 0f, 0f);
    float[] two = Vectors.normalised(new float[] {Float.MIN_VALUE, Float.MIN_VALUE}, 2);
    assertThat(two[0]).isCloseTo((float) Math.sqrt(0.5), org.assertj.core.data.Offset.offset(1e-6f));
  }
}
