package dev.mycelium.sim.cli;

import dev.mycelium.node.cli.CliExtension;

/** Adds {@code mycelium sim} to the node's CLI through {@link java.util.ServiceLoader}. */
public final class SimCliExtension implements CliExtension {
  @Override
  public String name() {
    return "sim";
  }

  @Override
  public Object command() {
    return new SimCommand();
  }
}
