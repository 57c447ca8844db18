package dev.mycelium.node.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * How a read of a BLANK fragment tries one holder at once before it answers with the state
 * (DESIGN.md, "Repair"): the fragment service asks, waits up to {@code
 * mycelium.replication.read-timeout}, and checks what comes back itself, so a holder can
 * neither slow a read past the timeout nor slip in bytes that do not hash to the ID.
 */
@FunctionalInterface
public interface BlankReadHook {
  /**
   * Asks one holder for a fragment.
   *
   * @param id the fragment
   * @param owner its owner when known (a holder of the owner's replicas is asked)
   * @return completes with the owner's signed fragment (opened when it was sealed) and the
   *     holder it came from, or empty when no holder has a good copy; may never complete, the
   *     caller times out
   */
  CompletableFuture<Optional<Fetched>> fetchOne(FragmentId id, Optional<NodeId> owner);

  /**
   * A copy fetched from a holder, not yet checked.
   *
   * @param fragment the owner's signed fragment
   * @param source the holder that served it
   */
  record Fetched(SignedFragment fragment, NodeId source) {}
}
