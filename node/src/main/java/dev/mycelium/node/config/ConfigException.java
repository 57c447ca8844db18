package dev.mycelium.node.config;

/**
 * A configuration that must not start a node: an unknown key, a value of the wrong type or out
 * of range, or a missing file or preset. It exists so that every such failure, whatever layer it
 * comes from, reaches the operator as one message naming the key and what is allowed, and so
 * that {@code mycelium run} can tell it apart from other failures (exit code 2).
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String key;

  /** A problem with one key (or {@code null} when it concerns a whole file or preset). */
  public ConfigException(String key, String message) {
    super(key == null ? message : key + ": " + message);
    this.key = key;
  }

  /** The same, keeping the underlying cause. */
  public ConfigException(String key, String message, Throwable cause) {
    super(key == null ? message : key + ": " + message, cause);
    this.key = key;
  }

  /** The full key path at fault, e.g. {@code mycelium.api.port}, or {@code null}. */
  public String key() {
    return key;
  }
}
