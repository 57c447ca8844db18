package dev.mycelium.bench.store;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.storage.ChronicleFragmentStore;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.proto.SignedFragment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntConsumer;
import java.util.stream.Stream;

/**
 * In-process store benchmark behind {@code mycelium bench store}: signed puts per second (make,
 * sign and store, as a client's batch would be handled) and verified gets per second (every
 * read checks the SHA-256 against the fragment ID), each on two threads, the reference
 * machine's core count.
 *
 * <p>It also times the parts, so a shortfall can be pinned on signing, on verification or on
 * the store itself. A benchmark, not a test: it asserts nothing and is never run by the build.
 */
public final class StoreBench {
  /** Threads per phase: the reference machine has two cores. */
  public static final int THREADS = 2;

  private StoreBench() {}

  /**
   * What one run measured.
   *
   * @param n fragments written and read
   * @param textBytes UTF-8 bytes of text per fragment
   * @param dim vector dimension
   * @param signedPutsPerSec make + sign + put, fragments per second on {@link #THREADS} threads
   * @param verifiedGetsPerSec get with full verification, per second on {@link #THREADS} threads
   * @param createMicros mean time in {@code FragmentCodec.create} per fragment (one thread)
   * @param putMicros mean time in {@code FragmentStore.put} per fragment (one thread)
   * @param signOnlyPerSec bare Ed25519 signatures per second on {@link #THREADS} threads
   * @param verifyOnlyPerSec bare fragment verifications (hash, canonical form, signature,
   *     decode) per second on {@link #THREADS} threads
   * @param hashOnlyPerSec bare SHA-256 checks of a body against its ID per second on
   *     {@link #THREADS} threads: what a read would cost that trusted the signature checked at
   *     put time
   * @param presentAfterGets gets that answered PRESENT (should be {@code n})
   */
  public record Result(
      int n,
      int textBytes,
      int dim,
      double signedPutsPerSec,
      double verifiedGetsPerSec,
      double createMicros,
      double putMicros,
      double signOnlyPerSec,
      double verifyOnlyPerSec,
      double hashOnlyPerSec,
      long presentAfterGets) {

    /** The share of a put's time that goes into making and signing the fragment. */
    public double createShare() {
      return createMicros / (createMicros + putMicros);
    }
  }

  /**
   * Runs the benchmark on {@code store}, which must be empty of these fragments, hold at least
   * {@code n} more, and verify vectors of {@code dim} dimensions.
   */
  public static Result run(FragmentStore store, int n, int textBytes, int dim, long seed) {
    if (n < THREADS) {
      throw new IllegalArgumentException("--n must be at least " + THREADS + ", got " + n);
    }
    FragmentLimits limits =
        FragmentLimits.DEFAULTS.withDimension(dim);
    if (textBytes > limits.maxTextBytes()) {
      throw new IllegalArgumentException(
          "--text is at most " + limits.maxTextBytes() + " bytes, got " + textBytes);
    }
    FragmentCodec codec = new FragmentCodec(limits);
    byte[] ownerSeed = new byte[32];
    new SplittableRandom(seed).nextBytes(ownerSeed);
    OwnerKeys owner = OwnerKeys.fromSeed(ownerSeed);
    String filler = filler(textBytes, seed);
    AtomicReferenceArray<FragmentId> ids = new AtomicReferenceArray<>(n);
    int sample = Math.min(n, 10_000);
    AtomicReferenceArray<SignedFragment> kept = new AtomicReferenceArray<>(sample);
    AtomicLong createNanos = new AtomicLong();
    AtomicLong putNanos = new AtomicLong();

    long putWall =
        parallel(n, i -> {
          String label = "#" + i + " ";
          String text = label + filler.substring(0, Math.max(0, textBytes - label.length()));
          float[] vector = vector(dim, seed * 31 + i);
          long t0 = System.nanoTime();
          Fragment f = codec.create(owner, 1_700_000_000_000L + i, text, vector,
              Map.of("bench", "store", "i", Integer.toString(i)), Visibility.SHARED);
          long t1 = System.nanoTime();
          store.put(f);
          long t2 = System.nanoTime();
          createNanos.addAndGet(t1 - t0);
          putNanos.addAndGet(t2 - t1);
          ids.set(i, f.id());
          if (i < sample) {
            kept.set(i, f.signed());
          }
        });

    int[] order = shuffled(n, seed);
    AtomicLong present = new AtomicLong();
    long getWall =
        parallel(n, i -> {
          if (store.get(ids.get(order[i])).map(s -> s.state() == FragmentState.PRESENT)
              .orElse(false)) {
            present.incrementAndGet();
          }
        });

    byte[] message = new byte[32];
    long signWall = parallel(sample, i -> owner.sign(message));
    long verifyWall = parallel(sample, i -> codec.verify(kept.get(i)));
    AtomicLong mismatches = new AtomicLong();
    long hashWall = parallel(sample, i -> {
      byte[] digest = Canonical.sha256(kept.get(i).getBody().toByteArray());
      if (!java.util.Arrays.equals(digest, ids.get(i).toBytes())) {
        mismatches.incrementAndGet();
      }
    });
    if (mismatches.get() != 0) {
      throw new IllegalStateException(mismatches.get() + " fragments failed their hash in memory");
    }

    return new Result(
        n,
        textBytes,
        dim,
        perSecond(n, putWall),
        perSecond(n, getWall),
        createNanos.get() / 1e3 / n,
        putNanos.get() / 1e3 / n,
        perSecond(sample, signWall),
        perSecond(sample, verifyWall),
        perSecond(sample, hashWall),
        present.get());
  }

