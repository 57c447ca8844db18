package dev.mycelium.node.identity;

/**
 * An identity file that cannot be used, or an import that would silently replace a node's
 * identity. Separate from I/O errors because the fix is the user's (pick the right file, or
 * force), not the machine's.
 */
public final class IdentityException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A refusal that says what to do. */
  public IdentityException(String message) {
    super(message);
  }
}
