package dev.mycelium.wire;

/** Protocol version and frame limits that both ends of a peer link agree on. */
public final class Protocol {
  private Protocol() {}

  /**
   * Bumped on any incompatible change to a peer message. 2: broadcasts are known by
   * SHA-256(origin || id) in IHave and Graft, Gossip carries a signed max_ttl, and the
   * handshake proves the network key with KeyChallenge and KeyProof.
   */
  public static final int VERSION = 2;

  /** The largest frame a peer may send; larger ones end the connection. */
  public static final int MAX_FRAME_BYTES = 4 * 1024 * 1024;

  /**
   * The largest frame before the peer's Hello has been accepted. The handshake frames are
   * small (a KeyChallenge is under 40 bytes, a KeyProof under 40, a Hello with a 253-character
   * host name about 340), so a stranger cannot make a node buffer megabytes before proving
   * anything.
   */
  public static final int MAX_HANDSHAKE_FRAME_BYTES = 512;

  /** Bytes of the nonce in a KeyChallenge. */
  public static final int NONCE_BYTES = 32;

  /** The longest host name a peer address may carry (the DNS limit). */
  public static final int MAX_HOST_CHARS = 253;
}
