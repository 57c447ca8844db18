package dev.mycelium.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;

/**
 * The {@code mycelium} command: one binary for the daemon and for talking to it, like
 * {@code consul} and {@code nodetool}.
 */
@Command(
    name = "mycelium",
    mixinStandardHelpOptions = true,
    description = "A self-healing, peer-to-peer memory store.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:ok",
      "1:failure: the node answered with an error, or the item was not found",
      "2:usage or config error: fix the command line, the input or the config",
      "3:cannot reach the node (not running, or wrong --data/--api)",
      "4:unauthorized: the API key was missing or wrong"
    },
    subcommands = {
      HelpCommand.class,
      PutCommand.class,
      GetCommand.class,
      DeleteCommand.class,
      SearchCommand.class,
      StatusCommand.class,
      BenchCommand.class
    })
public final class MyceliumCli implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  /** The configured command line (tests call {@code execute} on it in process). */
  public static CommandLine commandLine() {
    return new CommandLine(new MyceliumCli());
  }

  /** Entry point of the launcher script. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
