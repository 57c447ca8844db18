package dev.mycelium.model;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link FragmentStore} on the heap, for tests and the simulator.
 *
 * <p>It is also the oracle for {@code ChronicleFragmentStore}: the same contract tests run on
 * both, so it is written for obviousness rather than speed (objects instead of encoded records,
 * counts taken by walking the map). It still verifies every read, and
 * {@link #corruptForTest(FragmentId)} lets a test damage a kept body so that BLANK detection is
 * exercised identically on both stores.
 */
public final class InMemoryFragmentStore implements FragmentStore {
  private static final Logger LOG = LoggerFactory.getLogger(InMemoryFragmentStore.class);

  /** What is kept per ID; {@code fragment} only in PRESENT (or damaged by a test). */
  private record Rec(
      FragmentState state,
      SignedFragment fragment,
      SignedTombstone tombstone,
      NodeId owner,
      long storedAtMillis) {}

  private final ConcurrentHashMap<FragmentId, Rec> map = new ConcurrentHashMap<>();
  private final FragmentCodec codec;
  private final long capacityEntries;
  private final LongSupplier clockMillis;
  private final AtomicLong blankDetections = new AtomicLong();
  private final Object insertLock = new Object();

  /** An unbounded store on the system clock. */
  public InMemoryFragmentStore(FragmentCodec codec) {
    this(codec, Long.MAX_VALUE, System::currentTimeMillis);
  }

  /**
   * A store that refuses new IDs past {@code capacityEntries}, stamping records with the given
   * clock (the simulator passes its virtual one).
   */
  public InMemoryFragmentStore(FragmentCodec codec, long capacityEntries, LongSupplier clockMillis) {
    if (capacityEntries < 1) {
      throw new IllegalArgumentException(
          "storage.capacity-entries must be at least 1, got " + capacityEntries);
    }
    this.codec = codec;
    this.capacityEntries = capacityEntries;
    this.clockMillis = clockMillis;
  }

  @Override
  public FragmentState put(Fragment fragment) {
    Rec fresh =
        new Rec(FragmentState.PRESENT, fragment.signed(), null, fragment.owner(), clockMillis.getAsLong());
    Rec after =
        mutate(
            fragment.id(),
            cur -> {
              if (cur == null) {
                return fresh;
              }
              if (cur.state == FragmentState.DELETED
                  && (cur.owner == null || cur.owner.equals(fragment.owner()))) {
                return cur;
              }
              if (cur.state == FragmentState.PRESENT && fragment.signed().equals(cur.fragment)) {
                return cur;
              }
              return fresh;
            });
    return after.state;
  }

  @Override
  public Optional<StoredFragment> get(FragmentId id) {
    return load(id, false);
  }

  /** As in the Chronicle store: reads check the hash, the scrubber also the signature. */
  private Optional<StoredFragment> load(FragmentId id, boolean fullCheck) {
    Rec rec = map.get(id);
    if (rec == null) {
      return Optional.empty();
    }
    if (rec.state != FragmentState.PRESENT) {
      return Optional.of(placeholder(id, rec));
    }
    try {
      Fragment f = fullCheck
          ? codec.verify(id, rec.fragment)
          : codec.decodeStored(id, rec.fragment);
      return Optional.of(StoredFragment.present(f));
    } catch (RuntimeException e) {
      Rec blank = new Rec(FragmentState.BLANK, null, null, rec.owner, rec.storedAtMillis);
      if (map.replace(id, rec, blank)) {
        blankDetections.incrementAndGet();
        LOG.warn("fragment {} failed its check ({}); it is BLANK until repaired", id, e.getMessage());
        return Optional.of(placeholder(id, blank));
      }
      return load(id, fullCheck);
    }
  }

  @Override
  public void delete(FragmentId id, SignedTombstone tombstone) {
    NodeId signer = codec.verifyTombstoneFor(id, tombstone);
    Rec deleted = new Rec(FragmentState.DELETED, null, tombstone, signer, clockMillis.getAsLong());
    mutate(
        id,
        cur -> {
          if (cur == null) {
            return deleted;
          }
          if (cur.state == FragmentState.DELETED) {
            return cur;
          }
          if (cur.owner != null && !cur.owner.equals(signer)) {
            throw new InvalidFragmentException(
                "signature",
                "the tombstone is signed by " + signer.shortString() + ", but fragment " + id
                    + " belongs to " + cur.owner.shortString());
          }
          return deleted;
        });
  }

  @Override
  public void markBlank(FragmentId id) {
    mutate(
        id,
        cur -> {
          if (cur == null) {
            return new Rec(FragmentState.BLANK, null, null, null, clockMillis.getAsLong());
          }
          if (cur.state == FragmentState.DELETED || cur.state == FragmentState.BLANK) {
            return cur;
          }
          return new Rec(FragmentState.BLANK, null, null, cur.owner, cur.storedAtMillis);
        });
  }

  @Override
  public Optional<SignedTombstone> tombstone(FragmentId id) {
    Rec rec = map.get(id);
    return rec != null && rec.state == FragmentState.DELETED
        ? Optional.ofNullable(rec.tombstone) : Optional.empty();
  }

  @Override
  public FragmentState check(FragmentId id) {
    return load(id, true).map(StoredFragment::state).orElse(null);
  }

  @Override
  public void forEachId(Consumer<FragmentId> visitor) {
    for (FragmentId id : map.keySet()) {
      visitor.accept(id);
    }
  }

  @Override
  public StoreStats stats() {
    Map<FragmentState, Long> byState = new EnumMap<>(FragmentState.class);
    for (FragmentState s : FragmentState.values()) {
      byState.put(s, 0L);
    }
    long entries = 0;
    for (Rec r : map.values()) {
      byState.merge(r.state, 1L, Long::sum);
      entries++;
    }
    return new StoreStats(
        Map.copyOf(byState),
        entries,
        capacityEntries == Long.MAX_VALUE ? 0 : capacityEntries,
        blankDetections.get());
  }

  /**
   * Test hook: the bytes kept for a PRESENT fragment, as they are, without verifying them (so a
   * corrupt body is returned, not detected and marked BLANK as {@link #get} would). Lets a
   * simulator watch a store without changing it.
   */
  public Optional<SignedFragment> keptBytesForTest(FragmentId id) {
    Rec rec = map.get(id);
    return rec != null && rec.state == FragmentState.PRESENT
        ? Optional.ofNullable(rec.fragment) : Optional.empty();
  }

  /**
   * Test hook: flips one byte in the middle of the kept body of a PRESENT fragment, leaving its
   * state as it was, as a bad disk sector would.
   *
   * @throws IllegalStateException when the ID holds no body
   */
  public void corruptForTest(FragmentId id) {
    map.compute(
        id,
        (k, cur) -> {
          if (cur == null || cur.fragment == null || cur.fragment.getBody().isEmpty()) {
            throw new IllegalStateException("fragment " + id + " holds no body to corrupt");
          }
          byte[] body = cur.fragment.getBody().toByteArray();
          body[body.length / 2] ^= 0x01;
          SignedFragment bad = cur.fragment.toBuilder().setBody(ByteString.copyFrom(body)).build();
          return new Rec(cur.state, bad, cur.tombstone, cur.owner, cur.storedAtMillis);
        });
  }

  @Override
  public void close() {
    // Nothing to release: the heap is the store.
  }

  private static StoredFragment placeholder(FragmentId id, Rec rec) {
    return new StoredFragment(id, rec.state, Optional.ofNullable(rec.owner), Optional.empty());
  }

  /**
   * Applies an update atomically. Inserting a new ID takes a lock so that the capacity check and
   * the insert cannot interleave with another insert.
   */
  private Rec mutate(FragmentId id, java.util.function.UnaryOperator<Rec> update) {
    Rec existing = map.get(id);
    if (existing != null) {
      Rec after = map.computeIfPresent(id, (k, cur) -> update.apply(cur));
      if (after != null) {
        return after;
      }
    }
    synchronized (insertLock) {
      if (!map.containsKey(id) && map.size() >= capacityEntries) {
        throw new StoreFullException(
            "the fragment store is full (" + map.size() + " of " + capacityEntries
                + " entries); raise storage.capacity-entries");
      }
      return map.compute(id, (k, cur) -> update.apply(cur));
    }
  }
}
