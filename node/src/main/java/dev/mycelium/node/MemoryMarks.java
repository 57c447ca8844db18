package dev.mycelium.node;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * What the memory operations read from fragments' signed metadata, kept in memory so that a
 * search can leave out superseded and expired fragments without reading each candidate: which
 * fragment supersedes which (an update), and when each fragment expires.
 *
 * <p>The marks are derived state, like the vector index: rebuilt from the store at start and
 * updated on every put, restore and delete. They come from metadata the owner signed, and a link
 * counts only when the newer fragment has the same owner as the one it supersedes, so no other
 * node can hide someone's fragment by claiming to supersede it.
 *
 * <p>Bounded by the store: one entry per stored fragment that carries a link or an expiry.
 * Thread-safe.
 */
public final class MemoryMarks {
  /** Metadata key of the agent a fragment belongs to. */
  public static final String AGENT = "agent";

  /** Metadata key of the run (session) a fragment belongs to. */
  public static final String RUN = "run";

  /** Metadata key of the expiry time, milliseconds since the epoch in decimal. */
  public static final String EXPIRES_AT = "expires_at";

  /** Metadata key of the fragment ID this fragment supersedes (an update). */
  public static final String SUPERSEDES = "supersedes";

  /** The newer fragment and its owner. */
  private record Link(FragmentId newer, NodeId owner) {}

  private final Map<FragmentId, Link> supersededBy = new ConcurrentHashMap<>();
  private final Map<FragmentId, FragmentId> supersedes = new ConcurrentHashMap<>();
  private final Map<FragmentId, Long> expiresAt = new ConcurrentHashMap<>();

  /** Records what a stored fragment says about links and expiry. */
  public void note(Fragment f) {
    supersedesOf(f).ifPresent(older -> {
      supersededBy.putIfAbsent(older, new Link(f.id(), f.owner()));
      supersedes.put(f.id(), older);
    });
    OptionalLong exp = expiresAtOf(f);
    if (exp.isPresent()) {
      expiresAt.put(f.id(), exp.getAsLong());
    }
  }

  /**
   * A fragment was deleted: it no longer expires, and if it was the newer side of an update, the
   * version it superseded is current again (deleting the newest version undoes the update).
   */
  public void forgotten(FragmentId id) {
    expiresAt.remove(id);
    supersededBy.remove(id);
    FragmentId older = supersedes.remove(id);
    if (older != null) {
      supersededBy.computeIfPresent(older, (k, link) -> link.newer().equals(id) ? null : link);
    }
  }

  /**
   * The fragment that supersedes {@code id}, if one of the same owner does.
   *
   * @param ownerOf the owner of a stored fragment, as the store knows it
   */
  public Optional<FragmentId> supersededBy(FragmentId id,
      Function<FragmentId, Optional<NodeId>> ownerOf) {
    Link link = supersededBy.get(id);
    if (link == null) {
      return Optional.empty();
    }
    Optional<NodeId> owner = ownerOf.apply(id);
    return owner.isPresent() && owner.get().equals(link.owner())
        ? Optional.of(link.newer()) : Optional.empty();
  }

  /** Whether {@code id} has expired by {@code nowMillis}. */
  public boolean expired(FragmentId id, long nowMillis) {
    Long at = expiresAt.get(id);
    return at != null && at <= nowMillis;
  }

  /** The fragments expired by {@code nowMillis}, at most {@code max}. */
  public List<FragmentId> expiredBy(long nowMillis, int max) {
    List<FragmentId> out = new ArrayList<>();
    for (Map.Entry<FragmentId, Long> e : expiresAt.entrySet()) {
      if (out.size() >= max) {
        break;
      }
      if (e.getValue() <= nowMillis) {
        out.add(e.getKey());
      }
    }
    return out;
  }

  /** Whether any link or expiry is known (lets the unfiltered search skip the checks). */
  public boolean isEmpty() {
    return supersededBy.isEmpty() && expiresAt.isEmpty();
  }

  /** The expiry a fragment's metadata names, if a valid one. */
  public static OptionalLong expiresAtOf(Fragment f) {
    String v = f.metadata().get(EXPIRES_AT);
    if (v == null) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(v));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** The fragment a fragment's metadata says it supersedes, if a valid ID. */
  public static Optional<FragmentId> supersedesOf(Fragment f) {
    String v = f.metadata().get(SUPERSEDES);
    if (v == null) {
      return Optional.empty();
    }
    try {
      FragmentId older = FragmentId.parse(v);
      return older.equals(f.id()) ? Optional.empty() : Optional.of(older);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
