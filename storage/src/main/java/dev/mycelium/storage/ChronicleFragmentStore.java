package dev.mycelium.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.StoreStats;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import dev.mycelium.wire.proto.StoredRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's {@link FragmentStore}: a Chronicle Map persisted to {@code <dir>/fragments*.cm3},
 * keyed by the 32 raw ID bytes, each value an encoded {@link StoredRecord}.
 *
 * <p>Why Chronicle Map: it is memory-mapped, so an acknowledged write is in the OS page cache at
 * once and survives a crash of the process, and reads cost no system call. What it does not do
 * is promise a consistent file after an unclean stop: segment locks and entry counts may be left
 * stale. So the store keeps a clean-shutdown marker ({@code fragments.clean}), written by
 * {@link #close()} after the map is closed and synced and deleted right after opening; when the
 * file exists without the marker, the map is opened with {@code recoverPersistedTo} before
 * anything reads it. The files, their growth and the disk checks live in {@link ChronicleFile}.
 *
 * <p>Integrity: every read decodes the record and checks the body's SHA-256 against the key and
 * the owner's signature. A record that fails (or does not even parse) is rewritten as BLANK,
 * counted, logged, and answered as BLANK: bad bytes never leave the store and a caller never
 * sees an exception for corrupt data.
 *
 * <p>Capacity: the file starts small and grows with the content (see {@link ChronicleFile}).
 * {@code storage.capacity-entries} is a ceiling of the store's own: it warns once at 90% and
 * refuses new IDs with {@link StoreFullException} at 100%. New IDs are refused too when the disk
 * is nearly full ({@value ChronicleFile#MIN_FREE_KEY}); {@link #lowDisk()} says why.
 *
 * <p>Counts by state are kept in counters updated on every transition, recounted once at open,
 * so {@link #stats()} is cheap enough for every metrics scrape. A record damaged on disk while
 * the store is open may be counted under its old state until it is detected and rewritten.
 */
public final class ChronicleFragmentStore implements FragmentStore, ChronicleBacked {
  static {
    // Chronicle reads this when its classes initialise; the store sets it before touching them,
    // in case the JVM was started without config/jvm.options.
    if (System.getProperty("chronicle.analytics.disable") == null) {
      System.setProperty("chronicle.analytics.disable", "true");
    }
    if (System.getProperty("chronicle.announcer.disable") == null) {
      System.setProperty("chronicle.announcer.disable", "true");
    }
  }

  /** The config key that bounds the store, named in every capacity message. */
  public static final String CAPACITY_KEY = "storage.capacity-entries";
  /** The store's file names in the data directory ({@code fragments.cm3} and the rest). */
  public static final ChronicleFile.Names FILES = new ChronicleFile.Names("fragments");
  /** Share of the capacity at which the store starts warning. */
  public static final double NEARLY_FULL = 0.9;

  private static final Logger LOG = LoggerFactory.getLogger(ChronicleFragmentStore.class);
  private static final FragmentState[] STATES = FragmentState.values();

  private final ChronicleFile map;
  private final Path dir;
  private final FragmentCodec codec;
  private final long capacityEntries;
  private final LongSupplier clockMillis;
  private final boolean recovered;
  private final StateCounts counts;
  private final AtomicBoolean warnedNearlyFull = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();

  private ChronicleFragmentStore(
      ChronicleFile map,
      Path dir,
      FragmentCodec codec,
      long capacityEntries,
      LongSupplier clockMillis) {
    this.map = map;
    this.dir = dir;
    this.codec = codec;
    this.capacityEntries = capacityEntries;
    this.clockMillis = clockMillis;
    this.recovered = map.recovered();
    this.counts = new StateCounts("fragment store", capacityEntries, CAPACITY_KEY);
  }

  /** Opens (or makes) the store in {@code dir} on the system clock. */
  public static ChronicleFragmentStore open(
      Path dir, long capacityEntries, int averageValueBytes, FragmentCodec codec)
      throws IOException {
    return open(dir, capacityEntries, averageValueBytes, codec, System::currentTimeMillis);
  }

  /** Opens (or makes) the store in {@code dir} with the default growth. */
  public static ChronicleFragmentStore open(
      Path dir,
      long capacityEntries,
      int averageValueBytes,
      FragmentCodec codec,
      LongSupplier clockMillis)
      throws IOException {
    return open(dir, capacityEntries, averageValueBytes, codec, clockMillis,
        ChronicleFile.Growth.DEFAULTS);
  }

  /**
   * Opens (or makes) the store in {@code dir}, recovering the files first when the last stop was
   * unclean.
   *
   * @param capacityEntries most IDs the store will hold ({@value #CAPACITY_KEY})
   * @param averageValueBytes expected size of an encoded record, which the first file is sized
   *     from (about 1.7 KiB plus the text for a 384-dimension fragment); later files are sized
   *     from the records actually held
   * @param clockMillis stamps {@code stored_at_millis}
   * @param growth the first file's size and the disk space kept free
   * @throws IOException when the directory or the file cannot be used
   */
  public static ChronicleFragmentStore open(
      Path dir,
      long capacityEntries,
      int averageValueBytes,
      FragmentCodec codec,
      LongSupplier clockMillis,
      ChronicleFile.Growth growth)
      throws IOException {
    if (capacityEntries < 1) {
      throw new IllegalArgumentException(
          CAPACITY_KEY + " must be at least 1, got " + capacityEntries);
    }
    if (averageValueBytes < 64) {
      throw new IllegalArgumentException(
          "storage.average-value-bytes must be at least 64, got " + averageValueBytes);
    }
    ChronicleFile.Spec spec = new ChronicleFile.Spec(FILES, "fragment store",
        Math.min(capacityEntries, growth.initialEntries()), averageValueBytes,
        maxRecordBytes(codec.limits()), capacityEntries, growth.minFreeDiskBytes(),
        growth.freeSpace());
    ChronicleFile map = ChronicleFile.open(dir, spec);
    try {
      ChronicleFragmentStore store =
          new ChronicleFragmentStore(map, dir, codec, capacityEntries, clockMillis);
      long[] savedCounts = readCounts(map.cleanMarker());
      if (savedCounts != null && sum(savedCounts) == map.size()) {
        store.restoreCounts(savedCounts);
      } else {
        store.recount();
      }
      return store;
    } catch (RuntimeException e) {
      // Closing here would write no marker content worth keeping; the next open recounts.
      map.close("");
      throw e;
    }
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
   * Takes the counts by state that the last clean close wrote, so that opening a large store
   * costs the same as opening a small one; after an unclean stop they are recounted instead.
   */
  private void restoreCounts(long[] saved) {
    counts.restore(saved);
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
  private static long[] readCounts(Properties props) {
    if (props == null) {
      return null;
    }
    try {
      long[] out = new long[STATES.length];
      for (FragmentState st : STATES) {
        String v = props.getProperty("count." + st.name());
        if (v == null) {
          return null;
        }
        out[st.ordinal()] = Long.parseLong(v.trim());
      }
      return out;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private void recount() {
    long[] local = new long[STATES.length];
    map.forEach((k, v) -> local[stateOf(v).ordinal()]++);
    counts.restore(local);
    logOpen(sum(local));
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
  public ChronicleFile files() {
    return map;
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
          counts.add(FragmentState.PRESENT);
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
        counts.transition(state, FragmentState.PRESENT);
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
        counts.transition(stateOf(raw), FragmentState.BLANK);
        counts.blankDetected();
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
          counts.add(FragmentState.DELETED);
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
        counts.transition(state, FragmentState.DELETED);
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
          counts.add(FragmentState.BLANK);
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
        counts.transition(state, FragmentState.BLANK);
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
    map.forEachKey(k -> visitor.accept(FragmentId.of(k)));
  }

  @Override
  public StoreStats stats() {
    return counts.stats();
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
    map.putForTest(key, rec.toBuilder().setFragment(bad).build().toByteArray());
  }

  /** Test hook: stores raw record bytes under an ID, as a damaged disk might hand them back. */
  void writeRawForTest(FragmentId id, byte[] raw) {
    map.putForTest(id.toBytes(), raw);
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
    StringBuilder text = new StringBuilder("# closed cleanly at ")
        .append(Instant.ofEpochMilli(clockMillis.getAsLong())).append('\n');
    for (FragmentState st : STATES) {
      text.append("count.").append(st.name()).append('=')
          .append(counts.get(st)).append('\n');
    }
    map.close(text.toString());
    LOG.info("fragment store closed ({} entries)", entries());
  }

  private long entries() {
    return counts.total();
  }

  private String countsText() {
    return counts.text();
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
    long now = counts.insert(() -> map.putIfAbsent(key, value));
    if (now >= capacityEntries * NEARLY_FULL) {
      warnNearlyFull(now);
    }
    return now > 0;
  }

  private boolean replace(byte[] key, byte[] expected, byte[] value) {
    ensureOpen();
    return map.replace(key, expected, value);
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
}
