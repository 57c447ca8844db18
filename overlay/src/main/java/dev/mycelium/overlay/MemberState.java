package dev.mycelium.overlay;

/** Peer states as operators know them from Consul and Serf. */
public enum MemberState {
  ALIVE, SUSPECT, DEAD, LEFT
}
