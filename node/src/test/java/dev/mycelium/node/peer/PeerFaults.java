package dev.mycelium.node.peer;

/**
 * Opens the peer service's package-private fault injectors to integration tests in other
 * packages, so that those injectors never need to be public API.
 */
public final class PeerFaults {
  private PeerFaults() {}

  /** Stops {@code peers} at once without a leave, as a crashed process would. */
  public static void crash(PeerService peers) {
    peers.crash();
  }
}
