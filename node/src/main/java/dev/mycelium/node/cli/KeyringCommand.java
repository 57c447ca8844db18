package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code mycelium keyring list|install|use|remove}: rotates the network key of a running node
 * without a restart. Why three steps: a rotation must never split the network, so the new key
 * is first accepted everywhere ({@code install}), then presented everywhere ({@code use}), and
 * only then is the old one dropped ({@code remove}); at every step any two nodes share an
 * accepted key. The node saves its keyring in {@code <data>/network.keys}.
 */
@Command(
    name = "keyring",
    description = "List or change the network keys of a running node (rotation: install the"
        + " new key on every node, then use it on every node, then remove the old one).",
    subcommands = {
      KeyringCommand.ListKeys.class,
      KeyringCommand.Install.class,
      KeyringCommand.Use.class,
      KeyringCommand.Remove.class
    })
public final class KeyringCommand extends GroupCommand {
  /** Prints the keyring as the node reports it: network IDs only, never the keys. */
  abstract static class KeyringPrinter extends ApiCommand {
    int show(JsonNode body) {
      if (json()) {
        printJson(body);
        return ExitCodes.OK;
      }
      if (body.path("open").asBoolean()) {
        print("Open network: no network key (set mycelium.peer.network-key to close it).\n");
        return ExitCodes.OK;
      }
      Table t = new Table("NETWORK ID", "IN USE");
      for (JsonNode k : body.path("keys")) {
        t.row(k.path("network_id").asText(), k.path("in_use").asBoolean() ? "yes" : "no");
      }
      print(t.render());
      return ExitCodes.OK;
    }
  }

  /** {@code keyring list}. */
  @Command(name = "list", description = "List the accepted network keys by network ID.")
  static final class ListKeys extends KeyringPrinter {
    @Override
    protected int run() {
      return show(client().get("/v1/keyring"));
    }
  }

  /** The subcommands that send one key. */
  abstract static class Change extends KeyringPrinter {
    @Parameters(index = "0", paramLabel = "KEY",
        description = "The network key, base64 of 32 bytes (from mycelium keygen).")
    String key;

    abstract String action();

    @Override
    protected int run() {
      return show(client().post("/v1/keyring", Map.of("action", action(), "key", key.trim())));
    }
  }

  /** {@code keyring install KEY}. */
  @Command(name = "install",
      description = "Accept peers presenting KEY, in addition to the keys already accepted.")
  static final class Install extends Change {
    @Override
    String action() {
      return "install";
    }
  }

  /** {@code keyring use KEY}. */
  @Command(name = "use",
      description = "Present KEY to peers from now on (installing it if needed).")
  static final class Use extends Change {
    @Override
    String action() {
      return "use";
    }
  }

  /** {@code keyring remove KEY}. */
  @Command(name = "remove",
      description = "Stop accepting KEY (not the key in use: use another first).")
  static final class Remove extends Change {
    @Override
    String action() {
      return "remove";
    }
  }
}
