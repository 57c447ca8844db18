package dev.mycelium.storage.replica;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoreStats;
import dev.mycelium.storage.StateCounts;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The logic of a {@link ReplicaStore} over a map of raw bytes, so that the persistent store and
 * the in-memory one behave the same by construction and differ only in where the bytes live.
 * Every change is a compare-and-set on the raw value, retried when another thread got there
 * first, as {@code ChronicleFragmentStore} does.
 */
abstract class AbstractReplicaStore implements ReplicaStore {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaStore.class);

  private final FragmentCodec codec;
  private final StateCounts counts;
  private final LongSupplier clockMillis;
  private final Map<NodeId, Set<FragmentId>> byOwner = new ConcurrentHashMap<>();
  private volatile BiConsumer<FragmentId, NodeId> blankListener = (id, owner) -> {};

  AbstractReplicaStore(
      FragmentCodec codec, long capacityEntries, String capacityKey, LongSupplier clockMillis) {
    this.counts = new StateCounts("replica store", capacityEntries, capacityKey);
    this.codec = codec;
    this.clockMillis = clockMillis;
  }

  // ---- where the bytes live ----

  /** The raw value under a key, or null. */
  abstract byte[] read(byte[] key);

  /** Adds a value if the key is absent; false when it was present. */
  abstract boolean insertRaw(byte[] key, byte[] value);

  /** Replaces {@code expected} (as last read) by {@code value}; false when it changed. */
  abstract boolean replaceRaw(byte[] key, byte[] expected, byte[] value);

  /** Removes {@code expected} (as last read); false when it changed. */
  abstract boolean removeRaw(byte[] key, byte[] expected);

  /** Overwrites unconditionally (only for damaging a value in tests). */
  abstract void writeRaw(byte[] key, byte[] value);

  /** Visits every entry; the visitor may call back into the store. */
  abstract void forEachRaw(BiConsumer<byte[], byte[]> visitor);

  /** Fails when the store is closed. */
  abstract void ensureOpen();

  /**
   * Walks every entry once to count states and index owners. Called by the subclass once the
   * map is open; an entry whose header is unreadable is counted as BLANK and left to the first
   * read (which removes it).
   */
  final void loadIndex() {
    forEachRaw((k, v) -> {
      FragmentId id = FragmentId.of(k);
      ReplicaRecord h = ReplicaRecord.headerOf(v);
      if (h == null) {
        counts.addFound(FragmentState.BLANK);
      } else {
        counts.addFound(h.state());
        byOwner.computeIfAbsent(h.owner(), o -> ConcurrentHashMap.newKeySet()).add(id);
      }
    });
  }

  // ---- the contract ----

  @Override
  public FragmentState put(SignedReplica replica) {
    return keep(ReplicaChecks.verify(replica), replica);
  }

  @Override
  public FragmentState putVerified(FragmentId id, NodeId owner, SignedReplica replica) {
    ReplicaChecks.Checked c = ReplicaChecks.parse(replica);
    if (!c.id().equals(id) || !c.owner().equals(owner)) {
      throw new InvalidFragmentException("replica", "the replica names fragment " + c.id()
          + " of " + c.owner().shortString() + ", not " + id + " of " + owner.shortString());
    }
    return keep(c, replica);
  }

  @Override
  public boolean remove(FragmentId id) {
    byte[] key = id.toBytes();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        return false;
      }
      if (removeRaw(key, raw)) {
        ReplicaRecord h = ReplicaRecord.headerOf(raw);
        counts.removed(h == null ? FragmentState.BLANK : h.state());
        if (h != null) {
          Set<FragmentId> ids = byOwner.get(h.owner());
          if (ids != null) {
            ids.remove(id);
          }
        }
        return true;
      }
    }
  }

  @Override
  public int dropOwner(NodeId owner) {
    Set<FragmentId> ids = byOwner.get(owner);
    if (ids == null) {
      return 0;
    }
    int dropped = 0;
    for (FragmentId id : List.copyOf(ids)) {
      if (remove(id)) {
        dropped++;
      }
    }
    return dropped;
  }

  private FragmentState keep(ReplicaChecks.Checked c, SignedReplica replica) {
    byte[] key = c.id().toBytes();
    byte[] content = replica.toByteArray();
    byte[] fresh =
        new ReplicaRecord(FragmentState.PRESENT, c.owner(), clockMillis.getAsLong(), content)
            .encode();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        if (insert(key, fresh, c.owner())) {
          counts.add(FragmentState.PRESENT);
          return FragmentState.PRESENT;
        }
        continue;
      }
      ReplicaRecord h = ReplicaRecord.headerOf(raw);
      FragmentState state = h == null ? FragmentState.BLANK : h.state();
      if (h != null && !h.owner().equals(c.owner())) {
        throw new InvalidFragmentException("owner", "fragment " + c.id() + " is held here for "
            + h.owner().shortString() + "; a replica signed by " + c.owner().shortString()
            + " cannot replace it");
      }
      if (state == FragmentState.DELETED) {
        return FragmentState.DELETED;
      }
      if (state == FragmentState.PRESENT && ReplicaRecord.problem(raw) == null
          && java.util.Arrays.equals(ReplicaRecord.decode(raw).content(), content)) {
        return FragmentState.PRESENT;
      }
      if (replaceRaw(key, raw, fresh)) {
        counts.transition(state, FragmentState.PRESENT);
        if (h == null) {
          byOwner.computeIfAbsent(c.owner(), o -> ConcurrentHashMap.newKeySet()).add(c.id());
        }
        return FragmentState.PRESENT;
      }
    }
  }

  @Override
  public Optional<HeldReplica> get(FragmentId id) {
    return load(id, false);
  }

  @Override
  public FragmentState check(FragmentId id) {
    return load(id, true).map(HeldReplica::state).orElse(null);
  }

  private Optional<HeldReplica> load(FragmentId id, boolean full) {
    byte[] key = id.toBytes();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        return Optional.empty();
      }
      String failure = ReplicaRecord.problem(raw);
      if (failure == null) {
        ReplicaRecord r = ReplicaRecord.decode(raw);
        try {
          HeldReplica held = decode(id, r, full);
          if (held != null) {
            return Optional.of(held);
          }
          failure = "the record's content does not check";
        } catch (InvalidFragmentException e) {
          failure = e.getMessage();
        }
      }
      ReplicaRecord h = ReplicaRecord.headerOf(raw);
      if (h == null) {
        // Not even the owner can be trusted: nothing to keep. The owner's anti-entropy puts
        // the replica back.
        if (removeRaw(key, raw)) {
          counts.removed(FragmentState.BLANK);
          counts.blankDetected();
          LOG.warn("held replica {} has an unreadable record ({}); dropped", id, failure);
          return Optional.empty();
        }
        continue;
      }
      byte[] blank =
          new ReplicaRecord(FragmentState.BLANK, h.owner(), h.storedAtMillis(), new byte[0])
              .encode();
      if (replaceRaw(key, raw, blank)) {
        counts.transition(h.state(), FragmentState.BLANK);
        counts.blankDetected();
        LOG.warn("held replica {} of owner {} failed its check ({}); it is BLANK until pulled "
            + "from another holder", id, h.owner().shortString(), failure);
        blankListener.accept(id, h.owner());
        return Optional.of(new HeldReplica(id, FragmentState.BLANK, h.owner(), Optional.empty(),
            Optional.empty(), h.storedAtMillis()));
      }
    }
  }

  /** The entry a checked record holds, or null when its content does not fit its state. */
  private HeldReplica decode(FragmentId id, ReplicaRecord r, boolean full) {
    switch (r.state()) {
      case PRESENT:
        {
          SignedReplica replica;
          try {
            replica = SignedReplica.parseFrom(r.content());
          } catch (InvalidProtocolBufferException e) {
            return null;
          }
          ReplicaChecks.Checked c =
              full ? ReplicaChecks.verify(replica) : ReplicaChecks.parse(replica);
          if (!c.id().equals(id) || !c.owner().equals(r.owner())) {
            return null;
          }
          return new HeldReplica(id, FragmentState.PRESENT, r.owner(), Optional.of(replica),
              Optional.empty(), r.storedAtMillis());
        }
      case DELETED:
        {
          SignedTombstone t;
          try {
            t = SignedTombstone.parseFrom(r.content());
          } catch (InvalidProtocolBufferException e) {
            return null;
          }
          if (full && !codec.verifyTombstoneFor(id, t).equals(r.owner())) {
            return null;
          }
          return new HeldReplica(id, FragmentState.DELETED, r.owner(), Optional.empty(),
              Optional.of(t), r.storedAtMillis());
        }
      default:
        return new HeldReplica(id, r.state(), r.owner(), Optional.empty(), Optional.empty(),
            r.storedAtMillis());
    }
  }

  @Override
  public void delete(FragmentId id, SignedTombstone tombstone) {
    NodeId signer = codec.verifyTombstoneFor(id, tombstone);
    byte[] key = id.toBytes();
    byte[] deleted =
        new ReplicaRecord(FragmentState.DELETED, signer, clockMillis.getAsLong(),
            tombstone.toByteArray()).encode();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        if (insert(key, deleted, signer)) {
          counts.add(FragmentState.DELETED);
          return;
        }
        continue;
      }
      ReplicaRecord h = ReplicaRecord.headerOf(raw);
      if (h != null && !h.owner().equals(signer)) {
        throw new InvalidFragmentException("signature", "the tombstone is signed by "
            + signer.shortString() + ", but fragment " + id + " is held here for "
            + h.owner().shortString());
      }
      FragmentState state = h == null ? FragmentState.BLANK : h.state();
      if (state == FragmentState.DELETED && ReplicaRecord.problem(raw) == null) {
        return;
      }
      if (replaceRaw(key, raw, deleted)) {
        counts.transition(state, FragmentState.DELETED);
        if (h == null) {
          byOwner.computeIfAbsent(signer, o -> ConcurrentHashMap.newKeySet()).add(id);
        }
        return;
      }
    }
  }

  @Override
  public void markBlank(FragmentId id, NodeId owner) {
    byte[] key = id.toBytes();
    while (true) {
      byte[] raw = read(key);
      if (raw == null) {
        byte[] placeholder =
            new ReplicaRecord(FragmentState.BLANK, owner, clockMillis.getAsLong(), new byte[0])
                .encode();
        if (insert(key, placeholder, owner)) {
          counts.add(FragmentState.BLANK);
          return;
        }
        continue;
      }
      ReplicaRecord h = ReplicaRecord.headerOf(raw);
      if (h == null || h.state() == FragmentState.DELETED || h.state() == FragmentState.BLANK) {
        return;
      }
      byte[] blank =
          new ReplicaRecord(FragmentState.BLANK, h.owner(), h.storedAtMillis(), new byte[0])
              .encode();
      if (replaceRaw(key, raw, blank)) {
        counts.transition(h.state(), FragmentState.BLANK);
        return;
      }
    }
  }

  @Override
  public void forEachOfOwner(NodeId owner, Consumer<FragmentId> visitor) {
    ensureOpen();
    Set<FragmentId> ids = byOwner.get(owner);
    if (ids != null) {
      ids.forEach(visitor);
    }
  }

  @Override
  public Set<NodeId> owners() {
    ensureOpen();
    Set<NodeId> out = new java.util.HashSet<>();
    byOwner.forEach((o, ids) -> {
      if (!ids.isEmpty()) {
        out.add(o);
      }
    });
    return Set.copyOf(out);
  }

  @Override
  public long countOf(NodeId owner) {
    Set<FragmentId> ids = byOwner.get(owner);
    return ids == null ? 0 : ids.size();
  }

  @Override
  public int purgeTombstones(long storedBeforeMillis) {
    List<byte[]> candidates = new ArrayList<>();
    forEachRaw((k, v) -> {
      ReplicaRecord h = ReplicaRecord.headerOf(v);
      if (h != null && h.state() == FragmentState.DELETED
          && h.storedAtMillis() < storedBeforeMillis) {
        candidates.add(k.clone());
      }
    });
    int dropped = 0;
    for (byte[] key : candidates) {
      byte[] raw = read(key);
      ReplicaRecord h = raw == null ? null : ReplicaRecord.headerOf(raw);
      if (h != null && h.state() == FragmentState.DELETED
          && h.storedAtMillis() < storedBeforeMillis && removeRaw(key, raw)) {
        counts.removed(FragmentState.DELETED);
        Set<FragmentId> ids = byOwner.get(h.owner());
        if (ids != null) {
          ids.remove(FragmentId.of(key));
        }
        dropped++;
      }
    }
    return dropped;
  }

  @Override
  public void forEachId(Consumer<FragmentId> visitor) {
    ensureOpen();
    List<FragmentId> ids = new ArrayList<>();
    forEachRaw((k, v) -> ids.add(FragmentId.of(k)));
    ids.forEach(visitor);
  }

  @Override
  public StoreStats stats() {
    return counts.stats();
  }

  @Override
  public void onBlank(BiConsumer<FragmentId, NodeId> listener) {
    this.blankListener = listener == null ? (id, owner) -> {} : listener;
  }

  /**
   * Test hook: flips one byte in the content of a PRESENT or DELETED entry, leaving the header
   * as it was, as a bad sector would.
   *
   * @throws IllegalStateException when the ID holds no content
   */
  public void corruptForTest(FragmentId id) {
    byte[] key = id.toBytes();
    byte[] raw = read(key);
    if (raw == null || raw.length <= ReplicaRecord.HEADER) {
      throw new IllegalStateException("replica " + id + " holds no content to corrupt");
    }
    byte[] bad = raw.clone();
    int at = ReplicaRecord.HEADER + (raw.length - ReplicaRecord.HEADER) / 2;
    bad[at] ^= 0x01;
    writeRaw(key, bad);
  }

  final long entries() {
    return counts.total();
  }

  final long capacityEntries() {
    return counts.capacityEntries();
  }

  /** Counts by state, for the clean-close marker and logs. */
  final String countsText() {
    return counts.text();
  }

  /** Adds a new ID if it fits; the slot is reserved first so racing inserts cannot overfill. */
  private boolean insert(byte[] key, byte[] value, NodeId owner) {
    boolean inserted = counts.insert(() -> insertRaw(key, value)) > 0;
    if (inserted) {
      byOwner.computeIfAbsent(owner, o -> ConcurrentHashMap.newKeySet()).add(FragmentId.of(key));
    }
    return inserted;
  }
}