  /**
   * Runs from the command line: {@code --store chronicle|memory|both --n N --text BYTES
   * --dim D --seed S [--dir DIR]}. Start the JVM with {@code @config/jvm.options}.
   */
  public static void main(String[] args) throws IOException {
    String which = "both";
    int n = 100_000;
    int text = 1024;
    int dim = 384;
    long seed = 1;
    Path dir = null;
    for (int a = 0; a < args.length; a++) {
      String value = a + 1 < args.length ? args[a + 1] : null;
      switch (args[a]) {
        case "--store" -> which = value;
        case "--n" -> n = Integer.parseInt(value);
        case "--text" -> text = Integer.parseInt(value);
        case "--dim" -> dim = Integer.parseInt(value);
        case "--seed" -> seed = Long.parseLong(value);
        case "--dir" -> dir = Path.of(value);
        default -> throw new IllegalArgumentException(
            "unknown option " + args[a]
                + "; use --store chronicle|memory|both --n N --text BYTES --dim D --seed S --dir DIR");
      }
      a++;
    }
    FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(dim));
    System.out.printf(Locale.ROOT, "%-10s %8s %6s %5s %10s %10s %10s %8s %10s %10s %10s%n",
        "store", "n", "text", "dim", "puts/s", "gets/s", "create_us", "put_us", "signs/s",
        "verifies/s", "hashes/s");
    if (which.equals("memory") || which.equals("both")) {
      try (FragmentStore store = new InMemoryFragmentStore(codec)) {
        print("memory", run(store, n, text, dim, seed));
      }
    }
    if (which.equals("chronicle") || which.equals("both")) {
      boolean temporary = dir == null;
      Path where = temporary ? Files.createTempDirectory("mycelium-bench") : dir;
      int average = text + 4 * dim + 256;
      try (FragmentStore store = ChronicleFragmentStore.open(where, n, average, codec)) {
        print("chronicle", run(store, n, text, dim, seed));
      } finally {
        if (temporary) {
          deleteTree(where);
        }
      }
    }
  }

  private static void print(String name, Result r) {
    System.out.printf(Locale.ROOT,
        "%-10s %8d %6d %5d %10.0f %10.0f %10.1f %8.1f %10.0f %10.0f %10.0f%n",
        name, r.n(), r.textBytes(), r.dim(), r.signedPutsPerSec(), r.verifiedGetsPerSec(),
        r.createMicros(), r.putMicros(), r.signOnlyPerSec(), r.verifyOnlyPerSec(),
        r.hashOnlyPerSec());
    if (r.presentAfterGets() != r.n()) {
      System.out.println("  warning: only " + r.presentAfterGets() + " of " + r.n()
          + " gets answered PRESENT");
    }
  }

  /** Runs {@code body} for 0..n-1 split across {@link #THREADS} threads; returns wall nanos. */
  private static long parallel(int n, IntConsumer body) {
    List<Thread> threads = new ArrayList<>();
    RuntimeException[] failure = new RuntimeException[1];
    long start = System.nanoTime();
    for (int t = 0; t < THREADS; t++) {
      int first = t;
      Thread thread = new Thread(() -> {
        try {
          for (int i = first; i < n; i += THREADS) {
            body.accept(i);
          }
        } catch (RuntimeException e) {
          synchronized (failure) {
            failure[0] = e;
          }
        }
      }, "bench-" + t);
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("benchmark interrupted", e);
      }
    }
    long wall = System.nanoTime() - start;
    synchronized (failure) {
      if (failure[0] != null) {
        throw failure[0];
      }
    }
    return wall;
  }

  private static double perSecond(long ops, long nanos) {
    return ops * 1e9 / Math.max(1, nanos);
  }

  private static String filler(int bytes, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    StringBuilder sb = new StringBuilder(bytes);
    String words = "spore hypha mycelium root soil memory fragment network node ";
    while (sb.length() < bytes) {
      int at = r.nextInt(words.length() - 6);
      sb.append(words, at, at + 6);
    }
    return sb.substring(0, bytes);
  }

  private static float[] vector(int dim, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[dim];
    for (int i = 0; i < dim; i++) {
      v[i] = (float) r.nextDouble(-1, 1);
    }
    return v;
  }

  private static int[] shuffled(int n, long seed) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
