package dev.mycelium.node.replica;

/**
 * Opens the replication service's package-private fault injectors to integration tests in
 * other packages, so that those injectors never need to be public API.
 */
public final class ReplicaFaults {
  private ReplicaFaults() {}

  /** Makes {@code service} serve altered replicas in every fetch reply from now on. */
  public static void forgeFetchReplies(ReplicaService service) {
    service.forgeFetchReplies(true);
  }
}
