package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import picocli.CommandLine.Mixin;

/** A command that talks to a running node over its HTTP API (found through {@link ApiTarget}). */
public abstract class ApiCommand extends ClientCommand {
  @Mixin ApiTarget target;

  private ApiClient client;

  /** The client, connected lazily so that usage errors are reported before node lookup. */
  protected ApiClient client() {
    if (client == null) {
      client = ApiClient.connect(target);
    }
    return client;
  }

  /** Checks a fragment ID locally so that a typo gets a usage error, not a round trip. */
  protected static String checkId(String id) {
    String s = id.trim().toLowerCase(java.util.Locale.ROOT);
    if (!s.matches("[0-9a-f]{64}")) {
      throw new CliException(
          ExitCodes.USAGE, "'" + id + "' is not a fragment ID; an ID is 64 hex characters");
    }
    return s;
  }

  /** Sets {@code field} when its option was given: an option left out stays out of the request. */
  protected static void putIfGiven(ObjectNode node, String field, String value) {
    if (value != null) {
      node.put(field, value);
    }
  }

  /** Sets {@code field} when its option was given: an option left out stays out of the request. */
  protected static void putIfGiven(ObjectNode node, String field, Long value) {
    if (value != null) {
      node.put(field, value);
    }
  }

  /** Sets the {@code metadata} object when any {@code --meta} entry was given. */
  protected static void putMetadata(ObjectNode node, Map<String, String> meta) {
    if (!meta.isEmpty()) {
      ObjectNode m = node.putObject("metadata");
      meta.forEach(m::put);
    }
  }
}
