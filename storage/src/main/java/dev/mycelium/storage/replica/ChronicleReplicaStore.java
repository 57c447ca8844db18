package dev.mycelium.storage.replica;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.storage.ChronicleBacked;
import dev.mycelium.storage.ChronicleFile;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's {@link ReplicaStore}: a Chronicle Map persisted to {@code <dir>/replicas*.cm3},
 * beside the node's own {@code fragments*.cm3}, keyed by the 32 raw ID bytes.
 *
 * <p>It lives in a {@link ChronicleFile}, as {@code ChronicleFragmentStore} does and for the same
 * reasons: memory-mapped, so a confirmed replica survives a crash of the process; a
 * clean-shutdown marker ({@code replicas.clean}) written by {@link #close()} after the files are
 * synced and deleted right after opening, so that files found without it are opened with
 * {@code recoverPersistedTo}; an OS lock on {@code replicas.lock} so that no second process opens
 * them; Chronicle's own entry checksums off, because its recovery would drop a damaged entry
 * silently, where the store's digest turns it BLANK and the replica is pulled back from another
 * holder; files that start small and grow with what is held; a ceiling of its own
 * ({@value #CAPACITY_KEY}); and new replicas refused when the disk is nearly full.
 *
 * <p>Unlike the fragment store it walks the whole map at every open, to index entries by owner
 * (anti-entropy asks per owner); a holder's map is expected to stay in the hundreds of
 * thousands of entries, a walk of well under a second.
 */
public final class ChronicleReplicaStore extends AbstractReplicaStore
    implements ChronicleBacked {
  /** The config key that bounds the store, named in every capacity message. */
  public static final String CAPACITY_KEY = "replication.capacity-entries";
  /** The store's file names in the data directory ({@code replicas.cm3} and the rest). */
  public static final ChronicleFile.Names FILES = new ChronicleFile.Names("replicas");

  /** Bytes a replica adds to the fragment it carries: envelope, seal, signature, header. */
  private static final int ENVELOPE_OVERHEAD = 512;
  private static final Logger LOG = LoggerFactory.getLogger(ChronicleReplicaStore.class);

  private final ChronicleFile map;
  private final Path dir;
  private final LongSupplier clockMillis;
  private final AtomicBoolean closed = new AtomicBoolean();

  private ChronicleReplicaStore(ChronicleFile map, Path dir, FragmentCodec codec, long capacity,
      LongSupplier clock) {
    super(codec, capacity, CAPACITY_KEY, clock);
    this.map = map;
    this.dir = dir;
    this.clockMillis = clock;
  }

  /** Opens (or makes) the store in {@code dir} with the default growth. */
  public static ChronicleReplicaStore open(Path dir, long capacityEntries, int averageValueBytes,
      FragmentCodec codec, LongSupplier clockMillis) throws IOException {
    return open(dir, capacityEntries, averageValueBytes, codec, clockMillis,
        ChronicleFile.Growth.DEFAULTS);
  }

  /**
   * Opens (or makes) the store in {@code dir}, recovering the files first when the last stop was
   * unclean.
   *
   * @param capacityEntries most IDs the store holds ({@value #CAPACITY_KEY})
   * @param averageValueBytes expected bytes of one held replica, until there are some to measure
   * @param codec checks tombstones; its limits bound the largest replica
   * @param growth the first file's size and the disk space kept free
   * @throws IOException when the directory or the file cannot be used, or another process
   *     has the store open
   */
  public static ChronicleReplicaStore open(Path dir, long capacityEntries, int averageValueBytes,
      FragmentCodec codec, LongSupplier clockMillis, ChronicleFile.Growth growth)
      throws IOException {
    if (capacityEntries < 1) {
      throw new IllegalArgumentException(CAPACITY_KEY + " must be at least 1, got "
          + capacityEntries);
    }
    if (averageValueBytes < 64) {
      throw new IllegalArgumentException(
          "the average replica size must be at least 64 bytes, got " + averageValueBytes);
    }
    FragmentLimits limits = codec.limits();
    long largest = (long) limits.maxTextBytes() + 4L * limits.dimension()
        + limits.maxMetadataBytes() + 8L * limits.maxMetadataEntries() + 512 + ENVELOPE_OVERHEAD;
    ChronicleFile.Spec spec = new ChronicleFile.Spec(FILES, "replica store",
        Math.min(capacityEntries, growth.initialEntries()), averageValueBytes, largest,
        capacityEntries, growth.minFreeDiskBytes(), growth.freeSpace());
    ChronicleFile map = ChronicleFile.open(dir, spec);
    try {
      ChronicleReplicaStore store =
          new ChronicleReplicaStore(map, dir, codec, capacityEntries, clockMillis);
      store.loadIndex();
      LOG.info("replica store open: {} entries of {} ({}), {}", store.entries(),
          capacityEntries, CAPACITY_KEY, store.countsText());
      return store;
    } catch (RuntimeException e) {
      map.close("");
      throw e;
    }
  }

  /** Whether this open recovered the files after an unclean stop. */
  public boolean recovered() {
    return map.recovered();
  }

  /** The directory the store lives in. */
  public Path directory() {
    return dir;
  }

  @Override
  public ChronicleFile files() {
    return map;
  }

  @Override
  byte[] read(byte[] key) {
    ensureOpen();
    return map.get(key);
  }

  @Override
  boolean insertRaw(byte[] key, byte[] value) {
    ensureOpen();
    return map.putIfAbsent(key, value);
  }

  @Override
  boolean replaceRaw(byte[] key, byte[] expected, byte[] value) {
    ensureOpen();
    return map.replace(key, expected, value);
  }

  @Override
  boolean removeRaw(byte[] key, byte[] expected) {
    ensureOpen();
    return map.remove(key, expected);
  }

  @Override
  void writeRaw(byte[] key, byte[] value) {
    ensureOpen();
    map.putForTest(key, value);
  }

  /** Each segment's entries are copied out under its lock and visited after it is released. */
  @Override
  void forEachRaw(BiConsumer<byte[], byte[]> visitor) {
    ensureOpen();
    map.forEach(visitor);
  }

  @Override
  void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the replica store in " + dir + " is closed");
    }
  }

  /** Closes the files, syncs them, then writes the clean marker. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    map.close("# closed cleanly at " + Instant.ofEpochMilli(clockMillis.getAsLong())
        + "\n# " + countsText() + "\n");
    LOG.info("replica store closed ({} entries)", entries());
  }
}
