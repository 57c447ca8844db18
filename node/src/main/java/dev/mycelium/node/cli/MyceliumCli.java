package dev.mycelium.node.cli;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code mycelium} command: one entry point for running a node and talking to it, like
 * {@code consul} and {@code nodetool}. Exit codes are part of the interface (scripts depend on
 * them): 0 ok, 1 failure, 2 usage or configuration error, 3 node unreachable, 4 unauthorized.
 */
@Command(
    name = "mycelium",
    mixinStandardHelpOptions = true,
    version = "mycelium 0.1.0-SNAPSHOT",
    description = "A self-healing, peer-to-peer memory store.",
    subcommands = {
      HelpCommand.class,
      RunCommand.class,
      ClusterCommand.class,
      KeygenCommand.class,
      KeyringCommand.class,
      PutCommand.class,
      GetCommand.class,
      DeleteCommand.class,
      SearchCommand.class,
      ExportCommand.class,
      StatusCommand.class,
      PeersCommand.class,
      RepairCommand.class,
      IdentityCommand.class,
      ConfigCommand.class
    })
public final class MyceliumCli implements Runnable {
  @Spec CommandSpec spec;

  @Mixin ExitCodeHelp exitCodes;

  /** Runs the CLI and exits with its code. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for tests and embedding. */
  public static CommandLine commandLine() {
    // picocli answers invalid input with ExitCode.USAGE, which is 2, as the interface wants.
    CommandLine cl = new CommandLine(new MyceliumCli());
    List<CliExtension> extensions = new ArrayList<>();
    ServiceLoader.load(CliExtension.class).forEach(extensions::add);
    extensions.sort(Comparator.comparing(CliExtension::name));
    for (CliExtension e : extensions) {
      if (!cl.getSubcommands().containsKey(e.name())) {
        cl.addSubcommand(e.name(), e.command());
      }
    }
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
