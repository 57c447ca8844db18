package dev.mycelium.overlay.replica;

import dev.mycelium.model.FragmentId;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * What one node holds of one owner, summarised so that two nodes can find their differences
 * with traffic that grows with the number of differences, not with the store.
 *
 * <p>Entries (a fragment ID held as a replica, or as a tombstone) fall into 2^leafBits leaf
 * buckets by ID prefix. Each bucket's value is the XOR of its entries' 16-byte hashes, so an add
 * or a remove updates it in constant time and the value does not depend on insertion order.
 * Inner levels, 16 children each, hold the XOR of their children, and the root is a hash of the
 * first level. Two nodes compare roots; where they differ they descend, sending only the
 * children of differing nodes, down to the leaf buckets, and then list the IDs in the differing
 * buckets. This is a Merkle tree over a fixed prefix trie, as in Dynamo's anti-entropy (DeCandia
 * et al., SOSP 2007), with XOR as the combining function so that updates need no rehashing.
 *
 * <p>A replica and a tombstone for the same ID hash differently, so a holder that missed a delete
 * differs from the others and learns of it. Not thread-safe.
 */
public final class OwnerDigest {
  /** Children per inner node. */
  public static final int FANOUT = 16;
  /** Bytes of a node value (and of the root as sent). */
  public static final int VALUE_BYTES = 16;

  private static final byte[] TOMBSTONE_SALT = "mycelium-tombstone".getBytes(
      java.nio.charset.StandardCharsets.US_ASCII);

  private final int leafBits;
  private final int levels;
  /** levels[k-1] holds 16^k values of VALUE_BYTES bytes: level k of the tree, k = 1..levels. */
  private final byte[][] values;
  private final Map<Integer, Map<FragmentId, Boolean>> buckets = new HashMap<>();
  private int size;
  private byte[] root;

  /** An empty digest with 2^leafBits leaf buckets (leafBits a multiple of 4, 4 to 16). */
  public OwnerDigest(int leafBits) {
    if (leafBits < 4 || leafBits > 16 || leafBits % 4 != 0) {
      throw new IllegalArgumentException("leaf bits must be 4, 8, 12 or 16, got " + leafBits);
    }
    this.leafBits = leafBits;
    this.levels = leafBits / 4;
    this.values = new byte[levels][];
    for (int k = 1; k <= levels; k++) {
      values[k - 1] = new byte[(1 << (4 * k)) * VALUE_BYTES];
    }
  }

  /** Levels below the root; the last one is the leaf buckets. */
  public int levels() {
    return levels;
  }

  public int leafBits() {
    return leafBits;
  }

  /** Entries held (replicas and tombstones). */
  public int size() {
    return size;
  }

  /** The leaf bucket of an ID: its first leafBits bits. */
  public int bucketOf(FragmentId id) {
    byte[] b = id.toBytes();
    int prefix = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
    return prefix >>> (16 - leafBits);
  }

  /**
   * Records an entry, or changes its kind. Returns whether the digest changed.
   *
   * @param deleted true for a tombstone, false for a replica
   */
  public boolean put(FragmentId id, boolean deleted) {
    int bucket = bucketOf(id);
    Map<FragmentId, Boolean> m = buckets.computeIfAbsent(bucket, k -> new HashMap<>());
    Boolean was = m.put(id, deleted);
    if (was != null && was == deleted) {
      return false;
    }
    if (was != null) {
      toggle(bucket, itemHash(id, was));
    } else {
      size++;
    }
    toggle(bucket, itemHash(id, deleted));
    return true;
  }

  /** Forgets an entry. Returns whether it was there. */
  public boolean remove(FragmentId id) {
    int bucket = bucketOf(id);
    Map<FragmentId, Boolean> m = buckets.get(bucket);
    Boolean was = m == null ? null : m.remove(id);
    if (was == null) {
      return false;
    }
    if (m.isEmpty()) {
      buckets.remove(bucket);
    }
    size--;
    toggle(bucket, itemHash(id, was));
    return true;
  }

