package dev.mycelium.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import dev.mycelium.wire.proto.StoredRecord;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import net.openhft.chronicle.hash.ChronicleHashClosedException;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import net.openhft.chronicle.map.MapSegmentContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's {@link FragmentStore}: a Chronicle Map persisted to {@code <dir>/fragments.cm3},
 * keyed by the 32 raw ID bytes, each value an encoded {@link StoredRecord}.
 *
 * <p>Why Chronicle Map: it is memory-mapped, so an acknowledged write is in the OS page cache at
 * once and survives a crash of the process, and reads cost no system call. What it does not do
 * is promise a consistent file after an unclean stop: segment locks and entry counts may be left
 * stale. So the store keeps a clean-shutdown marker ({@code fragments.clean}), written by
 * {@link #close()} after the map is closed and synced and deleted right after opening; when the
 * file exists without the marker, the map is opened with {@code recoverPersistedTo} before
 * anything reads it.
 *
 * <p>Integrity: every read decodes the record and checks the body's SHA-256 against the key and
 * the owner's signature. A record that fails (or does not even parse) is rewritten as BLANK,
 * counted, logged, and answered as BLANK: bad bytes never leave the store and a caller never
 * sees an exception for corrupt data.
 *
 * <p>Capacity: Chronicle Map is sized when the file is made. The store enforces its own limit,
 * {@code storage.capacity-entries}, below Chronicle's physical one (the map is built with room
 * to spare via {@code maxBloatFactor}), warns once at 90% and refuses new IDs with
 * {@link StoreFullException} at 100%. When the configured capacity is raised above the size the
 * file was made for, the open copies the entries into a larger file.
 *
 * <p>Counts by state are kept in counters updated on every transition, recounted once at open,
 * so {@link #stats()} is cheap enough for every metrics scrape. A record damaged on disk while
 * the store is open may be counted under its old state until it is detected and rewritten.
 */
public final class ChronicleFragmentStore implements FragmentStore {
  static {
    // Chronicle reads this when its classes initialise; the store sets it before touching them,
    // in case the JVM was started without config/jvm.options.
    if (System.getProperty("chronicle.analytics.disable") == null) {
      System.setProperty("chronicle.analytics.disable", "true");
    }
    // Its start-up banner only asks for an e-mail address; a daemon's log has no use for it.
    if (System.getProperty("chronicle.announcer.disable") == null) {
      System.setProperty("chronicle.announcer.disable", "true");
    }
  }

  /** The config key that sizes the store, named in every capacity message. */
  public static final String CAPACITY_KEY = "storage.capacity-entries";
  /** The map file's name in the data directory. */
  public static final String FILE_NAME = "fragments.cm3";
  /** The clean-shutdown marker's name in the data directory. */
  public static final String CLEAN_MARKER = "fragments.clean";
  /** Held (as an OS file lock) while the store is open, so that no second process opens it. */
  public static final String LOCK_FILE = "fragments.lock";
  /** The sizing the file was made with, so a raised capacity can be detected at open. */
  public static final String SIZING_FILE = "fragments.sizing";
  /** Share of the capacity at which the store starts warning. */
  public static final double NEARLY_FULL = 0.9;

  /**
   * Chronicle may allocate this many times its configured segment space before it refuses a
   * write. Entries are spread over segments by hash and values vary in size, so some segments
   * fill before others; the slack keeps Chronicle's physical limit above the store's own.
   */
  private static final double MAX_BLOAT = 2.0;

  private static final Logger LOG = LoggerFactory.getLogger(ChronicleFragmentStore.class);
  private static final FragmentState[] STATES = FragmentState.values();

  private final ChronicleMap<byte[], byte[]> map;
  private final FileChannel lock;
  private final Path dir;
  private final Path file;
  private final FragmentCodec codec;
  private final long capacityEntries;
  private final LongSupplier clockMillis;
  private final boolean recovered;
  private final AtomicLong[] counts = new AtomicLong[STATES.length];
  /** Entries in the map plus inserts under way; only ever compared with the capacity. */
  private final AtomicLong reserved = new AtomicLong();
  private final AtomicLong blankDetections = new AtomicLong();
  private final AtomicBoolean warnedNearlyFull = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();

  private ChronicleFragmentStore(
      ChronicleMap<byte[], byte[]> map,
      Path dir,
      FragmentCodec codec,
      long capacityEntries,
      LongSupplier clockMillis,
      boolean recovered,
      FileChannel lock) {
    this.lock = lock;
    this.map = map;
    this.dir = dir;
    this.file = dir.resolve(FILE_NAME);
    this.codec = codec;
    this.capacityEntries = capacityEntries;
    this.clockMillis = clockMillis;
    this.recovered = recovered;
    for (int i = 0; i < counts.length; i++) {
      counts[i] = new AtomicLong();
    }
  }

  /** Opens (or makes) the store in {@code dir} on the system clock. */
  public static ChronicleFragmentStore open(
      Path dir, long capacityEntries, int averageValueBytes, FragmentCodec codec)
      throws IOException {
    return open(dir, capacityEntries, averageValueBytes, codec, System::currentTimeMillis);
  }

  /**
   * Opens (or makes) the store in {@code dir}, recovering the file first when the last stop was
   * unclean.
   *
   * @param capacityEntries most IDs the store will hold ({@value #CAPACITY_KEY})
   * @param averageValueBytes expected size of an encoded record, which Chronicle sizes its
   *     segments from (about 1.7 KiB plus the text for a 384-dimension fragment)
   * @param clockMillis stamps {@code stored_at_millis}
   * @throws IOException when the directory or the file cannot be used
   */
  public static ChronicleFragmentStore open(
      Path dir,
      long capacityEntries,
      int averageValueBytes,
      FragmentCodec codec,
      LongSupplier clockMillis)
      throws IOException {
    if (capacityEntries < 1) {
      throw new IllegalArgumentException(
          CAPACITY_KEY + " must be at least 1, got " + capacityEntries);
    }
    if (averageValueBytes < 64) {
      throw new IllegalArgumentException(
          "storage.average-value-bytes must be at least 64, got " + averageValueBytes);
    }
    Files.createDirectories(dir);
    FileChannel lock = lock(dir);
    ChronicleMap<byte[], byte[]> map = null;
    try {
      Path file = dir.resolve(FILE_NAME);
      Path marker = dir.resolve(CLEAN_MARKER);
      boolean exists = Files.exists(file);
      boolean recovered = exists && !Files.exists(marker);
      long[] savedCounts = recovered ? null : readCounts(marker);
      if (recovered) {
        LOG.warn(
            "the fragment store in {} was not closed cleanly; recovering {} before serving",
            dir, FILE_NAME);
        map = builder(capacityEntries, averageValueBytes, codec.limits())
            .recoverPersistedTo(file.toFile(), false);
      } else {
        map = builder(capacityEntries, averageValueBytes, codec.limits())
            .createPersistedTo(file.toFile());
      }
      // From here on a crash leaves no marker, so the next open recovers.
      Files.deleteIfExists(marker);
      syncDirectory(dir);

      long madeFor = readSizing(dir);
      if (exists && madeFor > 0 && madeFor < capacityEntries) {
        map = grow(map, dir, madeFor, builder(capacityEntries, averageValueBytes, codec.limits()));
      }
      writeSizing(dir, Math.max(madeFor, capacityEntries), averageValueBytes);

      ChronicleFragmentStore store =
          new ChronicleFragmentStore(
              map, dir, codec, capacityEntries, clockMillis, recovered, lock);
      if (savedCounts != null && sum(savedCounts) == map.longSize()) {
        store.restoreCounts(savedCounts);
      } else {
        store.recount();
      }
      return store;
    } catch (IOException | RuntimeException e) {
      // Closing here would write nothing: the marker is only ever written by close().
      if (map != null) {
        map.close();
      }
      lock.close();
      throw e;
    }
  }

  /**
   * Takes the store's lock file. Two processes on one map file would corrupt it, and recovery
   * in particular needs the file to itself.
   */
  private static FileChannel lock(Path dir) throws IOException {
    FileChannel channel =
        FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      if (channel.tryLock() != null) {
        return channel;
      }
    } catch (java.nio.channels.OverlappingFileLockException e) {
      // Held by this very process: fall through to the same refusal.
    }
    channel.close();
    throw new IOException("the fragment store in " + dir + " is in use by another process "
        + "(or already open in this one); stop it before opening the store again");
  }

  /**
   * Chronicle limits one entry to a fraction of a segment, and a small map has small segments:
   * a store sized for a few short fragments would refuse the largest one the limits allow. So
   * the physical map is made for at least enough entries that a segment holds several of the
   * largest records; the store's own capacity check stays at {@code capacity}.
   */
  private static ChronicleMapBuilder<byte[], byte[]> builder(
      long capacity, int averageValueBytes, FragmentLimits limits) {
    long largest = maxRecordBytes(limits);
    long physical = Math.max(capacity, (8 * largest + averageValueBytes - 1) / averageValueBytes);
    return ChronicleMap.of(byte[].class, byte[].class)
        .name("mycelium-fragments")
        .constantKeySizeBySample(new byte[FragmentId.LENGTH])
        .averageValueSize(averageValueBytes)
        .entries(physical)
        .maxBloatFactor(MAX_BLOAT)
        // Chronicle's own entry checksums are off on purpose: its recovery silently drops an
        // entry whose checksum fails, and the fragment would vanish instead of turning BLANK.
        // Every record is checked by SHA-256 and signature on each read anyway, which catches
        // more than a checksum does and leads to the designed repair path.
        .checksumEntries(false)
        // The owner closes the store, in order: a node's shutdown hook drains requests and
        // background work first. Chronicle's own exit hook would close the map concurrently,
        // under requests still running.
        .skipCloseOnExitHook(true);
  }

  /** An upper bound on an encoded record under the given limits (fields, tags and lengths). */
  static long maxRecordBytes(FragmentLimits limits) {
    return (long) limits.maxTextBytes()
        + 4L * limits.dimension()
        + limits.maxMetadataBytes()
        + 8L * limits.maxMetadataEntries()
        + 512;
  }

  /**
   * Chronicle cannot resize a file, so a raised capacity means a new file: copy every entry
   * across, sync it, and swap it in by rename (atomic on one file system).
   */
  private static ChronicleMap<byte[], byte[]> grow(
      ChronicleMap<byte[], byte[]> old, Path dir, long from, ChronicleMapBuilder<byte[], byte[]> to)
      throws IOException {
    LOG.info("{} raised from {}: copying the fragment store into a larger file",
        CAPACITY_KEY, from);
    Path file = dir.resolve(FILE_NAME);
    Path next = dir.resolve(FILE_NAME + ".grow");
    Files.deleteIfExists(next);
    try (ChronicleMap<byte[], byte[]> bigger =
        to.createPersistedTo(next.toFile())) {
      old.forEachEntry(e -> bigger.put(e.key().get().clone(), e.value().get().clone()));
    }
    old.close();
    forceFile(next);
    Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    syncDirectory(dir);
    return to.createPersistedTo(file.toFile());
  }

  /**
   * Takes the counts by state that the last clean close wrote, so that opening a large store
   * costs the same as opening a small one; after an unclean stop they are recounted instead.
   */
  private void restoreCounts(long[] saved) {
    for (int i = 0; i < saved.length; i++) {
      counts[i].set(saved[i]);
    }
    reserved.set(sum(saved));
    logOpen(sum(saved));
  }

  private static long sum(long[] values) {
    long total = 0;
    for (long v : values) {
      total += v;
    }
    return total;
  }

  /** Counts by state from a clean-close marker, or null when it has none or they do not parse. */
  private static long[] readCounts(Path marker) {
    try {
      if (!Files.exists(marker)) {
        return null;
      }
      Properties props = new Properties();
      try (var in = Files.newBufferedReader(marker, StandardCharsets.UTF_8)) {
        props.load(in);
      }
      long[] out = new long[STATES.length];
      for (FragmentState st : STATES) {
        String v = props.getProperty("count." + st.name());
        if (v == null) {
          return null;
        }
        out[st.ordinal()] = Long.parseLong(v.trim());
      }
      return out;
    } catch (IOException | NumberFormatException e) {
      return null;
    }
  }

  private void recount() {
    long total = 0;
    for (int s = 0; s < map.segments(); s++) {
      try (MapSegmentContext<byte[], byte[], ?> ctx = map.segmentContext(s)) {
        long[] local = new long[STATES.length];
        ctx.forEachSegmentEntry(e -> local[stateOf(e.value().get()).ordinal()]++);
        for (int i = 0; i < local.length; i++) {
          counts[i].addAndGet(local[i]);
        }
      }
    }
    for (AtomicLong c : counts) {
      total += c.get();
    }
    reserved.set(total);
    logOpen(total);
  }

  private void logOpen(long total) {
    LOG.info("fragment store open: {} entries of {} ({}), {}", total, capacityEntries,
        CAPACITY_KEY, countsText());
    if (total >= capacityEntries * NEARLY_FULL) {
      warnNearlyFull(total);
    }
  }

  /** Whether the last stop was unclean and this open ran Chronicle's recovery. */
  public boolean recoveredAtOpen() {
    return recovered;
  }

  /** Whether the store is at or above 90% of {@value #CAPACITY_KEY}. */
  public boolean nearlyFull() {
    return entries() >= capacityEntries * NEARLY_FULL;
  }

  /** The data directory this store lives in. */
  public Path directory() {
    return dir;
  }

  @Override
  public FragmentState put(Fragment fragment) {
    byte[] key = fragment.id().toBytes();
    byte[] fresh =
        StoredRecord.newBuilder()
            .setState(dev.mycelium.wire.proto.FragmentState.PRESENT)
            .setFragment(fragment.signed())
            .setOwnerId(ByteString.copyFrom(fragment.owner().toBytes()))
            .setStoredAtMillis(clockMillis.getAsLong())
            .build()
            .toByteArray();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        if (insert(key, fresh)) {
          counts[FragmentState.PRESENT.ordinal()].incrementAndGet();
          return FragmentState.PRESENT;
        }
        continue;
      }
      StoredRecord rec = decode(raw);
      FragmentState state = rec == null ? FragmentState.BLANK : stateOf(rec);
      if (state == FragmentState.DELETED) {
        Optional<NodeId> owner = ownerOf(rec);
        if (owner.isEmpty() || owner.get().equals(fragment.owner())) {
          return FragmentState.DELETED;
        }
        LOG.warn("fragment {} carried a tombstone not signed by its owner; storing the fragment",
            fragment.id());
      }
      if (state == FragmentState.PRESENT && rec.getFragment().equals(fragment.signed())) {
        return FragmentState.PRESENT;
      }
      if (replace(key, raw, fresh)) {
        transition(state, FragmentState.PRESENT);
        return FragmentState.PRESENT;
      }
    }
  }

  @Override
  public Optional<StoredFragment> get(FragmentId id) {
    return load(id, false);
  }

  /**
   * Reads one record; a failed check turns it BLANK. Reads check the content hash only; the
   * scrubber ({@code fullCheck}) also checks the owner's signature and canonical form.
   */
  private Optional<StoredFragment> load(FragmentId id, boolean fullCheck) {
    byte[] key = id.toBytes();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        return Optional.empty();
      }
      StoredRecord rec = decode(raw);
      FragmentState state = rec == null ? null : stateOf(rec);
      String failure;
      if (rec == null) {
        failure = "the record does not parse";
      } else if (state != FragmentState.PRESENT) {
        return Optional.of(new StoredFragment(id, state, ownerOf(rec), Optional.empty()));
      } else if (!rec.hasFragment()) {
        failure = "the record has no body";
      } else {
        try {
          Fragment f = fullCheck
              ? codec.verify(id, rec.getFragment())
              : codec.decodeStored(id, rec.getFragment());
          return Optional.of(StoredFragment.present(f));
        } catch (RuntimeException e) {
          failure = e.getMessage();
        }
      }
      StoredRecord blank = blankOf(rec);
      if (replace(key, raw, blank.toByteArray())) {
        transition(stateOf(raw), FragmentState.BLANK);
        blankDetections.incrementAndGet();
        LOG.warn("fragment {} failed its check ({}); it is BLANK until repaired", id, failure);
        return Optional.of(new StoredFragment(id, FragmentState.BLANK, ownerOf(blank),
            Optional.empty()));
      }
      // Changed under us (a repair or another detection): read again.
    }
  }

  @Override
  public Optional<SignedTombstone> tombstone(FragmentId id) {
    byte[] raw = read(id.toBytes());
    StoredRecord rec = raw == null ? null : decode(raw);
    return rec != null && stateOf(rec) == FragmentState.DELETED && rec.hasTombstone()
        ? Optional.of(rec.getTombstone()) : Optional.empty();
  }

  @Override
  public void delete(FragmentId id, SignedTombstone tombstone) {
    NodeId signer = codec.verifyTombstoneFor(id, tombstone);
    byte[] key = id.toBytes();
    byte[] deleted =
        StoredRecord.newBuilder()
            .setState(dev.mycelium.wire.proto.FragmentState.DELETED)
            .setTombstone(tombstone)
            .setOwnerId(ByteString.copyFrom(signer.toBytes()))
            .setStoredAtMillis(clockMillis.getAsLong())
            .build()
            .toByteArray();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        if (insert(key, deleted)) {
          counts[FragmentState.DELETED.ordinal()].incrementAndGet();
          return;
        }
        continue;
      }
      StoredRecord rec = decode(raw);
      FragmentState state = rec == null ? FragmentState.BLANK : stateOf(rec);
      if (state == FragmentState.DELETED) {
        return;
      }
      Optional<NodeId> owner = ownerOf(rec);
      if (owner.isPresent() && !owner.get().equals(signer)) {
        throw new InvalidFragmentException(
            "signature",
            "the tombstone is signed by " + signer.shortString() + ", but fragment " + id
                + " belongs to " + owner.get().shortString());
      }
      if (replace(key, raw, deleted)) {
        transition(state, FragmentState.DELETED);
        return;
      }
    }
  }

  @Override
  public void markBlank(FragmentId id) {
    byte[] key = id.toBytes();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        byte[] placeholder =
            StoredRecord.newBuilder()
                .setState(dev.mycelium.wire.proto.FragmentState.BLANK)
                .setStoredAtMillis(clockMillis.getAsLong())
                .build()
                .toByteArray();
        if (insert(key, placeholder)) {
          counts[FragmentState.BLANK.ordinal()].incrementAndGet();
          return;
        }
        continue;
      }
      StoredRecord rec = decode(raw);
      FragmentState state = rec == null ? FragmentState.BLANK : stateOf(rec);
      if (state == FragmentState.DELETED || (rec != null && state == FragmentState.BLANK)) {
        return;
      }
      if (replace(key, raw, blankOf(rec).toByteArray())) {
        transition(state, FragmentState.BLANK);
        return;
      }
    }
  }

  @Override
  public FragmentState check(FragmentId id) {
    return load(id, true).map(StoredFragment::state).orElse(null);
  }

  /**
   * Visits every ID. Each segment's keys are copied out under its lock and visited after it is
   * released, so a visitor may call back into the store.
   */
  @Override
  public void forEachId(Consumer<FragmentId> visitor) {
    ensureOpen();
    for (int s = 0; s < map.segments(); s++) {
      List<FragmentId> ids = new ArrayList<>();
      try (MapSegmentContext<byte[], byte[], ?> ctx = map.segmentContext(s)) {
        ctx.forEachSegmentEntry(e -> ids.add(FragmentId.of(e.key().get())));
      }
      ids.forEach(visitor);
    }
  }

  @Override
  public StoreStats stats() {
    Map<FragmentState, Long> byState = new EnumMap<>(FragmentState.class);
    for (FragmentState s : STATES) {
      byState.put(s, counts[s.ordinal()].get());
    }
    return new StoreStats(Map.copyOf(byState), entries(), capacityEntries, blankDetections.get());
  }

  /**
   * Test hook: flips one byte in the middle of the body of a PRESENT record in place, leaving
   * its state as it was, as a bad sector would.
   *
   * @throws IllegalStateException when the ID holds no body
   */
  public void corruptForTest(FragmentId id) {
    byte[] key = id.toBytes();
    byte[] raw = read(key);
    StoredRecord rec = raw == null ? null : decode(raw);
    if (rec == null || !rec.hasFragment() || rec.getFragment().getBody().isEmpty()) {
      throw new IllegalStateException("fragment " + id + " holds no body to corrupt");
    }
    byte[] body = rec.getFragment().getBody().toByteArray();
    body[body.length / 2] ^= 0x01;
    SignedFragment bad = rec.getFragment().toBuilder().setBody(ByteString.copyFrom(body)).build();
    map.put(key, rec.toBuilder().setFragment(bad).build().toByteArray());
  }

  /** Test hook: stores raw record bytes under an ID, as a damaged disk might hand them back. */
  void writeRawForTest(FragmentId id, byte[] raw) {
    map.put(id.toBytes(), raw);
  }

  /**
   * Closes the map, syncs its file, then writes the clean-shutdown marker, so that the marker is
   * never on disk ahead of the data it vouches for. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    map.close();
    try {
      forceFile(file);
      Path marker = dir.resolve(CLEAN_MARKER);
      StringBuilder text = new StringBuilder("# closed cleanly at ")
          .append(Instant.ofEpochMilli(clockMillis.getAsLong())).append('\n');
      for (FragmentState st : STATES) {
        text.append("count.").append(st.name()).append('=')
            .append(counts[st.ordinal()].get()).append('\n');
      }
      Files.write(marker, text.toString().getBytes(StandardCharsets.UTF_8));
      forceFile(marker);
      syncDirectory(dir);
      LOG.info("fragment store closed cleanly ({} entries)", entries());
    } catch (IOException e) {
      LOG.warn("could not mark the fragment store in {} as closed cleanly ({}); the next start "
          + "will run recovery", dir, e.toString());
    } finally {
      try {
        lock.close();
      } catch (IOException e) {
        LOG.warn("could not release {} ({})", dir.resolve(LOCK_FILE), e.toString());
      }
    }
  }

  private long entries() {
    return StateCounts.total(counts);
  }

  private String countsText() {
    return StateCounts.text(counts);
  }

  private byte[] read(byte[] key) {
    ensureOpen();
    return map.get(key);
  }

  /**
   * Adds a new ID if it fits. The slot is reserved before the write, so two racing inserts
   * cannot both take the last one.
   *
   * @return false when another thread inserted the same ID first
   */
  private boolean insert(byte[] key, byte[] value) {
    long now = reserved.incrementAndGet();
    if (now > capacityEntries) {
      reserved.decrementAndGet();
      throw full(null);
    }
    boolean inserted = false;
    try {
      inserted = map.putIfAbsent(key, value) == null;
    } catch (ChronicleHashClosedException e) {
      throw closedError();
    } catch (IllegalStateException | IllegalArgumentException e) {
      throw full(e);
    } finally {
      if (!inserted) {
        reserved.decrementAndGet();
      }
    }
    if (inserted && now >= capacityEntries * NEARLY_FULL) {
      warnNearlyFull(now);
    }
    return inserted;
  }

  private boolean replace(byte[] key, byte[] expected, byte[] value) {
    ensureOpen();
    try {
      return map.replace(key, expected, value);
    } catch (ChronicleHashClosedException e) {
      throw closedError();
    } catch (IllegalStateException | IllegalArgumentException e) {
      throw full(e);
    }
  }

  private StoreFullException full(RuntimeException cause) {
    StoreFullException e =
        new StoreFullException(
            "the fragment store is full (" + entries() + " of " + capacityEntries
                + " entries); raise " + CAPACITY_KEY
                + (cause == null ? "" : " (the map refused the write: " + cause.getMessage() + ")"));
    if (cause != null) {
      e.initCause(cause);
    }
    return e;
  }

  private void warnNearlyFull(long entries) {
    if (warnedNearlyFull.compareAndSet(false, true)) {
      LOG.warn("the fragment store holds {} of {} entries (over {}%); raise {} before it fills up",
          entries, capacityEntries, (int) (NEARLY_FULL * 100), CAPACITY_KEY);
    }
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw closedError();
    }
  }

  private IllegalStateException closedError() {
    return new IllegalStateException("the fragment store in " + dir + " is closed");
  }

  private void transition(FragmentState from, FragmentState to) {
    if (from != to) {
      counts[from.ordinal()].decrementAndGet();
      counts[to.ordinal()].incrementAndGet();
    }
  }

  private static StoredRecord decode(byte[] raw) {
    try {
      return StoredRecord.parseFrom(raw);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** The state a record counts under; one that cannot be read counts as BLANK. */
  private static FragmentState stateOf(byte[] raw) {
    StoredRecord rec = decode(raw);
    return rec == null ? FragmentState.BLANK : stateOf(rec);
  }

  private static FragmentState stateOf(StoredRecord rec) {
    switch (rec.getState()) {
      case PRESENT:
        return FragmentState.PRESENT;
      case LOST:
        return FragmentState.LOST;
      case DELETED:
        return FragmentState.DELETED;
      default:
        return FragmentState.BLANK;
    }
  }

  private static Optional<NodeId> ownerOf(StoredRecord rec) {
    if (rec == null || rec.getOwnerId().size() != NodeId.LENGTH) {
      return Optional.empty();
    }
    return Optional.of(NodeId.of(rec.getOwnerId().toByteArray()));
  }

  /** A BLANK record keeping what can be trusted of the old one: its owner and age. */
  private StoredRecord blankOf(StoredRecord rec) {
    StoredRecord.Builder b =
        StoredRecord.newBuilder().setState(dev.mycelium.wire.proto.FragmentState.BLANK);
    if (rec != null) {
      ownerOf(rec).ifPresent(o -> b.setOwnerId(ByteString.copyFrom(o.toBytes())));
      b.setStoredAtMillis(rec.getStoredAtMillis()).setRepairAttempts(rec.getRepairAttempts());
    } else {
      b.setStoredAtMillis(clockMillis.getAsLong());
    }
    return b.build();
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

  private static void writeSizing(Path dir, long capacity, int averageValueBytes)
      throws IOException {
    Path p = dir.resolve(SIZING_FILE);
    Path tmp = dir.resolve(SIZING_FILE + ".tmp");
    Files.write(tmp, ("# the size " + FILE_NAME + " was made for; written by Mycelium\n"
        + "capacity-entries=" + capacity + "\n"
        + "average-value-bytes=" + averageValueBytes + "\n").getBytes(StandardCharsets.UTF_8));
    forceFile(tmp);
    Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static void forceFile(Path p) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Makes a rename or delete in the directory durable (a no-op where directories can't sync). */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // Some platforms cannot open a directory for sync; the rename is then as durable as the
      // file system makes it, which is all that can be had.
    }
  }
}
