package dev.mycelium.model;

/** Who may read a fragment's content. */
public enum Visibility {
  /** Sealed before it leaves the owner: holders keep and repair it but cannot read it. */
  PRIVATE,
  /** Travels signed and in the clear. */
  SHARED
}