  /** Whether the ID is held as a replica ({@code FALSE}), a tombstone ({@code TRUE}), or not. */
  public Boolean kind(FragmentId id) {
    Map<FragmentId, Boolean> m = buckets.get(bucketOf(id));
    return m == null ? null : m.get(id);
  }

  public boolean containsLive(FragmentId id) {
    return Boolean.FALSE.equals(kind(id));
  }

  public boolean containsTombstone(FragmentId id) {
    return Boolean.TRUE.equals(kind(id));
  }

  /** The root: 16 bytes of SHA-256 over the first level's values. */
  public byte[] root() {
    if (root == null) {
      root = Arrays.copyOf(sha256(values[0]), VALUE_BYTES);
    }
    return root.clone();
  }

  /** The 16 children (16 bytes each, in order) of an inner node at {@code level - 1}. */
  public byte[] children(int level, int parent) {
    checkLevel(level);
    int first = parent * FANOUT;
    if (parent < 0 || first >= (1 << (4 * level))) {
      throw new IllegalArgumentException(
          "no node " + parent + " at level " + (level - 1) + " of a " + leafBits + "-bit digest");
    }
    return Arrays.copyOfRange(values[level - 1], first * VALUE_BYTES,
        (first + FANOUT) * VALUE_BYTES);
  }

  /**
   * The children of {@code parent} (at {@code level - 1}) whose value differs from the given
   * 256 bytes, as node indexes at {@code level}.
   */
  public List<Integer> differingChildren(int level, int parent, byte[] theirs, int offset) {
    byte[] mine = children(level, parent);
    List<Integer> out = new ArrayList<>();
    for (int j = 0; j < FANOUT; j++) {
      if (!Arrays.equals(mine, j * VALUE_BYTES, (j + 1) * VALUE_BYTES,
          theirs, offset + j * VALUE_BYTES, offset + (j + 1) * VALUE_BYTES)) {
        out.add(parent * FANOUT + j);
      }
    }
    return out;
  }

  /** Visits the entries of one leaf bucket: (ID, deleted). */
  public void forEachIn(int bucket, BiConsumer<FragmentId, Boolean> visitor) {
    Map<FragmentId, Boolean> m = buckets.get(bucket);
    if (m != null) {
      m.forEach(visitor);
    }
  }

  /** Entries in one leaf bucket. */
  public int sizeOf(int bucket) {
    Map<FragmentId, Boolean> m = buckets.get(bucket);
    return m == null ? 0 : m.size();
  }

  /** Visits every entry: (ID, deleted). */
  public void forEach(BiConsumer<FragmentId, Boolean> visitor) {
    for (Map<FragmentId, Boolean> m : buckets.values()) {
      m.forEach(visitor);
    }
  }

  private void checkLevel(int level) {
    if (level < 1 || level > levels) {
      throw new IllegalArgumentException(
          "digest level must be 1 to " + levels + ", got " + level);
    }
  }

  private void toggle(int bucket, byte[] h) {
    root = null;
    int node = bucket;
    for (int k = levels; k >= 1; k--) {
      byte[] v = values[k - 1];
      int off = node * VALUE_BYTES;
      for (int i = 0; i < VALUE_BYTES; i++) {
        v[off + i] ^= h[i];
      }
      node >>>= 4;
    }
  }

  /** The 16-byte hash an entry contributes: the back half of the ID (itself a hash), or a salted hash for a tombstone. */
  static byte[] itemHash(FragmentId id, boolean deleted) {
    byte[] b = id.toBytes();
    if (!deleted) {
      // The back half: the front bits are the bucket prefix, shared by a bucket's entries.
      return Arrays.copyOfRange(b, FragmentId.LENGTH - VALUE_BYTES, FragmentId.LENGTH);
    }
    MessageDigest sha = sha();
    sha.update(TOMBSTONE_SALT);
    sha.update(b);
    return Arrays.copyOf(sha.digest(), VALUE_BYTES);
  }

  private static byte[] sha256(byte[] data) {
    return sha().digest(data);
  }

  private static MessageDigest sha() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
