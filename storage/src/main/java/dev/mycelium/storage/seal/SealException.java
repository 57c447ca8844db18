package dev.mycelium.storage.seal;

/**
 * A sealed replica that cannot be opened: the wrong owner's key, bytes altered in transit or on
 * disk, or an envelope that is not a sealed replica at all. The message says which; nothing of
 * the plaintext is ever returned when this is thrown.
 */
public final class SealException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A refusal with a message that names what did not check. */
  public SealException(String message) {
    super(message);
  }

  /** A refusal caused by a lower-level failure (kept for the log, never shown to peers). */
  public SealException(String message, Throwable cause) {
    super(message, cause);
  }
}
