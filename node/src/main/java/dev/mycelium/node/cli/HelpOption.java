package dev.mycelium.node.cli;

import picocli.CommandLine.Option;

/**
 * {@code -h/--help} alone: subcommands have no version of their own, so picocli's standard
 * mixin (which adds {@code -V}) would offer an option that prints nothing.
 */
public final class HelpOption {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;
}
