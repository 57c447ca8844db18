package dev.mycelium.storage;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.Visibility;
import java.nio.file.Path;
import java.util.Map;

/**
 * Run in a child JVM by {@link ChronicleFragmentStoreTest}: writes fragments forever and prints
 * the number of each one whose put has returned, until the parent kills it with SIGKILL.
 */
public final class CrashWriter {
  private CrashWriter() {}

  /** Args: the data directory. */
  public static void main(String[] args) throws Exception {
    ChronicleFragmentStore store =
        ChronicleFragmentStore.open(Path.of(args[0]), 100_000, 512, Fixtures.CODEC);
    System.out.println("OPEN");
    System.out.flush();
    for (int i = 0; ; i++) {
      store.put(crashFragment(i));
      System.out.println(i);
      System.out.flush();
    }
  }

  static Fragment crashFragment(int i) {
    return Fixtures.CODEC.create(
        Fixtures.ALICE, 1_600_000_000_000L + i, "written before the crash " + i,
        Fixtures.vector(i), Map.of(), Visibility.SHARED);
  }
}
