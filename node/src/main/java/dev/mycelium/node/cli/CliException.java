package dev.mycelium.node.cli;

/**
 * A failure the user can act on: its message is printed as {@code error: <message>} and its
 * exit code is returned, without a stack trace, because a trace tells an operator nothing.
 */
public final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;

  /** A failure with the given exit code (see {@link ExitCodes}). */
  public CliException(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  /** A failure with the given exit code and the exception that caused it. */
  public CliException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /** The process exit code for this failure. */
  public int exitCode() {
    return exitCode;
  }
}
