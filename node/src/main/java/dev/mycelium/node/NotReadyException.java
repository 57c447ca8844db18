package dev.mycelium.node;

/**
 * A request that arrived while the node is still opening its store: answered 503 so that a
 * client retries, rather than failing or waiting on a lock.
 */
public final class NotReadyException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A refusal saying what the node is busy with. */
  public NotReadyException(String message) {
    super(message);
  }
}
