package dev.mycelium.mcp;

import dev.mycelium.node.cli.CliExtension;

/** Adds {@code mycelium mcp} to the node's CLI through {@link java.util.ServiceLoader}. */
public final class McpCliExtension implements CliExtension {
  @Override
  public String name() {
    return "mcp";
  }

  @Override
  public Object command() {
    return new McpCommand();
  }
}
