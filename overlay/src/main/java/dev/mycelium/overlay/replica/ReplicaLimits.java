package dev.mycelium.overlay.replica;

/**
 * What other nodes can make this node hold through replication, in entries and bytes. A holder
 * consents to an owner only while it holds for fewer than {@code maxHeldOwners}; beyond an
 * owner's quota its replicas are refused, and the owner places them elsewhere.
 *
 * @param maxHeldOwners most owners this node holds replicas for
 * @param maxEntriesPerOwner most replicas and tombstones kept for one owner
 * @param maxBytesPerOwner most replica bytes kept for one owner
 * @param maxReplicaBytes the largest signed replica accepted (a fragment at its limits, sealed,
 *     is well below the default)
 * @param sealCacheBytes bytes of sealed own replicas kept so that repeated fetches of the same
 *     fragment do not seal it again
 */
public record ReplicaLimits(int maxHeldOwners, int maxEntriesPerOwner,
    long maxBytesPerOwner, int maxReplicaBytes, long sealCacheBytes) {

  /** The shipped defaults. */
  public static final ReplicaLimits DEFAULTS =
      new ReplicaLimits(64, 50_000, 512L << 20, 256 << 10, 8L << 20);

  public ReplicaLimits {
    if (maxHeldOwners < 0) {
      throw new IllegalArgumentException("max held owners cannot be negative: " + maxHeldOwners);
    }
    if (maxEntriesPerOwner < 1 || maxBytesPerOwner < 1 || maxReplicaBytes < 1) {
      throw new IllegalArgumentException("per-owner quotas and the replica size cap must be"
          + " positive: " + maxEntriesPerOwner + " entries, " + maxBytesPerOwner + " bytes, "
          + maxReplicaBytes + " bytes per replica");
    }
    if (sealCacheBytes < 0) {
      throw new IllegalArgumentException("seal cache cannot be negative: " + sealCacheBytes);
    }
  }

  /** The same limits with another owner count and per-owner quota (tests, small nodes). */
  public ReplicaLimits withQuotas(int heldOwners, int entriesPerOwner, long bytesPerOwner) {
    return new ReplicaLimits(heldOwners, entriesPerOwner, bytesPerOwner,
        maxReplicaBytes, sealCacheBytes);
  }
}
