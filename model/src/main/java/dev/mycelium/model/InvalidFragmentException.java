package dev.mycelium.model;

/**
 * A fragment or tombstone that must not be stored: malformed, over a limit, or failing its
 * hash or signature. The message says what to fix; {@link #field()} names the offending part.
 */
public final class InvalidFragmentException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String field;

  /** A rejection of the named field. */
  public InvalidFragmentException(String field, String message) {
    super(message);
    this.field = field;
  }

  /** The field at fault, e.g. {@code text}, {@code vector}, {@code signature}. */
  public String field() {
    return field;
  }
}
