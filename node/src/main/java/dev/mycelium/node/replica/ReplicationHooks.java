package dev.mycelium.node.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * What the fragment service tells replication, and asks of it: every durable put and every
 * delete of an own fragment, and every fragment found BLANK, so that replicas follow the store
 * and repairs are queued for exactly what was found missing. A seam so that the fragment
 * service stays free of the peer network and is tested without one.
 */
public interface ReplicationHooks {
  /** An own fragment is durable in the local store: replicate it. */
  void stored(FragmentId id);

  /** An own fragment was deleted with this tombstone: push it to the holders. */
  void deleted(FragmentId id, SignedTombstone tombstone);

  /** A fragment was found BLANK (a read or the scrubber): queue its repair. */
  void blank(FragmentId id);

  /**
   * Completes with the holders that confirmed the fragment once at least {@code w} have; never
   * fails (the caller times out and reads {@link #confirmed} for the partial answer).
   */
  CompletableFuture<Set<NodeId>> awaitConfirmed(FragmentId id, int w);

  /** The holders that confirmed a recent put so far. */
  Set<NodeId> confirmed(FragmentId id);

  /**
   * This node's holders, in manifest order: every own fragment is placed on them. Empty before
   * placement, and by default (a hook that knows no placement).
   */
  default java.util.List<NodeId> holders() {
    return java.util.List.of();
  }
}
