package dev.mycelium.bench.store;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.storage.ChronicleFile;
import dev.mycelium.storage.ChronicleFragmentStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * What the fragment store takes on disk as it fills: writes fragments from two threads into a
 * store that starts empty, and at each checkpoint prints the bytes held (keys and records), the
 * bytes its files take on disk (allocated blocks, as {@code du} counts them), their ratio, and
 * the growths so far.
 *
 * <p>Usage: {@code StoreDiskBench <dir> <fragments> <text-bytes> <dimension>}.
 */
public final class StoreDiskBench {
  private StoreDiskBench() {}

  /** Runs the measurement; see the class comment for the arguments. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int n = Integer.parseInt(args[1]);
    int textBytes = Integer.parseInt(args[2]);
    int dim = Integer.parseInt(args[3]);
    FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(dim));
    byte[] seed = new byte[32];
    new SplittableRandom(7).nextBytes(seed);
    OwnerKeys owner = OwnerKeys.fromSeed(seed);
    String filler = "lorem ipsum dolor sit amet ".repeat(textBytes / 27 + 1)
        .substring(0, textBytes);
    List<Integer> checkpoints = Stream.of(0, 2, 1_000, 10_000, 100_000, 1_000_000)
        .filter(c -> c <= n).toList();
    long t0 = System.nanoTime();
    try (ChronicleFragmentStore store = ChronicleFragmentStore.open(dir, 10_000_000, 3072, codec,
        System::currentTimeMillis, ChronicleFile.Growth.DEFAULTS)) {
      System.out.printf("%10s %12s %12s %12s %7s %5s %8s%n", "fragments", "held MiB",
          "files MiB", "dir MiB", "ratio", "grows", "seconds");
      int written = 0;
      for (int c : checkpoints) {
        int from = written;
        AtomicInteger next = new AtomicInteger(from);
        Runnable writer = () -> {
          for (int i = next.getAndIncrement(); i < c; i = next.getAndIncrement()) {
            float[] v = new float[dim];
            SplittableRandom r = new SplittableRandom(i);
            for (int d = 0; d < dim; d++) {
              v[d] = (float) r.nextGaussian();
            }
            Fragment f = codec.create(owner, 1_700_000_000_000L + i, "#" + i + " " + filler, v,
                Map.of("bench", "disk"), Visibility.SHARED);
            store.put(f);
          }
        };
        Thread a = new Thread(writer);
        Thread b = new Thread(writer);
        a.start();
        b.start();
        a.join();
        b.join();
        written = c;
        store.files().settle();
        ChronicleFile files = store.files();
        long held = files.valueBytes() + 32L * files.size();
        long disk = files.diskBytes();
        System.out.printf("%10d %12.1f %12.1f %12.1f %7s %5d %8.1f%n", c, held / 1048576.0,
            disk / 1048576.0, ChronicleFile.allocatedBytesUnder(dir) / 1048576.0,
            held == 0 ? "-" : String.format("%.2f", (double) disk / held), files.growths(),
            (System.nanoTime() - t0) / 1e9);
      }
    }
  }
}
