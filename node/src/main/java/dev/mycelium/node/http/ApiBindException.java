package dev.mycelium.node.http;

/**
 * The API could not listen where it was told to (port taken, address not local). Unchecked and
 * separate, so that {@code mycelium run} can print the one-line fix instead of a stack trace.
 */
public final class ApiBindException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A failure to bind, with what to change. */
  public ApiBindException(String message, Throwable cause) {
    super(message, cause);
  }
}
