package dev.mycelium.storage.replica;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;

/**
 * A {@link ReplicaStore} on the heap, for tests and the simulator. It keeps the very records the
 * persistent store keeps, so damage injected by {@link #corruptForTest} is found the same way.
 */
public final class InMemoryReplicaStore extends AbstractReplicaStore {
  private final ConcurrentHashMap<FragmentId, byte[]> map = new ConcurrentHashMap<>();
  private final AtomicBoolean closed = new AtomicBoolean();

  /** An unbounded store on the system clock. */
  public InMemoryReplicaStore(FragmentCodec codec) {
    this(codec, Long.MAX_VALUE, System::currentTimeMillis);
  }

  /** A store that refuses new IDs past {@code capacityEntries}, on the given clock. */
  public InMemoryReplicaStore(FragmentCodec codec, long capacityEntries, LongSupplier clock) {
    super(codec, capacityEntries, ChronicleReplicaStore.CAPACITY_KEY, clock);
  }

  @Override
  byte[] read(byte[] key) {
    ensureOpen();
    return map.get(FragmentId.of(key));
  }

  @Override
  boolean insertRaw(byte[] key, byte[] value) {
    ensureOpen();
    return map.putIfAbsent(FragmentId.of(key), value) == null;
  }

  @Override
  boolean replaceRaw(byte[] key, byte[] expected, byte[] value) {
    ensureOpen();
    // Values are never mutated in place, so the array last read is the one to compare with.
    return map.replace(FragmentId.of(key), expected, value);
  }

  @Override
  boolean removeRaw(byte[] key, byte[] expected) {
    ensureOpen();
    return map.remove(FragmentId.of(key), expected);
  }

  @Override
  void writeRaw(byte[] key, byte[] value) {
    map.put(FragmentId.of(key), value);
  }

  @Override
  void forEachRaw(BiConsumer<byte[], byte[]> visitor) {
    ensureOpen();
    List<Map.Entry<FragmentId, byte[]>> entries = new ArrayList<>(map.entrySet());
    for (Map.Entry<FragmentId, byte[]> e : entries) {
      visitor.accept(e.getKey().toBytes(), e.getValue());
    }
  }

  @Override
  void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the replica store is closed");
    }
  }

  @Override
  public void close() {
    closed.set(true);
  }
}
