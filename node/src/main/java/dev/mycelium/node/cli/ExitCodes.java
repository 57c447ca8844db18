package dev.mycelium.node.cli;

/**
 * The CLI's exit codes, one place for all commands, so that scripts can tell "the node said no"
 * from "I typed it wrong" from "the node is down" from "my key is wrong" without parsing text.
 */
public final class ExitCodes {
  /** Done. */
  public static final int OK = 0;

  /** The node answered with an error, or what was asked for does not exist. */
  public static final int FAILURE = 1;

  /** Bad command line, bad input or bad config: fix the invocation and retry. */
  public static final int USAGE = 2;

  /** No node is running, or it cannot be reached at the address the CLI found. */
  public static final int UNREACHABLE = 3;

  /** The node refused the API key. */
  public static final int UNAUTHORIZED = 4;

  private ExitCodes() {}
}
