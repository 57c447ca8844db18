package dev.mycelium.storage;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.StoreFullException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import net.openhft.chronicle.hash.ChronicleHashClosedException;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import net.openhft.chronicle.map.MapEntry;
import net.openhft.chronicle.map.MapSegmentContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A persistent byte map that starts small and grows with its content: the one place where the
 * fragment store and the replica store keep their Chronicle Map files.
 *
 * <p>Why generations: a Chronicle Map file is sized when it is made and allocated in full (the
 * library {@code fallocate}s it, so that a full disk is found when a file is made or extended
 * and never as a SIGBUS on a mapped page). Made for millions of entries it claims gigabytes on a
 * fresh node; made small it can never hold more. So the map is a list of generations, newest
 * first: when the newest nears the entries it was made for, a new file about twice the content
 * is made, writes go to it, and a background thread moves the older generation's entries into
 * it, then deletes the older file. Reads look in the newest generation, then the older one.
 *
 * <p>Crash safety: the manifest ({@code <base>.gens}) names the live generations and is only
 * ever replaced whole (written aside, synced, renamed). A new generation enters the manifest
 * only once its file is made; an old one leaves it only once it is empty. A file that is not in
 * the manifest is a leftover of an interrupted step and is deleted at open. An entry is moved by
 * copying it into the new generation before removing it from the old one, so an interruption
 * leaves at most a duplicate, which the next open resolves in favour of the old copy (the new
 * one may be torn, and no write changes a key's new copy while the old one exists).
 * Nothing acknowledged is lost at any step. Every generation is recovered with Chronicle's
 * {@code recoverPersistedTo} when the clean-shutdown marker is missing. Generations are made
 * without Chronicle's extra segment tiers, because that recovery drops every extra tier after
 * the first empty one, and a move empties the old generation's tiers in no particular order.
 *
 * <p>Full disk: before a generation is made, the free space is checked against the file's
 * estimated size plus {@code storage.min-free-disk-mb}; below that the growth is refused,
 * {@link #lowDisk()} says why, and new keys are refused with a {@link StoreFullException} that
 * says how much is needed, while updates and removals of existing keys go on.
 *
 * <p>Concurrency: writes of one key are serialised by a striped lock, so that "absent in both
 * generations" and "present in this one" are decided atomically against the mover. A generation
 * is closed only after every operation that could see it has finished (each operation counts
 * itself in on the list of generations it uses).
 */
public final class ChronicleFile implements AutoCloseable {
  static {
    // Chronicle reads these when its classes initialise, so they are set before any is touched,
    // in case the JVM was started without config/jvm.options: no analytics, no banner.
    if (System.getProperty("chronicle.analytics.disable") == null) {
      System.setProperty("chronicle.analytics.disable", "true");
    }
    if (System.getProperty("chronicle.announcer.disable") == null) {
      System.setProperty("chronicle.announcer.disable", "true");
    }
  }

  /** The config key of the disk space kept free, named in every refusal it causes. */
  public static final String MIN_FREE_KEY = "storage.min-free-disk-mb";
  /** Bytes of a generation's key salt. */
  static final int SALT_BYTES = 32;
  private static final SecureRandom SALTS = new SecureRandom();
  /** Entries a new store's first generation is made for. */
  public static final long DEFAULT_INITIAL_ENTRIES = 4096;
  /** Disk space kept free by default. */
  public static final long DEFAULT_MIN_FREE_BYTES = 256L << 20;

  /** Share of a generation's entries at which the next one is made. */
  static final double GROW_AT = 0.85;
  /**
   * The next generation is made for this many times the entries held: about half full right
   * after a growth, so the file stays within about twice the bytes it holds.
   */
  static final double GROW_TO = 1.8;
  /** How long a write waits for a generation being made when its own is physically full. */
  private static final long GROWTH_WAIT_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final int STRIPES = 256;
  /**
   * No generation is made for fewer entries: Chronicle gives a map this small a single segment,
   * and generations of a few dozen entries, filled while they were being moved into, were seen
   * to overflow it and damage its counters.
   */
  static final long MIN_GENERATION_ENTRIES = 1024;
  /** The clean marker's line with the bytes of all values. */
  private static final String VALUE_BYTES = "chronicle-file.value-bytes";
  private static final int KEY_BYTES = FragmentId.LENGTH;
  private static final Logger LOG = LoggerFactory.getLogger(ChronicleFile.class);

  /** Where free space is read from; a test hands in its own. */
  @FunctionalInterface
  public interface FreeSpace {
    /** Bytes this process may still allocate on the disk holding the store. */
    long usableBytes() throws IOException;
  }

  /**
   * The names of one store's files in its data directory, all made from one base name: the
   * store, its tests and recovery tools spell them through this, never by hand.
   *
   * @param base what every name starts with ({@code fragments} makes {@code fragments.cm3})
   */
  public record Names(String base) {
    /** Checks that the base can name a file. */
    public Names {
      if (base == null || base.isEmpty() || base.contains("/") || base.contains(".")) {
        throw new IllegalArgumentException("a store's base name must be a plain word, got "
            + base);
      }
    }

    /** Generation {@code number}'s map file; the first is {@code <base>.cm3}. */
    public String generation(int number) {
      return number == 0 ? base + ".cm3" : base + "." + number + ".cm3";
    }

    /** The clean-shutdown marker, written by close once every file is synced. */
    public String cleanMarker() {
      return base + ".clean";
    }

    /** Held as an OS file lock while the store is open, so no second process opens it. */
    public String lock() {
      return base + ".lock";
    }

    /** The manifest of live generations. */
    public String manifest() {
      return base + ".gens";
    }

    /** Where the manifest is written before it is renamed over the old one. */
    String manifestTemp() {
      return manifest() + ".tmp";
    }

    /** What a store made before generations existed was sized for. */
    String sizing() {
      return base + ".sizing";
    }

    /**
     * Whether {@code name} is a generation file or a leftover of a growth step (a manifest not
     * yet renamed, or the {@code <base>.cm3.grow} an older layout grew into).
     */
    boolean isGenerationFile(String name) {
      return name.equals(generation(0))
          || name.matches(java.util.regex.Pattern.quote(base) + "\\.[0-9]+\\.cm3")
          || name.equals(generation(0) + ".grow") || name.equals(manifestTemp());
    }
  }

  /**
   * How one store's file is named, sized and bounded.
   *
   * @param names the store's file names
   * @param what the store's name in messages ("fragment store")
   * @param initialEntries entries the first generation is made for
   * @param averageValueBytes expected bytes of one value until there are values to measure
   * @param largestValueBytes an upper bound on one value
   * @param maxEntries most entries the owner will ever put (its own limit); no generation is
   *     made for more
   * @param minFreeDiskBytes disk space never taken by growth or new keys
   * @param freeSpace the free-space reading, or null for the file system's own
   */
  public record Spec(
      Names names,
      String what,
      long initialEntries,
      int averageValueBytes,
      long largestValueBytes,
      long maxEntries,
      long minFreeDiskBytes,
      FreeSpace freeSpace) {
    /** Checks the bounds. */
    public Spec {
      Objects.requireNonNull(names, "names");
      if (initialEntries < 1) {
        throw new IllegalArgumentException("initial entries must be at least 1, got "
            + initialEntries);
      }
      if (averageValueBytes < 64) {
        throw new IllegalArgumentException("the average value size must be at least 64 bytes, "
            + "got " + averageValueBytes);
      }
      if (minFreeDiskBytes < 0) {
        throw new IllegalArgumentException(MIN_FREE_KEY + " must not be negative");
      }
    }
  }

  /**
   * How a store grows: what its first file is made for, the disk space it keeps free, and where
   * free space is read from.
   *
   * @param initialEntries entries the first generation is made for
   * @param minFreeDiskBytes disk space never taken by growth or new keys
   * @param freeSpace the free-space reading, or null for the file system's own
   */
  public record Growth(long initialEntries, long minFreeDiskBytes, FreeSpace freeSpace) {
    /** 4,096 entries at first, 256 MiB kept free, the file system's own reading. */
    public static final Growth DEFAULTS =
        new Growth(DEFAULT_INITIAL_ENTRIES, DEFAULT_MIN_FREE_BYTES, null);

    /** The same, keeping {@code mib} MiB free ({@value ChronicleFile#MIN_FREE_KEY}). */
    public static Growth keepingFree(long mib) {
      return new Growth(DEFAULT_INITIAL_ENTRIES, mib << 20, null);
    }
  }

  /**
   * One Chronicle file: its number, the entries and value size it was made for, and the salt
   * its keys are stored under. Every key operation goes through it, so that no caller sees a
   * salted key.
   */
  private static final class Gen {
    final int number;
    final long entries;
    final int averageValueBytes;
    final Path file;
    /** XORed into every key before Chronicle hashes it; null for a file made without one. */
    final byte[] salt;
    ChronicleMap<byte[], byte[]> map;

    Gen(int number, long entries, int averageValueBytes, Path file, byte[] salt) {
      this.number = number;
      this.entries = entries;
      this.averageValueBytes = averageValueBytes;
      this.file = file;
      this.salt = salt;
    }

    long growAt() {
      return Math.max(1, (long) (entries * GROW_AT));
    }

    /** The value bytes the generation was made for. */
    long madeForBytes() {
      return entries * averageValueBytes;
    }

    /** The key as this file stores it, and back: XOR is its own inverse. */
    byte[] salted(byte[] key) {
      if (salt == null) {
        return key;
      }
      byte[] out = new byte[key.length];
      for (int i = 0; i < key.length; i++) {
        out[i] = (byte) (key[i] ^ salt[i % salt.length]);
      }
      return out;
    }

    byte[] get(byte[] key) {
      return map.get(salted(key));
    }

    boolean containsKey(byte[] key) {
      return map.containsKey(salted(key));
    }

    boolean putIfAbsent(byte[] key, byte[] value) {
      return map.putIfAbsent(salted(key), value) == null;
    }

    byte[] put(byte[] key, byte[] value) {
      return map.put(salted(key), value);
    }

    boolean replace(byte[] key, byte[] expected, byte[] value) {
      return map.replace(salted(key), expected, value);
    }

    boolean remove(byte[] key, byte[] expected) {
      return map.remove(salted(key), expected);
    }

    void remove(byte[] key) {
      map.remove(salted(key));
    }

    /** Visits copies of each segment's entries, keys unsalted, outside the segment's lock. */
    <T> void forEachCopied(Function<MapEntry<byte[], byte[]>, T> copy, Consumer<T> visitor) {
      for (int s = 0; s < map.segments(); s++) {
        forEachCopiedIn(s, copy, visitor);
      }
    }

    <T> void forEachCopiedIn(int segment, Function<MapEntry<byte[], byte[]>, T> copy,
        Consumer<T> visitor) {
      List<T> copies = new ArrayList<>();
      try (MapSegmentContext<byte[], byte[], ?> ctx = map.segmentContext(segment)) {
        ctx.forEachSegmentEntry(e -> copies.add(copy.apply(e)));
      }
      copies.forEach(visitor);
    }

    void forEachKey(Consumer<byte[]> visitor) {
      forEachCopied(e -> salted(e.key().get().clone()), visitor);
    }

    void forEach(BiConsumer<byte[], byte[]> visitor) {
      forEachCopied(e -> new byte[][] {salted(e.key().get().clone()), e.value().get().clone()},
          e -> visitor.accept(e[0], e[1]));
    }
  }

  /** The live generations as one immutable snapshot; operations count themselves in. */
  private static final class Gens {
    final Gen active;
    final Gen old;
    final AtomicLong users = new AtomicLong();
    volatile Gens previous;

    Gens(Gen active, Gen old, Gens previous) {
      this.active = active;
      this.old = old;
      this.previous = previous;
    }
  }

  private final Path dir;
  private final Spec spec;
  private final FileChannel lock;
  private final boolean recovered;
  private final Properties cleanMarker;
  private final FileStore fileStore;
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
  /** Iterations hold it shared; the mover holds it exclusively per batch, so none sees a move. */
  private final ReentrantReadWriteLock moves = new ReentrantReadWriteLock();
  private final AtomicLong size = new AtomicLong();
  /** Bytes of all values held; with {@link #size} it sizes the next generation. */
  private final AtomicLong valueBytes = new AtomicLong();
  /** A generation Chronicle found physically full, which must grow whatever the counts say. */
  private volatile Gen foundFull;
  private final AtomicLong growths = new AtomicLong();
  private final AtomicBoolean backgroundQueued = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object growthMonitor = new Object();
  private final ExecutorService background;
  private volatile Gens current;
  private volatile boolean closing;
  /** Why the last growth was refused, until one succeeds. */
  private volatile String growthRefusal;
  /** Bytes the refused growth needed, so that it is tried again only once they are free. */
  private volatile long refusedNeed;
  private volatile boolean warnedLowDisk;

  private ChronicleFile(Path dir, Spec spec, FileChannel lock, boolean recovered,
      Properties cleanMarker, FileStore fileStore) {
    this.dir = dir;
    this.spec = spec;
    this.lock = lock;
    this.recovered = recovered;
    this.cleanMarker = cleanMarker;
    this.fileStore = fileStore;
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantLock();
    }
    this.background = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "mycelium-" + spec.names().base() + "-growth");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Opens (or makes) the map in {@code dir}: takes the lock file, reads the manifest, deletes
   * leftovers of an interrupted growth, recovers every generation when the last stop was
   * unclean, and resumes a move that was under way.
   *
   * @throws IOException when the directory or a file cannot be used (the disk too full to make
   *     the first generation among them), or another process has the store open
   */
  public static ChronicleFile open(Path dir, Spec spec) throws IOException {
    Files.createDirectories(dir);
    FileChannel lock = lock(dir, spec);
    List<Gen> opened = new ArrayList<>();
    try {
      Path marker = dir.resolve(spec.names().cleanMarker());
      List<Gen> gens = readManifest(dir, spec);
      boolean anyFile = false;
      for (Gen g : gens) {
        anyFile |= Files.exists(g.file);
      }
      boolean recovered = anyFile && !Files.exists(marker);
      Properties markerProps = recovered ? null : readProperties(marker);
      deleteLeftovers(dir, spec, gens);
      FileStore store = Files.getFileStore(dir);
      if (gens.isEmpty()) {
        Gen first = new Gen(0, physicalEntries(spec.initialEntries(), spec.averageValueBytes(),
            spec), spec.averageValueBytes(), fileOf(dir, spec, 0), newSalt());
        gens.add(first);
      }
      if (recovered) {
        LOG.warn("the {} in {} was not closed cleanly; recovering {} before serving",
            spec.what(), dir, names(gens));
      }
      for (Gen g : gens) {
        ChronicleMapBuilder<byte[], byte[]> b = builder(g.entries, g.averageValueBytes, spec);
        g.map = recovered && Files.exists(g.file)
            ? b.recoverPersistedTo(g.file.toFile(), false)
            : b.createPersistedTo(g.file.toFile());
        opened.add(g);
      }
      writeManifest(dir, spec, gens);
      // From here on a crash leaves no marker, so the next open recovers.
      Files.deleteIfExists(marker);
      Files.deleteIfExists(dir.resolve(spec.names().sizing()));
      syncDirectory(dir);
      ChronicleFile f = new ChronicleFile(dir, spec, lock, recovered, markerProps, store);
      Gen old = gens.size() > 1 ? gens.get(1) : null;
      if (old != null) {
        f.resolveDuplicates(gens.get(0), old);
      }
      f.current = new Gens(gens.get(0), old, null);
      long total = 0;
      for (Gen g : gens) {
        total += g.map.longSize();
      }
      f.size.set(total);
      long bytes = markerProps == null ? -1 : parseLong(markerProps, VALUE_BYTES, -1);
      f.valueBytes.set(bytes >= 0 ? bytes : measureValueBytes(gens));
      if (old != null || f.growthDue(f.current)) {
        f.requestBackground();
      }
      return f;
    } catch (IOException | RuntimeException e) {
      for (Gen g : opened) {
        g.map.close();
      }
      lock.close();
      throw e;
    }
  }

  // ---- reads and writes ----

  /** The value under a key, or null. */
  public byte[] get(byte[] key) {
    ensureOpen();
    while (true) {
      Gens g = acquire();
      byte[] v;
      try {
        v = g.active.get(key);
        if (v == null && g.old != null) {
          v = g.old.get(key);
          if (v == null) {
            // Moved between the two looks: moves copy before they remove.
            v = g.active.get(key);
          }
        }
      } catch (ChronicleHashClosedException e) {
        throw closedError();
      } finally {
        release(g);
      }
      if (v != null || g == current) {
        return v;
      }
    }
  }

  /**
   * Adds a value under a key that is absent from every generation.
   *
   * @return false when the key was present
   * @throws StoreFullException when the disk is nearly full, or the map cannot take the value
   *     and cannot grow
   */
  public boolean putIfAbsent(byte[] key, byte[] value) {
    ensureOpen();
    checkFreeSpace();
    Gens g0 = current;
    String refusal = growthRefusal;
    if (refusal != null && g0.old == null && atMadeFor(g0)) {
      // The generation is at what it was made for and the next one does not fit: its segments'
      // last headroom is kept for updates of the keys already held.
      if (usable() - refusedNeed < spec.minFreeDiskBytes()) {
        throw new StoreFullException(refusal);
      }
      requestBackground();
    }
    while (true) {
      Gens before = current;
      if (atMadeFor(before) && (before.old != null || before.active.entries < maxPhysical())) {
        // A generation is never filled past what it was made for: the rest of its file is
        // headroom for values that grow in place, and Chronicle, without extra tiers, damages
        // a segment's counters when such a value finds no room (the entry stays listed with
        // its space freed). Writers outpacing the growth thread (making and syncing a file
        // takes a while on a slow disk) or the mover (which must bring the old keys in before
        // the new file fills) wait for it here instead.
        awaitGrowth(before, null);
        continue;
      }
      ReentrantLock l = stripe(key);
      Gens g;
      RuntimeException refused = null;
      boolean inserted = false;
      l.lock();
      try {
        g = acquire();
        try {
          if (g.old != null && g.old.containsKey(key)) {
            return false;
          }
          inserted = g.active.putIfAbsent(key, value);
        } catch (ChronicleHashClosedException e) {
          throw closedError();
        } catch (RuntimeException e) {
          refused = e;
        } finally {
          release(g);
        }
      } finally {
        l.unlock();
      }
      if (refused == null) {
        if (inserted) {
          size.incrementAndGet();
          valueBytes.addAndGet(value.length);
          if (growthDue(g)) {
            maybeGrow();
          }
        }
        return inserted;
      }
      awaitGrowth(g, refused);
    }
  }

  /**
   * Replaces {@code expected} (as last read) by {@code value}, in whichever generation holds it.
   *
   * @return false when the key is absent or its value changed
   */
  public boolean replace(byte[] key, byte[] expected, byte[] value) {
    ensureOpen();
    while (true) {
      ReentrantLock l = stripe(key);
      Gens g;
      RuntimeException refused = null;
      l.lock();
      try {
        g = acquire();
        try {
          Gen h = holder(g, key);
          if (h == g.old) {
            // The old file is being emptied and may be close to full: the key goes across with
            // its new value instead of being rewritten there. Copied before it is removed, as
            // the mover does, so a crash in between keeps the old value (not yet acknowledged).
            if (!Arrays.equals(h.get(key), expected)) {
              return false;
            }
            g.active.put(key, value);
            h.remove(key);
          } else if (!h.replace(key, expected, value)) {
            return false;
          }
          valueBytes.addAndGet(value.length - expected.length);
          if (value.length > expected.length && growthDue(g)) {
            maybeGrow();
          }
          return true;
        } catch (ChronicleHashClosedException e) {
          throw closedError();
        } catch (RuntimeException e) {
          refused = e;
        } finally {
          release(g);
        }
      } finally {
        l.unlock();
      }
      awaitGrowth(g, refused);
    }
  }

  /**
   * Removes {@code expected} (as last read).
   *
   * @return false when the key is absent or its value changed
   */
  public boolean remove(byte[] key, byte[] expected) {
    ensureOpen();
    ReentrantLock l = stripe(key);
    l.lock();
    try {
      Gens g = acquire();
      try {
        boolean removed = holder(g, key).remove(key, expected);
        if (removed) {
          size.decrementAndGet();
          valueBytes.addAndGet(-expected.length);
        }
        return removed;
      } catch (ChronicleHashClosedException e) {
        throw closedError();
      } finally {
        release(g);
      }
    } finally {
      l.unlock();
    }
  }

  /** Overwrites unconditionally; only for damaging a value in tests. */
  public void putForTest(byte[] key, byte[] value) {
    ensureOpen();
    ReentrantLock l = stripe(key);
    l.lock();
    try {
      Gens g = acquire();
      try {
        Gen h = holder(g, key);
        byte[] before = h.put(key, value);
        if (before == null) {
          size.incrementAndGet();
        }
        valueBytes.addAndGet(value.length - (before == null ? 0 : before.length));
      } finally {
        release(g);
      }
    } finally {
      l.unlock();
    }
  }

  /**
   * Visits every entry once, with copies of its key and value. Each segment is copied out under
   * its lock and visited after it is released, so the visitor may call back into the map; no
   * entry moves between generations while the visit runs.
   */
  public void forEach(BiConsumer<byte[], byte[]> visitor) {
    forEachGeneration(gen -> gen.forEach(visitor));
  }

  /** Visits every key once, as {@link #forEach} does, without copying the values. */
  public void forEachKey(Consumer<byte[]> visitor) {
    forEachGeneration(gen -> gen.forEachKey(visitor));
  }

  /** Runs {@code perGen} on the old generation (if any) and then the active one, with no move. */
  private void forEachGeneration(Consumer<Gen> perGen) {
    ensureOpen();
    moves.readLock().lock();
    try {
      Gens g = acquire();
      try {
        if (g.old != null) {
          perGen.accept(g.old);
        }
        perGen.accept(g.active);
      } catch (ChronicleHashClosedException e) {
        throw closedError();
      } finally {
        release(g);
      }
    } finally {
      moves.readLock().unlock();
    }
  }

  // ---- what the owner asks about ----

  /** Entries held, over all generations. */
  public long size() {
    return size.get();
  }

  /** Bytes free on the disk holding the files, as the growth checks read it. */
  public long freeDiskBytes() {
    return usable();
  }

  /** Bytes of all values held (keys not included). */
  public long valueBytes() {
    return valueBytes.get();
  }

  /** Whether this open recovered the files after an unclean stop. */
  public boolean recovered() {
    return recovered;
  }

  /** What the last clean close wrote into the marker, or null after an unclean stop. */
  public Properties cleanMarker() {
    return cleanMarker;
  }

  /** Generations live now (2 while entries are being moved into a new one). */
  public int generations() {
    return current.old == null ? 1 : 2;
  }

  /** Entries the newest generation was made for. */
  public long generationEntries() {
    return current.active.entries;
  }

  /** Generations made since open. */
  public long growths() {
    return growths.get();
  }

  /** Bytes the live generation files take on disk (allocated, not their apparent length). */
  public long diskBytes() {
    Gens g = current;
    long total = allocatedBytes(g.active.file);
    if (g.old != null) {
      total += allocatedBytes(g.old.file);
    }
    return total;
  }

  /**
   * Why the store refuses new keys for lack of disk, or empty when it does not: free space below
   * {@value #MIN_FREE_KEY}, or a growth that is due and does not fit.
   */
  public java.util.Optional<String> lowDisk() {
    if (closed.get()) {
      return java.util.Optional.empty();
    }
    long free = usable();
    if (free < spec.minFreeDiskBytes()) {
      return java.util.Optional.of(belowMinimum(free));
    }
    Gens g = current;
    String refusal = growthRefusal;
    if (refusal != null && growthDue(g) && free - refusedNeed < spec.minFreeDiskBytes()) {
      return java.util.Optional.of(refusal);
    }
    return java.util.Optional.empty();
  }

  /**
   * Runs whatever growth work is due (a new generation, a move, the retirement of the old file)
   * and returns once it is done. Tests use it to reach a settled state without waiting on time.
   */
  public void settle() {
    ensureOpen();
    Future<?> f = background.submit(this::backgroundWork);
    try {
      f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("growth of the " + spec.what() + " failed", e.getCause());
    }
  }

  /**
   * Stops the growth thread (a move in progress stops between batches and resumes at the next
   * open), closes every generation, syncs the files, then writes the clean-shutdown marker with
   * the owner's lines, so that the marker is never on disk ahead of the data it vouches for.
   * Idempotent.
   *
   * @param markerLines property lines the next open hands back through {@link #cleanMarker()}
   */
  public void close(String markerLines) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closing = true;
    background.shutdown();
    try {
      if (!background.awaitTermination(5, TimeUnit.MINUTES)) {
        LOG.warn("the {} growth thread did not stop; closing anyway", spec.what());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Gens g = current;
    List<Gen> live = g.old == null ? List.of(g.active) : List.of(g.active, g.old);
    for (Gen gen : live) {
      gen.map.close();
    }
    try {
      for (Gen gen : live) {
        forceFile(gen.file);
      }
      Path marker = dir.resolve(spec.names().cleanMarker());
      Files.write(marker, (markerLines + (markerLines.isEmpty() || markerLines.endsWith("\n")
          ? "" : "\n") + VALUE_BYTES + "=" + valueBytes.get() + "\n")
          .getBytes(StandardCharsets.UTF_8));
      forceFile(marker);
      syncDirectory(dir);
    } catch (IOException e) {
      LOG.warn("could not mark the {} in {} as closed cleanly ({}); the next start will run "
          + "recovery", spec.what(), dir, e.toString());
    } finally {
      try {
        lock.close();
      } catch (IOException e) {
        LOG.warn("could not release {} ({})", dir.resolve(spec.names().lock()),
            e.toString());
      }
    }
  }

  @Override
  public void close() {
    close("");
  }

  /** Whether {@link #close} has run. */
  public boolean isClosed() {
    return closed.get();
  }

  // ---- growth ----

  /**
   * Whether the newest generation nears what it was made for, in entries or in value bytes
   * (values larger than it was made for fill it before the entries do).
   */
  private boolean growthDue(Gens g) {
    return size.get() >= g.active.growAt()
        || valueBytes.get() >= (long) (g.active.madeForBytes() * GROW_AT);
  }

  /** Whether the newest generation holds what it was made for, in entries or value bytes. */
  private boolean atMadeFor(Gens g) {
    return size.get() >= g.active.entries || valueBytes.get() >= g.active.madeForBytes();
  }

  /** Asks for a growth, unless the last one was refused and the space it needed is not free. */
  private void maybeGrow() {
    if (growthRefusal != null && usable() - refusedNeed < spec.minFreeDiskBytes()) {
      return;
    }
    requestBackground();
  }

  private void requestBackground() {
    if (closing || !backgroundQueued.compareAndSet(false, true)) {
      return;
    }
    try {
      background.execute(() -> {
        backgroundQueued.set(false);
        backgroundWork();
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      backgroundQueued.set(false);
    }
  }

  /** Moves and retires an old generation, then grows while growth is due; logs what fails. */
  private void backgroundWork() {
    try {
      while (!closing) {
        Gens g = current;
        if (g.old != null) {
          if (!move(g)) {
            return;
          }
          retire(g);
          continue;
        }
        boolean forced = foundFull == g.active;
        if (!(forced || growthDue(g)) || (!forced && g.active.entries >= maxPhysical())
            || !grow(g)) {
          return;
        }
      }
    } catch (RuntimeException | IOException e) {
      if (growthRefusal == null) {
        LOG.error("growing the {} in {} failed; it keeps serving from its current file",
            spec.what(), dir, e);
      } else {
        // A writer waiting on an unfinished move asks for it again; once is enough to log.
        LOG.debug("growing the {} in {} failed again: {}", spec.what(), dir, e.toString());
      }
      // Not tried again until the next start: a failure that is not about space would only
      // repeat on every write.
      refusedNeed = Long.MAX_VALUE / 4;
      growthRefusal = "growing the " + spec.what() + " failed (" + e + "); restart the node to "
          + "try again";
    } finally {
      synchronized (growthMonitor) {
        growthMonitor.notifyAll();
      }
    }
  }

  /**
   * Makes the next generation, if the disk has room for it and the free space to keep, and
   * switches writes to it.
   *
   * @return false when it was refused
   */
  private boolean grow(Gens g) throws IOException {
    long held = size.get();
    long bytes = valueBytes.get();
    int average = held < 16 ? g.active.averageValueBytes
        : (int) Math.max(64, Math.min(Integer.MAX_VALUE / 2, (bytes + held - 1) / held));
    long entries = Math.max((long) Math.ceil(held * GROW_TO), g.active.entries + 1);
    entries = physicalEntries(Math.min(entries, maxPhysical()), average, spec);
    long need = estimateBytes(entries, average);
    long free = usable();
    if (free - need < spec.minFreeDiskBytes()) {
      // Near the end of the disk, a smaller step that still leaves room to write is better
      // than none: the last third of the disk would otherwise never be used.
      long fits = entriesFitting(free - spec.minFreeDiskBytes(), average);
      long least = Math.max(g.active.entries + 1, held + held / 8 + 16);
      if (fits < least) {
        refuseGrowth(held, entries, need, free);
        return false;
      }
      entries = physicalEntries(fits, average, spec);
      need = estimateBytes(entries, average);
      if (free - need < spec.minFreeDiskBytes()) {
        refuseGrowth(held, entries, need, free);
        return false;
      }
    }
    int number = g.active.number + 1;
    Gen next = new Gen(number, entries, average, fileOf(dir, spec, number), newSalt());
    Files.deleteIfExists(next.file);
    try {
      next.map = builder(entries, average, spec).createPersistedTo(next.file.toFile());
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(next.file);
      long nowFree = usable();
      if (nowFree - need < spec.minFreeDiskBytes() * 2) {
        refuseGrowth(held, entries, need, nowFree);
        return false;
      }
      throw e;
    }
    if (usable() < spec.minFreeDiskBytes()) {
      // The estimate was short: give the space back rather than eat into the reserve.
      next.map.close();
      Files.deleteIfExists(next.file);
      refuseGrowth(held, entries, need, usable());
      return false;
    }
    forceFile(next.file);
    writeManifest(dir, spec, List.of(next, g.active));
    syncDirectory(dir);
    Gens grown = new Gens(next, g.active, g);
    lockAll();
    try {
      current = grown;
    } finally {
      unlockAll();
    }
    growthRefusal = null;
    growths.incrementAndGet();
    LOG.info("the {} grew: {} holds {} entries of {} and is copied into {}, made for {} entries "
        + "of {} bytes ({} MiB)", spec.what(), g.active.file.getFileName(), held,
        g.active.entries, next.file.getFileName(), entries, average,
        allocatedBytes(next.file) >> 20);
    synchronized (growthMonitor) {
      growthMonitor.notifyAll();
    }
    return true;
  }

  private void refuseGrowth(long held, long entries, long need, long free) {
    String msg = "the " + spec.what() + " holds " + held + " entries and must grow to a file for "
        + entries + " (about " + mib(need) + " MiB), but the disk holding " + dir + " has "
        + mib(free) + " MiB free and " + MIN_FREE_KEY + " keeps " + mib(spec.minFreeDiskBytes())
        + " MiB free: free " + mib(need + spec.minFreeDiskBytes() - free)
        + " MiB more, or move the data directory to a larger disk";
    if (!msg.equals(growthRefusal)) {
      LOG.warn("{}; new entries are refused until then", msg);
    }
    refusedNeed = need;
    growthRefusal = msg;
  }

  /**
   * Copies every entry of the old generation into the new one and removes it from the old,
   * one segment per batch, holding the move lock per batch so no iteration sees an entry twice.
   *
   * @return false when the store began closing before the move finished
   */
  private boolean move(Gens g) {
    Gen from = g.old;
    Gen to = g.active;
    for (int pass = 0; from.map.longSize() > 0; pass++) {
      if (pass > 100) {
        throw new IllegalStateException(from.map.longSize() + " entries are left in "
            + from.file.getFileName() + " after 100 passes");
      }
      for (int s = 0; s < from.map.segments(); s++) {
        if (closing) {
          return false;
        }
        moves.writeLock().lock();
        try {
          List<byte[]> keys = new ArrayList<>();
          from.forEachCopiedIn(s, e -> from.salted(e.key().get().clone()), keys::add);
          for (byte[] key : keys) {
            ReentrantLock l = stripe(key);
            l.lock();
            try {
              byte[] v = from.get(key);
              if (v != null) {
                if (!to.containsKey(key)) {
                  try {
                    to.put(key, v);
                  } catch (RuntimeException e) {
                    // Leave the entry where it is, whole: the old copy stays the one read.
                    to.remove(key);
                    throw e;
                  }
                }
                from.remove(key);
              }
            } finally {
              l.unlock();
            }
          }
        } finally {
          moves.writeLock().unlock();
        }
      }
    }
    return true;
  }

  /** Drops the emptied old generation: out of the manifest first, then closed and deleted. */
  private void retire(Gens g) throws IOException {
    Gens single = new Gens(g.active, null, g);
    // With every writer held off, nothing can reach the old file any more: whatever the
    // batches left behind (an entry rewritten while its segment was being copied out) is moved
    // now, before the manifest stops naming the old file.
    moves.writeLock().lock();
    lockAll();
    try {
      int late = moveRemainder(g.old, g.active);
      if (late > 0) {
        LOG.info("{} late entries of the {} moved into {}", late, spec.what(),
            g.active.file.getFileName());
      }
      writeManifest(dir, spec, List.of(g.active));
      current = single;
    } finally {
      unlockAll();
      moves.writeLock().unlock();
    }
    synchronized (growthMonitor) {
      growthMonitor.notifyAll();
    }
    drain(g);
    if (g.previous != null) {
      drain(g.previous);
    }
    g.previous = null;
    g.old.map.close();
    Files.deleteIfExists(g.old.file);
    syncDirectory(dir);
    LOG.info("the {} moved into {}; {} deleted", spec.what(), g.active.file.getFileName(),
        g.old.file.getFileName());
  }

  /** Moves every entry left in {@code from}; the caller holds every stripe. */
  private static int moveRemainder(Gen from, Gen to) {
    List<byte[][]> left = new ArrayList<>();
    from.forEach((k, v) -> left.add(new byte[][] {k, v}));
    for (byte[][] e : left) {
      if (!to.containsKey(e[0])) {
        to.put(e[0], e[1]);
      }
      from.remove(e[0]);
    }
    return left.size();
  }

  /** Waits until no operation still uses a replaced snapshot; each holds it for one call. */
  private static void drain(Gens g) {
    while (g.users.get() > 0) {
      LockSupport.parkNanos(50_000);
    }
  }

  /**
   * A write found its generation physically full (Chronicle refused it): wait for the next
   * generation, or refuse when there will be none.
   */
  private void awaitGrowth(Gens seen, RuntimeException cause) {
    long deadline = System.nanoTime() + GROWTH_WAIT_NANOS;
    if (seen.old == null) {
      foundFull = seen.active;
    }
    requestBackground();
    synchronized (growthMonitor) {
      while (current == seen && !closing) {
        String refusal = growthRefusal;
        if (refusal != null && usable() - refusedNeed < spec.minFreeDiskBytes()) {
          // Refused and still no room; once the room is there the growth requested above
          // runs, and the write waits for it like any other.
          throw refused(refusal, cause);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw refused("the " + spec.what() + " is full and its next file was not ready within "
              + TimeUnit.NANOSECONDS.toSeconds(GROWTH_WAIT_NANOS) + " s", cause);
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(growthMonitor, Math.min(left,
              TimeUnit.MILLISECONDS.toNanos(200)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw refused("interrupted while the " + spec.what() + " grew", cause);
        }
        requestBackground();
      }
    }
    if (closing) {
      throw closedError();
    }
  }

  private static StoreFullException refused(String message, RuntimeException cause) {
    StoreFullException e = new StoreFullException(message
        + (cause == null ? "" : " (the map refused the write: " + cause.getMessage() + ")"));
    if (cause != null) {
      e.initCause(cause);
    }
    return e;
  }

  private void checkFreeSpace() {
    long free = usable();
    if (free < spec.minFreeDiskBytes()) {
      String msg = belowMinimum(free);
      if (!warnedLowDisk) {
        warnedLowDisk = true;
        LOG.warn("{}", msg);
      }
      throw new StoreFullException(msg);
    }
    warnedLowDisk = false;
  }

  private String belowMinimum(long free) {
    return "the disk holding " + dir + " has " + mib(free) + " MiB free, below the "
        + mib(spec.minFreeDiskBytes()) + " MiB that " + MIN_FREE_KEY + " keeps free: the "
        + spec.what() + " refuses new entries until " + mib(spec.minFreeDiskBytes() - free)
        + " MiB more is free";
  }

  private long usable() {
    try {
      return spec.freeSpace() != null ? spec.freeSpace().usableBytes()
          : fileStore.getUsableSpace();
    } catch (IOException e) {
      // Unknown free space refuses nothing; Chronicle's own allocation check still applies.
      return Long.MAX_VALUE;
    }
  }

  /**
   * Resolves keys found in both generations, which only a move cut short leaves: a write never
   * touches the new copy of a key while the old one exists (writes go to the generation that
   * holds the key, and a move copies and removes under the key's lock). So the old copy is the
   * one to keep: the new copy may be torn, written when the process died. The new copy is
   * dropped and the move puts the key across again.
   */
  private void resolveDuplicates(Gen active, Gen old) {
    List<byte[]> dups = new ArrayList<>();
    old.forEachKey(k -> {
      if (active.containsKey(k)) {
        dups.add(k);
      }
    });
    for (byte[] k : dups) {
      active.remove(k);
    }
    if (!dups.isEmpty()) {
      LOG.info("{} entries of the {} were in both {} and {} (a move cut short); the copies in "
          + "{} kept", dups.size(), spec.what(), active.file.getFileName(),
          old.file.getFileName(), old.file.getFileName());
    }
  }

  /** No generation is made for more than the owner's limit (with room for uneven segments). */
  private long maxPhysical() {
    long max = spec.maxEntries();
    return max > Long.MAX_VALUE / 2 ? Long.MAX_VALUE / 2 : max + max / 8 + 16;
  }

  // ---- snapshots and locks ----

  private Gens acquire() {
    while (true) {
      Gens g = current;
      g.users.incrementAndGet();
      if (g == current) {
        return g;
      }
      g.users.decrementAndGet();
    }
  }

  private static void release(Gens g) {
    g.users.decrementAndGet();
  }

  /** The generation that holds a key, or the newest when none does; under the key's stripe. */
  private static Gen holder(Gens g, byte[] key) {
    if (g.old != null && !g.active.containsKey(key) && g.old.containsKey(key)) {
      return g.old;
    }
    return g.active;
  }

  private ReentrantLock stripe(byte[] key) {
    return stripes[Arrays.hashCode(key) & (STRIPES - 1)];
  }

  private void lockAll() {
    for (ReentrantLock l : stripes) {
      l.lock();
    }
  }

  private void unlockAll() {
    for (int i = STRIPES - 1; i >= 0; i--) {
      stripes[i].unlock();
    }
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw closedError();
    }
  }

  private IllegalStateException closedError() {
    return new IllegalStateException("the " + spec.what() + " in " + dir + " is closed");
  }

  // ---- files ----

  /**
   * Chronicle limits one entry to a fraction of a segment, and a small map has small segments:
   * a map made for a few short values would refuse the largest one allowed. So a generation is
   * made for at least enough entries that a segment holds several of the largest values.
   */
  static long physicalEntries(long entries, int averageValueBytes, Spec spec) {
    long floor = (8 * spec.largestValueBytes() + averageValueBytes - 1) / averageValueBytes;
    return Math.max(Math.max(entries, floor), MIN_GENERATION_ENTRIES);
  }

  static ChronicleMapBuilder<byte[], byte[]> builder(long entries, int averageValueBytes,
      Spec spec) {
    return ChronicleMap.of(byte[].class, byte[].class)
        .name("mycelium-" + spec.names().base())
        .constantKeySizeBySample(new byte[KEY_BYTES])
        .averageValueSize(averageValueBytes)
        .entries(entries)
        // No extra tiers: Chronicle's recovery stops at the first extra tier it finds empty and
        // wipes every later one, entries and all. A move empties the old generation segment by
        // segment (and removals empty tiers in any generation), so after an unclean stop a
        // tiered file lost entries that were written and acknowledged. Without tiers every
        // segment is recovered on its own; a segment that fills refuses the write, which then
        // waits for the next generation (see awaitGrowth). Chronicle sizes each segment for the
        // 99.999th percentile of the entries it receives, and a generation is never filled past
        // what it was made for (see putIfAbsent), so such waits are rare.
        .allowSegmentTiering(false)
        // Chronicle's own entry checksums are off on purpose: its recovery silently drops an
        // entry whose checksum fails, where the stores' own checks turn it BLANK and repair it.
        .checksumEntries(false)
        // The owner closes the map, in order, after draining requests; Chronicle's own exit
        // hook would close it concurrently, under requests still running.
        .skipCloseOnExitHook(true);
  }

  /** The most entries whose generation file, by {@link #estimateBytes}, fits in {@code room}. */
  static long entriesFitting(long room, int averageValueBytes) {
    long perEntry = averageValueBytes + KEY_BYTES + 32;
    long fit = (room - (4L << 20)) * 8 / (9 * perEntry);
    return Math.max(0, fit);
  }

  /** An upper bound on the bytes of a generation file, from what the library allocates. */
  static long estimateBytes(long entries, int averageValueBytes) {
    long perEntry = averageValueBytes + KEY_BYTES + 32;
    return entries * perEntry + entries * perEntry / 8 + (4L << 20);
  }

  /** Bytes of all values, walked once when the last stop left no count of them. */
  private static long measureValueBytes(List<Gen> gens) {
    long[] total = {0};
    for (Gen g : gens) {
      for (int s = 0; s < g.map.segments(); s++) {
        try (MapSegmentContext<byte[], byte[], ?> ctx = g.map.segmentContext(s)) {
          ctx.forEachSegmentEntry(e -> total[0] += e.value().size());
        }
      }
    }
    return total[0];
  }

  /**
   * A fresh salt for a new generation. Chronicle places a key in a segment by a fixed hash of
   * its bytes, and a generation has no extra tiers, so a segment that receives more keys than
   * its share refuses the next one. Keys arriving in the segment order of another Chronicle
   * file (a replica stream read from the owner's store, a move from the previous generation)
   * would all hash to the same few segments; a key set chosen to collide would do the same on
   * purpose. Salting each file's keys with its own secret bytes makes every file's placement
   * independent of every other's and of whoever chose the keys.
   */
  private static byte[] newSalt() {
    byte[] salt = new byte[SALT_BYTES];
    SALTS.nextBytes(salt);
    return salt;
  }

  private static Path fileOf(Path dir, Spec spec, int number) {
    return dir.resolve(spec.names().generation(number));
  }

  /** The file names of the given generations, for logs. */
  private static String names(List<Gen> gens) {
    List<String> out = new ArrayList<>();
    for (Gen g : gens) {
      out.add(g.file.getFileName().toString());
    }
    return String.join(", ", out);
  }

  /**
   * The live generations, newest first. A directory made before generations existed has one
   * file, {@code <base>.cm3}, and perhaps a {@code <base>.sizing} that says what it was made for.
   */
  private static List<Gen> readManifest(Path dir, Spec spec) throws IOException {
    Path manifest = dir.resolve(spec.names().manifest());
    List<Gen> out = new ArrayList<>();
    if (!Files.exists(manifest)) {
      Path legacy = fileOf(dir, spec, 0);
      if (Files.exists(legacy)) {
        Properties sizing = readProperties(dir.resolve(spec.names().sizing()));
        long entries = parseLong(sizing, "capacity-entries", spec.initialEntries());
        int avg = (int) parseLong(sizing, "average-value-bytes", spec.averageValueBytes());
        out.add(new Gen(0, physicalEntries(entries, avg, spec), avg, legacy, null));
      }
      return out;
    }
    Properties p = readProperties(manifest);
    String list = p == null ? null : p.getProperty("generations");
    if (list == null || list.isBlank()) {
      throw new IOException(manifest + " names no generation; it is damaged. Restore it, or "
          + "move the " + spec.names().base() + " files aside to start an empty store");
    }
    for (String item : list.split(",")) {
      String[] parts = item.trim().split(":");
      try {
        int n = Integer.parseInt(parts[0]);
        long entries = Long.parseLong(parts[1]);
        int avg = Integer.parseInt(parts[2]);
        // A file made before salts were kept has none; its keys are stored as they are.
        byte[] salt = parts.length > 3 ? HexFormat.of().parseHex(parts[3]) : null;
        if (salt != null && salt.length != SALT_BYTES) {
          throw new IOException(manifest + " has a salt of " + salt.length + " bytes in \""
              + item + "\"");
        }
        Gen g = new Gen(n, entries, avg, fileOf(dir, spec, n), salt);
        if (!Files.exists(g.file)) {
          throw new IOException(manifest + " names " + g.file.getFileName()
              + ", which is missing");
        }
        out.add(g);
      } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
        throw new IOException(manifest + " has a damaged entry \"" + item + "\"", e);
      }
    }
    if (out.size() > 2) {
      throw new IOException(manifest + " names " + out.size() + " generations; at most 2 are "
          + "ever live");
    }
    return out;
  }

  /** Replaces the manifest whole: written aside, synced, renamed over the old one. */
  private static void writeManifest(Path dir, Spec spec, List<Gen> gens) throws IOException {
    Path manifest = dir.resolve(spec.names().manifest());
    Path tmp = dir.resolve(spec.names().manifestTemp());
    StringBuilder list = new StringBuilder();
    for (Gen g : gens) {
      if (list.length() > 0) {
        list.append(',');
      }
      list.append(g.number).append(':').append(g.entries).append(':')
          .append(g.averageValueBytes);
      if (g.salt != null) {
        list.append(':').append(HexFormat.of().formatHex(g.salt));
      }
    }
    String text = "# Live generations of the " + spec.what() + ", newest first, as "
        + "number:entries:average-value-bytes:key-salt.\n# Written by Mycelium; do not edit.\n"
        + "generations=" + list + "\n";
    Files.write(tmp, text.getBytes(StandardCharsets.UTF_8));
    forceFile(tmp);
    Files.move(tmp, manifest, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    syncDirectory(dir);
  }

  /** Deletes generation files the manifest does not name, and files of an older layout. */
  private static void deleteLeftovers(Path dir, Spec spec, List<Gen> live) throws IOException {
    List<Path> keep = new ArrayList<>();
    for (Gen g : live) {
      keep.add(g.file.getFileName());
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path p : files) {
        String name = p.getFileName().toString();
        if (spec.names().isGenerationFile(name) && !keep.contains(p.getFileName())) {
          LOG.info("deleting {}, left by an interrupted growth of the {}", name, spec.what());
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static Properties readProperties(Path p) {
    try {
      if (!Files.exists(p)) {
        return null;
      }
      Properties props = new Properties();
      try (var in = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
        props.load(in);
      }
      return props;
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
  }

  private static long parseLong(Properties p, String key, long fallback) {
    if (p == null || p.getProperty(key) == null) {
      return fallback;
    }
    try {
      return Long.parseLong(p.getProperty(key).trim());
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  /**
   * Takes the lock file. Two processes on one map file would corrupt it, and recovery in
   * particular needs the file to itself.
   */
  private static FileChannel lock(Path dir, Spec spec) throws IOException {
    FileChannel channel = FileChannel.open(dir.resolve(spec.names().lock()),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      if (channel.tryLock() != null) {
        return channel;
      }
    } catch (java.nio.channels.OverlappingFileLockException e) {
      // Held by this very process: fall through to the same refusal.
    }
    channel.close();
    throw new IOException("the " + spec.what() + " in " + dir + " is in use by another process "
        + "(or already open in this one); stop it before opening the store again");
  }

  /** Bytes the regular files under {@code dir} take on disk, as {@code du} counts them. */
  public static long allocatedBytesUnder(Path dir) throws IOException {
    try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(ChronicleFile::allocatedBytes).sum();
    }
  }

  /** Bytes a file takes on disk, from {@code st_blocks} where the platform reports it. */
  static long allocatedBytes(Path p) {
    try {
      Object blocks = Files.getAttribute(p, "unix:blocks");
      if (blocks instanceof Long b) {
        return b * 512;
      }
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      // Fall back to the apparent length.
    }
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }

  private static long mib(long bytes) {
    return Math.max(0, (bytes + (1 << 20) - 1) >> 20);
  }

  static void forceFile(Path p) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Makes a rename or delete in the directory durable (a no-op where directories can't sync). */
  static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // Some platforms cannot open a directory for sync; the rename is then as durable as the
      // file system makes it, which is all that can be had.
    }
  }
}
