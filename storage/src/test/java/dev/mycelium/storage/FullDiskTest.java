package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.Visibility;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store on a real, small file system (a 48 MiB tmpfs) written until the disk is nearly full:
 * it grows while there is room, then refuses new fragments with a clear error, and the process
 * neither crashes nor loses an acknowledged write. Skipped, with the reason printed, where a
 * tmpfs cannot be mounted (mounting needs root).
 */
class FullDiskTest {
  @TempDir Path parent;
  private Path mount;
  private boolean mounted;

  @BeforeEach
  void mountTmpfs() throws Exception {
    mount = Files.createDirectory(parent.resolve("small-disk"));
    String why;
    try {
      Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs",
          mount.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      mounted = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
      why = "mount -t tmpfs failed: " + out;
    } catch (java.io.IOException e) {
      why = "mount could not run: " + e.getMessage();
    }
    if (!mounted) {
      System.out.println("FullDiskTest skipped: " + why);
    }
    Assumptions.assumeTrue(mounted, why);
  }

  @AfterEach
  void unmount() throws Exception {
    if (mounted) {
      new ProcessBuilder("umount", mount.toString()).inheritIO().start()
          .waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aNearlyFullDiskRefusesNewFragmentsWithoutCrashingOrLosingAny() throws Exception {
    long keep = 8L << 20;
    ChronicleFile.Growth growth = new ChronicleFile.Growth(64, keep, null);
    String text = "a fragment that takes room on a small disk ".repeat(100);
    List<Fragment> acked = new ArrayList<>();
    StoreFullException refused = null;
    try (ChronicleFragmentStore store = ChronicleFragmentStore.open(
        mount, 10_000_000, 512, Fixtures.CODEC, () -> 1L, growth)) {
      for (int i = 0; i < 100_000 && refused == null; i++) {
        Fragment f = Fixtures.CODEC.create(Fixtures.ALICE, i, text + i, Fixtures.vector(i),
            Map.of(), Visibility.SHARED);
        try {
          store.put(f);
          acked.add(f);
        } catch (StoreFullException e) {
          refused = e;
        }
      }
      store.files().settle();
      assertThat(refused).as("a refusal before 100,000 fragments of 4 KiB on 48 MiB").isNotNull();
      assertThat(refused.getMessage()).contains("MiB").contains("storage.min-free-disk-mb");
      assertThat(store.files().growths()).as("growths before the disk filled").isPositive();
      assertThat(store.lowDisk()).isPresent();
      assertThat(mount.toFile().getUsableSpace()).isGreaterThanOrEqualTo(keep / 2);
      System.out.printf("FullDiskTest: %d fragments of %d bytes acknowledged on 48 MiB, %d "
          + "growths, refused with: %s%n", acked.size(), text.length(),
          store.files().growths(), refused.getMessage());
      // A delete still works on a full disk: it replaces a record, it adds none.
      Fragment first = acked.get(0);
      store.delete(first.id(), Fixtures.CODEC.tombstone(Fixtures.ALICE, first.id(), 5));
      assertThat(store.get(first.id()).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
    }
    try (ChronicleFragmentStore store = ChronicleFragmentStore.open(
        mount, 10_000_000, 512, Fixtures.CODEC, () -> 1L, growth)) {
      for (Fragment f : acked.subList(1, acked.size())) {
        assertThat(store.get(f.id()).orElseThrow().state()).as("fragment %s", f.id())
            .isEqualTo(FragmentState.PRESENT);
      }
    }
  }
}
