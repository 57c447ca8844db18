package dev.mycelium.node.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that only groups subcommands ({@code mycelium config}, {@code mycelium repair},
 * ...): run without one, it prints its usage, which lists them.
 */
public abstract class GroupCommand implements Runnable {
  @Spec CommandSpec spec;

  @Mixin HelpOption help;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }
}
