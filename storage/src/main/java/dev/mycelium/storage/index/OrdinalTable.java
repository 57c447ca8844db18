package dev.mycelium.storage.index;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A growable array indexed by graph ordinal, safe for concurrent readers and writers. Chunks
 * are never moved once allocated, so a reader never sees a half-copied array while the table
 * grows, and ordinals are dense enough (they are handed out in order) that chunks stay full.
 */
final class OrdinalTable<T> {
  private static final int CHUNK_BITS = 12;
  private static final int CHUNK = 1 << CHUNK_BITS;
  private volatile AtomicReferenceArray<AtomicReferenceArray<T>> chunks =
      new AtomicReferenceArray<>(16);

  T get(int ordinal) {
    AtomicReferenceArray<AtomicReferenceArray<T>> cs = chunks;
    int c = ordinal >>> CHUNK_BITS;
    if (ordinal < 0 || c >= cs.length()) {
      return null;
    }
    AtomicReferenceArray<T> chunk = cs.get(c);
    return chunk == null ? null : chunk.get(ordinal & (CHUNK - 1));
  }

  void set(int ordinal, T value) {
    chunkFor(ordinal).set(ordinal & (CHUNK - 1), value);
  }

  private AtomicReferenceArray<T> chunkFor(int ordinal) {
    int c = ordinal >>> CHUNK_BITS;
    AtomicReferenceArray<AtomicReferenceArray<T>> cs = chunks;
    if (c >= cs.length()) {
      synchronized (this) {
        cs = chunks;
        if (c >= cs.length()) {
          AtomicReferenceArray<AtomicReferenceArray<T>> bigger =
              new AtomicReferenceArray<>(Math.max(c + 1, cs.length() * 2));
          for (int i = 0; i < cs.length(); i++) {
            bigger.set(i, cs.get(i));
          }
          chunks = bigger;
          cs = bigger;
        }
      }
    }
    AtomicReferenceArray<T> chunk = cs.get(c);
    if (chunk == null) {
      synchronized (this) {
        // Re-read: a concurrent grow may have published a new outer array meanwhile.
        cs = chunks;
        chunk = cs.get(c);
        if (chunk == null) {
          chunk = new AtomicReferenceArray<>(CHUNK);
          cs.set(c, chunk);
        }
      }
    }
    return chunk;
  }
}
