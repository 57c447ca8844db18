package dev.mycelium.node.cli;

import picocli.CommandLine.Command;

/**
 * Mixed into every command so that each command's {@code --help} ends with the same list of
 * exit codes, whichever root command it is attached to.
 */
@Command(
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:ok",
      "1:failure: the node answered with an error, or the item was not found",
      "2:usage or config error: fix the command line, the input or the config",
      "3:cannot reach the node (not running, or wrong --data/--api)",
      "4:unauthorized: the API key was missing or wrong"
    })
public final class ExitCodeHelp {}
