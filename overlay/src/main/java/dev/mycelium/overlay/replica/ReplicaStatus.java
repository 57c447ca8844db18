package dev.mycelium.overlay.replica;

import dev.mycelium.wire.NodeId;
import java.util.List;

/**
 * A snapshot of replication and repair at one node, for {@code GET /v1/repair}, {@code mycelium
 * repair status} and metrics.
 *
 * @param queued fragments waiting for a repair attempt
 * @param inFlight fragments being fetched now
 * @param lost fragments that failed {@code maxAttempts} times (still retried slowly)
 * @param repairsDone fragments brought back since start
 * @param repairsFailed failed fetch attempts since start
 * @param bytesMoved replica bytes brought back by repairs since start
 * @param lastCycle the last complete repair cycle, or null
 * @param currentCycle the cycle under way, or null
 * @param holders this node's holders, in manifest order
 * @param manifestVersion the version of this node's manifest (0 when it has none yet)
 * @param ownEntries own fragments and live tombstones in this node's digest
 * @param heldOwners owners this node holds replicas for
 * @param heldEntries replicas and tombstones held for others
 * @param streamBacklog replicas still to stream to new holders
 * @param replicatedBytes replica bytes sent to holders (puts and streams) since start
 * @param forgedReplicas replicas rejected because they did not verify
 * @param scrubFailures held replicas that failed the scrub
 * @param restoring whether a restore is under way
 */
public record ReplicaStatus(
    int queued,
    int inFlight,
    int lost,
    long repairsDone,
    long repairsFailed,
    long bytesMoved,
    RepairScheduler.Cycle lastCycle,
    RepairScheduler.Cycle currentCycle,
    List<NodeId> holders,
    long manifestVersion,
    int ownEntries,
    int heldOwners,
    long heldEntries,
    long streamBacklog,
    long replicatedBytes,
    long forgedReplicas,
    long scrubFailures,
    boolean restoring) {

  /** Fragments waiting or being fetched. */
  public int queueLength() {
    return queued + inFlight;
  }
}
