package dev.mycelium.node;

/**
 * A delete of a fragment that another node owns. Only the owner can sign its tombstone, so the
 * request is refused instead of writing a tombstone that every peer would reject.
 */
public final class NotOwnerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A refusal naming the owner. */
  public NotOwnerException(String message) {
    super(message);
  }
}
