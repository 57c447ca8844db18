package dev.mycelium.model;

/** A write that no longer fits in the store. Nothing was written; the message names the key. */
public final class StoreFullException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A refusal with a message that says which setting to raise. */
  public StoreFullException(String message) {
    super(message);
  }
}
