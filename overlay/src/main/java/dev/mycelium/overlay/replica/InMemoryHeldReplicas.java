package dev.mycelium.overlay.replica;

import com.google.protobuf.ByteString;
import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * {@link HeldReplicas} on the heap, for the simulator and tests, with an optional entry limit
 * so that a full holder can be simulated. Not thread-safe (the core's driver thread owns it).
 */
public final class InMemoryHeldReplicas implements HeldReplicas {
  private record Entry(NodeId owner, SignedReplica replica, SignedTombstone tombstone) {}

  private final Map<FragmentId, Entry> entries = new HashMap<>();
  private final Map<NodeId, Map<FragmentId, Boolean>> byOwner = new LinkedHashMap<>();
  private final Map<NodeId, SignedManifest> manifests = new HashMap<>();
  private long capacity;

  /** An unbounded store. */
  public InMemoryHeldReplicas() {
    this(Long.MAX_VALUE);
  }

  /** A store that refuses new replicas past {@code capacity} entries. */
  public InMemoryHeldReplicas(long capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1 entry, got " + capacity);
    }
    this.capacity = capacity;
  }

  @Override
  public Set<NodeId> owners() {
    Set<NodeId> out = new LinkedHashSet<>(byOwner.keySet());
    out.addAll(manifests.keySet());
    return out;
  }

  @Override
  public void forEach(NodeId owner, BiConsumer<FragmentId, Boolean> visitor) {
    Map<FragmentId, Boolean> m = byOwner.get(owner);
    if (m != null) {
      new LinkedHashMap<>(m).forEach(visitor);
    }
  }

  @Override
  public Optional<NodeId> ownerOf(FragmentId id) {
    Entry e = entries.get(id);
    return e == null ? Optional.empty() : Optional.of(e.owner);
  }

  @Override
  public Optional<SignedReplica> replica(FragmentId id) {
    Entry e = entries.get(id);
    return e == null ? Optional.empty() : Optional.ofNullable(e.replica);
  }

  @Override
  public Optional<SignedTombstone> tombstone(FragmentId id) {
    Entry e = entries.get(id);
    return e == null ? Optional.empty() : Optional.ofNullable(e.tombstone);
  }

  @Override
  public boolean putReplica(NodeId owner, FragmentId id, SignedReplica replica) {
    if (!entries.containsKey(id) && entries.size() >= capacity) {
      return false;
    }
    entries.put(id, new Entry(owner, replica, null));
    byOwner.computeIfAbsent(owner, k -> new LinkedHashMap<>()).put(id, false);
    return true;
  }

  @Override
  public void putTombstone(NodeId owner, FragmentId id, SignedTombstone tombstone) {
    entries.put(id, new Entry(owner, null, tombstone));
    byOwner.computeIfAbsent(owner, k -> new LinkedHashMap<>()).put(id, true);
  }

  @Override
  public void remove(FragmentId id) {
    Entry e = entries.remove(id);
    if (e != null) {
      Map<FragmentId, Boolean> m = byOwner.get(e.owner);
      m.remove(id);
      if (m.isEmpty()) {
        byOwner.remove(e.owner);
      }
    }
  }

  @Override
  public void dropOwner(NodeId owner) {
    Map<FragmentId, Boolean> m = byOwner.remove(owner);
    if (m != null) {
      m.keySet().forEach(entries::remove);
    }
    manifests.remove(owner);
  }

  @Override
  public Optional<SignedManifest> manifest(NodeId owner) {
    return Optional.ofNullable(manifests.get(owner));
  }

  @Override
  public void putManifest(NodeId owner, SignedManifest manifest) {
    manifests.put(owner, manifest);
  }

  /** Changes the entry limit (a disk filling up, in a simulation); what is kept stays. */
  public void setCapacity(long entries) {
    if (entries < 1) {
      throw new IllegalArgumentException("capacity must be at least 1 entry, got " + entries);
    }
    this.capacity = entries;
  }

  /** Replicas and tombstones kept, all owners together. */
  public int size() {
    return entries.size();
  }

  /** Forgets everything, as a wiped disk would. */
  public void clear() {
    entries.clear();
    byOwner.clear();
    manifests.clear();
  }

  /**
   * Test hook: the replica's bytes no longer read, as when the store turns a record that fails
   * its check BLANK (the owner is still known).
   */
  public void blankForTest(FragmentId id) {
    Entry e = entries.get(id);
    if (e == null || e.replica == null) {
      throw new IllegalStateException("no replica of " + id + " is held here");
    }
    entries.put(id, new Entry(e.owner, null, null));
  }

  /**
   * Test hook: the replica's record is gone, as when the store drops one whose header does not
   * read (not even the owner is known).
   */
  public void loseForTest(FragmentId id) {
    Entry e = entries.remove(id);
    if (e == null) {
      throw new IllegalStateException("no replica of " + id + " is held here");
    }
    Map<FragmentId, Boolean> m = byOwner.get(e.owner);
    if (m != null) {
      m.remove(id);
    }
  }

  /**
   * Test hook: flips one byte in the middle of a kept replica's payload, as a bad disk sector
   * would.
   *
   * @throws IllegalStateException when no replica is kept for the ID
   */
  public void corruptForTest(FragmentId id) {
    Entry e = entries.get(id);
    if (e == null || e.replica == null) {
      throw new IllegalStateException("no replica of " + id + " is held here");
    }
    byte[] body = e.replica.getBody().toByteArray();
    body[body.length / 2] ^= 0x01;
    entries.put(id, new Entry(e.owner,
        e.replica.toBuilder().setBody(ByteString.copyFrom(body)).build(), null));
  }
}
