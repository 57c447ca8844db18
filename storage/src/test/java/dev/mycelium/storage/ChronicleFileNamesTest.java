package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ChronicleFileNamesTest {
  private final ChronicleFile.Names names = new ChronicleFile.Names("fragments");

  @Test
  void everyNameComesFromTheBase() {
    assertThat(names.generation(0)).isEqualTo("fragments.cm3");
    assertThat(names.generation(3)).isEqualTo("fragments.3.cm3");
    assertThat(names.cleanMarker()).isEqualTo("fragments.clean");
    assertThat(names.lock()).isEqualTo("fragments.lock");
    assertThat(names.manifest()).isEqualTo("fragments.gens");
  }

  @Test
  void leftoversOfGrowthAreGenerationFilesAndTheOtherFilesAreNot() {
    assertThat(names.isGenerationFile("fragments.cm3")).isTrue();
    assertThat(names.isGenerationFile("fragments.12.cm3")).isTrue();
    assertThat(names.isGenerationFile("fragments.gens.tmp")).isTrue();
    assertThat(names.isGenerationFile("fragments.cm3.grow")).isTrue();
    // Deleting any of these at open would lose the manifest, the lock or another store.
    assertThat(names.isGenerationFile("fragments.gens")).isFalse();
    assertThat(names.isGenerationFile("fragments.lock")).isFalse();
    assertThat(names.isGenerationFile("fragments.clean")).isFalse();
    assertThat(names.isGenerationFile("replicas.cm3")).isFalse();
    assertThat(names.isGenerationFile("fragmentsX1.cm3")).isFalse();
  }

  @Test
  void aBaseThatCannotNameAFileIsRefused() {
    assertThatThrownBy(() -> new ChronicleFile.Names("a/b"))
        .hasMessageContaining("plain word");
    assertThatThrownBy(() -> new ChronicleFile.Names("a.b"))
        .hasMessageContaining("plain word");
    assertThatThrownBy(() -> new ChronicleFile.Names(""))
        .hasMessageContaining("plain word");
  }
}
