package dev.mycelium.model;

import dev.mycelium.wire.NodeId;
import java.util.Optional;

/**
 * What a store answers for one ID: its state, and the verified fragment when it is
 * {@link FragmentState#PRESENT}. A read never returns bytes that failed their check.
 *
 * @param id the fragment asked for
 * @param state its state at this node
 * @param owner the owner, when known (it is kept even when the bytes are gone)
 * @param fragment the verified fragment, present only in state {@code PRESENT}
 */
public record StoredFragment(
    FragmentId id, FragmentState state, Optional<NodeId> owner, Optional<Fragment> fragment) {

  /** A present, verified fragment. */
  public static StoredFragment present(Fragment f) {
    return new StoredFragment(f.id(), FragmentState.PRESENT, Optional.of(f.owner()), Optional.of(f));
  }
}
