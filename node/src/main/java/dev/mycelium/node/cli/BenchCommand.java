package dev.mycelium.node.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code mycelium bench}: reproducible measurements of the store and the vector index. */
@Command(
    name = "bench",
    description = "Measure the store (bench store) and the vector index (bench search).",
    subcommands = {BenchStoreCommand.class, BenchSearchCommand.class,
        BenchReplicationCommand.class})
public final class BenchCommand implements Runnable {
  @Spec CommandSpec spec;

  @picocli.CommandLine.Mixin HelpOption help;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }
}
