package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import dev.mycelium.model.StoredFragment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The fragment store's files as a damaged disk may hand them back. A record of any bytes reads
 * as a fragment whose hash checks, or as a flagged state, and never throws; the clean-close
 * marker and the generations manifest, whatever they say, either leave the store with counts that
 * are never negative and add up to its entries, or stop the open with an {@link IOException}
 * that names the file; and the entries are all still there once the manifest is restored.
 */
class StoredRecordFuzzTest {
  private static ChronicleFragmentStore store;
  private static Path template;

  private static synchronized ChronicleFragmentStore store() throws IOException {
    if (store == null) {
      Path dir = Files.createTempDirectory("stored-record-fuzz");
      store = ChronicleFragmentStore.open(dir, 64, 512, Fixtures.CODEC, () -> 42L);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        store.close();
        deleteTree(dir);
      }));
    }
    return store;
  }

  @FuzzTest
  void record(byte[] raw) throws IOException {
    ChronicleFragmentStore s = store();
    Fragment good = Fixtures.fragment(1);
    FragmentId id = good.id();
    s.writeRawForTest(id, raw);
    Optional<StoredFragment> got = s.get(id);
    assertThat(got).isPresent();
    StoredFragment f = got.get();
    assertThat(f.id()).isEqualTo(id);
    if (f.state() == FragmentState.PRESENT) {
      assertThat(Arrays.equals(f.fragment().orElseThrow().id().toBytes(), id.toBytes())).isTrue();
    }
    s.writeRawForTest(id, raw);
    s.check(id);
    s.writeRawForTest(id, raw);
    s.tombstone(id);
    s.writeRawForTest(id, raw);
    s.markBlank(id);
    s.writeRawForTest(id, raw);
    assertThat(s.put(good)).isIn(FragmentState.PRESENT, FragmentState.DELETED);
  }

  /** A closed store with three fragments, copied for each run. */
  private static synchronized Path template() throws IOException {
    if (template == null) {
      template = Files.createTempDirectory("stored-record-template");
      try (ChronicleFragmentStore s =
          ChronicleFragmentStore.open(template, 8, 512, Fixtures.CODEC, () -> 42L)) {
        for (int i = 0; i < 3; i++) {
          s.put(Fixtures.fragment(i));
        }
      }
      Path t = template;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(t)));
    }
    return template;
  }

  /** Input: the marker's text, a zero byte, the manifest's text (either empty: left as made). */
  @FuzzTest
  void markers(byte[] input) throws IOException {
    Path dir = Files.createTempDirectory("stored-record-markers");
    try {
      try (Stream<Path> files = Files.list(template())) {
        for (Path p : (Iterable<Path>) files::iterator) {
          Files.copy(p, dir.resolve(p.getFileName()));
        }
      }
      Path marker = dir.resolve(ChronicleFragmentStore.FILES.cleanMarker());
      Path manifest = dir.resolve("fragments.gens");
      byte[] goodManifest = Files.readAllBytes(manifest);
      int zero = 0;
      while (zero < input.length && input[zero] != 0) {
        zero++;
      }
      String markerText = new String(input, 0, zero, StandardCharsets.UTF_8);
      String manifestText = zero >= input.length ? ""
          : new String(input, zero + 1, input.length - zero - 1, StandardCharsets.UTF_8);
      if (!markerText.isEmpty()) {
        Files.writeString(marker, markerText, StandardCharsets.UTF_8);
      }
      if (!manifestText.isEmpty()) {
        Files.writeString(manifest, manifestText, StandardCharsets.UTF_8);
        try (ChronicleFragmentStore s =
            ChronicleFragmentStore.open(dir, 8, 512, Fixtures.CODEC, () -> 42L)) {
          assertCounts(s);
        } catch (IOException refused) {
          assertThat(refused).hasMessageContaining("fragments.gens");
        }
        Files.write(manifest, goodManifest);
      }
      try (ChronicleFragmentStore s =
          ChronicleFragmentStore.open(dir, 8, 512, Fixtures.CODEC, () -> 42L)) {
        assertCounts(s);
      }
    } finally {
      deleteTree(dir);
    }
  }

  private static void assertCounts(ChronicleFragmentStore s) {
    StoreStats st = s.stats();
    long sum = 0;
    for (FragmentState state : FragmentState.values()) {
      assertThat(st.byState().get(state)).as("count of %s", state).isGreaterThanOrEqualTo(0);
      sum += st.byState().get(state);
    }
    assertThat(sum).isEqualTo(st.entries()).isEqualTo(3);
    assertThat(s.get(Fixtures.fragment(0).id()).orElseThrow().state())
        .isEqualTo(FragmentState.PRESENT);
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
