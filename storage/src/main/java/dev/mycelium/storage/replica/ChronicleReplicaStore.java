package dev.mycelium.storage.replica;

import dev.mycelium.storage.FragmentCodec;
import dev.mycelium.storage.FragmentId;
import dev.mycelium.storage.FragmentLimits;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import net.openhft.chronicle.hash.ChronicleHashClosedException;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import net.openhft.chronicle.map.MapSegmentContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's {@link ReplicaStore}: a Chronicle Map persisted to {@code <dir>/replicas.cm3},
 * beside the node's own {@code fragments.cm3}, keyed by the 32 raw ID bytes.
 *
 * <p>It follows {@code ChronicleFragmentStore} for the same reasons: memory-mapped, so a
 * confirmed replica survives a crash of the process; a clean-shutdown marker
 * ({@value #CLEAN_MARKER}) written by {@link #close()} after the map is synced and deleted right
 * after opening, so that a file found without it is opened with {@code recoverPersistedTo}; an
 * OS lock on {@value #LOCK_FILE} so that no second process opens the map; Chronicle's own entry
 * checksums off, because its recovery would drop a damaged entry silently, where the store's
 * digest turns it BLANK and the replica is pulled back from another holder; a capacity of its
 * own ({@value #CAPACITY_KEY}) below Chronicle's physical one, and a copy into a larger file
 * when the capacity is raised.
 *
 * <p>Unlike the fragment store it walks the whole map at every open, to index entries by owner
 * (anti-entropy asks per owner); a holder's map is expected to stay in the hundreds of
 * thousands of entries, a walk of well under a second.
 */
public final class ChronicleReplicaStore extends AbstractReplicaStore {
  static {
    if (System.getProperty("chronicle.analytics.disable") == null) {
      System.setProperty("chronicle.analytics.disable", "true");
    }
    if (System.getProperty("chronicle.announcer.disable") == null) {
      System.setProperty("chronicle.announcer.disable", "true");
    }
  }

  /** The config key that sizes the store, named in every capacity message. */
  public static final String CAPACITY_KEY = "replication.capacity-entries";
  /** The map file's name in the data directory. */
  public static final String FILE_NAME = "replicas.cm3";
  /** The clean-shutdown marker's name. */
  public static final String CLEAN_MARKER = "replicas.clean";
  /** Held as an OS file lock while the store is open. */
  public static final String LOCK_FILE = "replicas.lock";
  /** The sizing the file was made with. */
  public static final String SIZING_FILE = "replicas.sizing";

  private static final double MAX_BLOAT = 2.0;
  /** Bytes a replica adds to the fragment it carries: envelope, seal, signature, header. */
  private static final int ENVELOPE_OVERHEAD = 512;
  private static final Logger LOG = LoggerFactory.getLogger(ChronicleReplicaStore.class);

  private final ChronicleMap<byte[], byte[]> map;
  private final FileChannel lock;
  private final Path dir;
  private final LongSupplier clockMillis;
  private final boolean recovered;
  private final AtomicBoolean closed = new AtomicBoolean();

  private ChronicleReplicaStore(ChronicleMap<byte[], byte[]> map, FileChannel lock, Path dir,
      FragmentCodec codec, long capacity, LongSupplier clock, boolean recovered) {
    super(codec, capacity, CAPACITY_KEY, clock);
    this.map = map;
    this.lock = lock;
    this.dir = dir;
    this.clockMillis = clock;
    this.recovered = recovered;
  }

  /**
   * Opens (or makes) the store in {@code dir}, recovering the file first when the last stop was
   * unclean.
   *
   * @param capacityEntries most IDs the store holds ({@value #CAPACITY_KEY})
   * @param averageValueBytes expected bytes of one held replica
   * @param codec checks tombstones; its limits bound the largest replica
   * @throws IOException when the directory or the file cannot be used, or another process
   *     has the store open
   */
  public static ChronicleReplicaStore open(Path dir, long capacityEntries, int averageValueBytes,
      FragmentCodec codec, LongSupplier clockMillis) throws IOException {
    if (capacityEntries < 1) {
      throw new IllegalArgumentException(CAPACITY_KEY + " must be at least 1, got "
          + capacityEntries);
    }
    if (averageValueBytes < 64) {
      throw new IllegalArgumentException(
          "the average replica size must be at least 64 bytes, got " + averageValueBytes);
    }
    Files.createDirectories(dir);
    FileChannel lock = lock(dir);
    ChronicleMap<byte[], byte[]> map = null;
    try {
      Path file = dir.resolve(FILE_NAME);
      Path marker = dir.resolve(CLEAN_MARKER);
      boolean exists = Files.exists(file);
      boolean recovered = exists && !Files.exists(marker);
      ChronicleMapBuilder<byte[], byte[]> builder =
          builder(capacityEntries, averageValueBytes, codec.limits());
      if (recovered) {
        LOG.warn("the replica store in {} was not closed cleanly; recovering {} before serving",
            dir, FILE_NAME);
        map = builder.recoverPersistedTo(file.toFile(), false);
      } else {
        map = builder.createPersistedTo(file.toFile());
      }
      Files.deleteIfExists(marker);
      syncDirectory(dir);
      long madeFor = readSizing(dir);
      if (exists && madeFor > 0 && madeFor < capacityEntries) {
        map = grow(map, dir, madeFor, builder);
      }
      writeSizing(dir, Math.max(madeFor, capacityEntries));
      ChronicleReplicaStore store = new ChronicleReplicaStore(
          map, lock, dir, codec, capacityEntries, clockMillis, recovered);
      store.loadIndex();
      LOG.info("replica store open: {} entries of {} ({}), {}", store.entries(),
          capacityEntries, CAPACITY_KEY, store.countsText());
      return store;
    } catch (IOException | RuntimeException e) {
      if (map != null) {
        map.close();
      }
      lock.close();
      throw e;
    }
  }

  /** Whether this open recovered the file after an unclean stop. */
  public boolean recovered() {
    return recovered;
  }

  /** The directory the store lives in. */
  public Path directory() {
    return dir;
  }

  private static FileChannel lock(Path dir) throws IOException {
    FileChannel channel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
    try {
      if (channel.tryLock() != null) {
        return channel;
      }
    } catch (java.nio.channels.OverlappingFileLockException e) {
      // Held by this very process: the same refusal.
    }
    channel.close();
    throw new IOException("the replica store in " + dir + " is in use by another process "
        + "(or already open in this one); stop it before opening the store again");
  }

  private static ChronicleMapBuilder<byte[], byte[]> builder(
      long capacity, int averageValueBytes, FragmentLimits limits) {
    long largest = (long) limits.maxTextBytes() + 4L * limits.dimension()
        + limits.maxMetadataBytes() + 8L * limits.maxMetadataEntries() + 512 + ENVELOPE_OVERHEAD;
    long physical = Math.max(capacity, (8 * largest + averageValueBytes - 1) / averageValueBytes);
    return ChronicleMap.of(byte[].class, byte[].class)
        .name("mycelium-replicas")
        .constantKeySizeBySample(new byte[FragmentId.LENGTH])
        .averageValueSize(averageValueBytes)
        .entries(physical)
        .maxBloatFactor(MAX_BLOAT)
        .checksumEntries(false)
        .skipCloseOnExitHook(true);
  }

  private static ChronicleMap<byte[], byte[]> grow(ChronicleMap<byte[], byte[]> old, Path dir,
      long from, ChronicleMapBuilder<byte[], byte[]> to) throws IOException {
    LOG.info("{} raised from {}: copying the replica store into a larger file", CAPACITY_KEY,
        from);
    Path file = dir.resolve(FILE_NAME);
    Path next = dir.resolve(FILE_NAME + ".grow");
    Files.deleteIfExists(next);
    try (ChronicleMap<byte[], byte[]> bigger = to.createPersistedTo(next.toFile())) {
      old.forEachEntry(e -> bigger.put(e.key().get().clone(), e.value().get().clone()));
    }
    old.close();
    forceFile(next);
    Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    syncDirectory(dir);
    return to.createPersistedTo(file.toFile());
  }

  @Override
  byte[] read(byte[] key) {
    ensureOpen();
    try {
      return map.get(key);
    } catch (ChronicleHashClosedException e) {
      throw closedError();
    }
  }

  @Override
  boolean insertRaw(byte[] key, byte[] value) {
    ensureOpen();
    try {
      return map.putIfAbsent(key, value) == null;
    } catch (ChronicleHashClosedException e) {
      throw closedError();
    } catch (IllegalStateException | IllegalArgumentException e) {
      throw full(e);
    }
  }

  @Override
  boolean replaceRaw(byte[] key, byte[] expected, byte[] value) {
    ensureOpen();
    try {
      return map.replace(key, expected, value);
    } catch (ChronicleHashClosedException e) {
      throw closedError();
    } catch (IllegalStateException | IllegalArgumentException e) {
      throw full(e);
    }
  }

  @Override
  boolean removeRaw(byte[] key, byte[] expected) {
    ensureOpen();
    try {
      return map.remove(key, expected);
    } catch (ChronicleHashClosedException e) {
      throw closedError();
    }
  }

  @Override
  void writeRaw(byte[] key, byte[] value) {
    ensureOpen();
    map.put(key, value);
  }

  /** Each segment's entries are copied out under its lock and visited after it is released. */
  @Override
  void forEachRaw(BiConsumer<byte[], byte[]> visitor) {
    ensureOpen();
    for (int s = 0; s < map.segments(); s++) {
      List<byte[][]> entries = new ArrayList<>();
      try (MapSegmentContext<byte[], byte[], ?> ctx = map.segmentContext(s)) {
        ctx.forEachSegmentEntry(e -> entries.add(
            new byte[][] {e.key().get().clone(), e.value().get().clone()}));
      }
      for (byte[][] e : entries) {
        visitor.accept(e[0], e[1]);
      }
    }
  }

  @Override
  void ensureOpen() {
    if (closed.get()) {
      throw closedError();
    }
  }

  private IllegalStateException closedError() {
    return new IllegalStateException("the replica store in " + dir + " is closed");
  }

  /** Closes the map, syncs it, then writes the clean marker. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    map.close();
    try {
      forceFile(dir.resolve(FILE_NAME));
      Path marker = dir.resolve(CLEAN_MARKER);
      Files.write(marker, ("# closed cleanly at " + Instant.ofEpochMilli(clockMillis.getAsLong())
          + "\n# " + countsText() + "\n").getBytes(StandardCharsets.UTF_8));
      forceFile(marker);
      syncDirectory(dir);
      LOG.info("replica store closed cleanly ({} entries)", entries());
    } catch (IOException e) {
      LOG.warn("could not mark the replica store in {} as closed cleanly ({}); the next start "
          + "will run recovery", dir, e.toString());
    } finally {
      try {
        lock.close();
      } catch (IOException e) {
        LOG.warn("could not release {} ({})", dir.resolve(LOCK_FILE), e.toString());
      }
    }
  }

  private static long readSizing(Path dir) {
    Path p = dir.resolve(SIZING_FILE);
    if (!Files.exists(p)) {
      return 0;
    }
    try {
      for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
        if (line.startsWith("capacity-entries=")) {
          return Long.parseLong(line.substring("capacity-entries=".length()).trim());
        }
      }
    } catch (IOException | NumberFormatException e) {
      LOG.warn("cannot read {} ({}); assuming the store was made for its current capacity",
          p, e.toString());
    }
    return 0;
  }

  private static void writeSizing(Path dir, long capacity) throws IOException {
    Path p = dir.resolve(SIZING_FILE);
    Path tmp = dir.resolve(SIZING_FILE + ".tmp");
    Files.write(tmp, ("# the size " + FILE_NAME + " was made for; written by Mycelium\n"
        + "capacity-entries=" + capacity + "\n").getBytes(StandardCharsets.UTF_8));
    forceFile(tmp);
    Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void forceFile(Path p) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // Some platforms cannot sync a directory; the rename is as durable as they make it.
    }
  }
}
