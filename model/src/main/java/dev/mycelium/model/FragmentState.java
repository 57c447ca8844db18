package dev.mycelium.model;

/** Where a fragment stands at one node (see DESIGN.md, "Fragments, replication and repair"). */
public enum FragmentState {
  /** The bytes are here and their hash checks. */
  PRESENT,
  /** Known to exist, but the bytes are missing or fail their hash: a flagged placeholder. */
  BLANK,
  /** No copy found yet; retried with growing back-off. */
  LOST,
  /** A signed tombstone stands in its place. */
  DELETED
}
