package dev.mycelium.bench.cli;

import dev.mycelium.node.cli.CliExtension;

/**
 * Adds {@code mycelium bench} to the node's CLI through {@link java.util.ServiceLoader}, so
 * that the benchmarks ship with the launcher and the tarball while the node module holds none
 * of their code.
 */
public final class BenchCliExtension implements CliExtension {
  @Override
  public String name() {
    return "bench";
  }

  @Override
  public Object command() {
    return new BenchCommand();
  }
}
