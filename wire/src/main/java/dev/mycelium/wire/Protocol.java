package dev.mycelium.wire;

/** Protocol version and frame limits that both ends of a peer link agree on. */
public final class Protocol {
  private Protocol() {}

  /**
   * Bumped on any incompatible change to a peer message. 2: broadcasts are known by
   * SHA-256(origin || id) in IHave and Graft, and Gossip carries a signed max_ttl.
   */
  public static final int VERSION = 2;

  /** The largest frame a peer may send; larger ones end the connection. */
  public static final int MAX_FRAME_BYTES = 4 * 1024 * 1024;
}
