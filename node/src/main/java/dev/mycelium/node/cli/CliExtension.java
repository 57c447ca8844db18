package dev.mycelium.node.cli;

/**
 * A verb that another module adds to the {@code mycelium} command. The simulator, the MCP
 * server and the benchmarks depend on the node module, so the node cannot name them; instead
 * {@link MyceliumCli} finds extensions with {@link java.util.ServiceLoader} on the classpath
 * the launcher runs (docs/adr/0003).
 */
public interface CliExtension {
  /** The subcommand's name, e.g. {@code sim}. */
  String name();

  /** A fresh picocli command object (annotated with {@code @Command}). */
  Object command();
}
