package dev.mycelium.storage;

import dev.mycelium.model.Fragment;
import dev.mycelium.wire.NodeId;
import java.util.Map;
import java.util.Optional;

/**
 * Restricts a search: by owner, by metadata key = value (all must match), and by creation
 * time (inclusive from, exclusive to).
 *
 * @param owner only this owner's fragments
 * @param metadata entries that must all be present with these values
 * @param fromMillis created at or after
 * @param toMillis created before
 */
public record SearchFilter(
    Optional<NodeId> owner,
    Map<String, String> metadata,
    Optional<Long> fromMillis,
    Optional<Long> toMillis) {

  /** Lets everything through. */
  public static final SearchFilter NONE =
      new SearchFilter(Optional.empty(), Map.of(), Optional.empty(), Optional.empty());

  /** Whether a fragment passes. */
  public boolean test(Fragment f) {
    if (owner.isPresent() && !owner.get().equals(f.owner())) {
      return false;
    }
    if (fromMillis.isPresent() && f.createdAtMillis() < fromMillis.get()) {
      return false;
    }
    if (toMillis.isPresent() && f.createdAtMillis() >= toMillis.get()) {
      return false;
    }
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (!e.getValue().equals(f.metadata().get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
