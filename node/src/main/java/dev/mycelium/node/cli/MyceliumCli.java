package dev.mycelium.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code mycelium} command: one entry point for running a node and talking to it. Exit
 * codes are part of the interface (scripts depend on them): 0 ok, 1 failure, 2 usage or
 * configuration error, 3 node unreachable, 4 unauthorized.
 */
@Command(
    name = "mycelium",
    mixinStandardHelpOptions = true,
    version = "mycelium 0.1.0-SNAPSHOT",
    description = "A self-healing, peer-to-peer memory store.",
    subcommands = {RunCommand.class})
public final class MyceliumCli implements Runnable {
  @Spec CommandSpec spec;

  /** Runs the CLI and exits with its code. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for tests and embedding. */
  public static CommandLine commandLine() {
    // picocli answers invalid input with ExitCode.USAGE, which is 2, as the interface wants.
    return new CommandLine(new MyceliumCli());
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
