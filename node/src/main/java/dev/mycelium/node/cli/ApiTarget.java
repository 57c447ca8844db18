package dev.mycelium.node.cli;

import dev.mycelium.node.config.HostDefaults;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where the node's API is and which key to show it. By default the CLI finds a local node the
 * way an operator would: through its data directory, which holds {@code api.json} (written when
 * the API listens) and {@code api.key}; so {@code mycelium put ...} next to {@code mycelium run}
 * needs no flags. {@code --api} and {@code --api-key} reach a node elsewhere.
 */
public final class ApiTarget {
  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "The node's data directory; the CLI reads api.json and api.key there."
          + " Default: $MYCELIUM_NODE_DATA_DIR, else $STATE_DIRECTORY, else ./data if it"
          + " exists, else /var/lib/mycelium if a node runs there, else ./data.")
  Path dataDir;

  @Option(
      names = "--api",
      paramLabel = "URL|HOST:PORT",
      description = "The node's API address, instead of the one in <data>/api.json.")
  String api;

  @Option(
      names = "--api-key",
      paramLabel = "KEY",
      defaultValue = "${env:MYCELIUM_API_KEY}",
      description = "The API key, instead of <data>/api.key (also from $MYCELIUM_API_KEY).")
  String apiKey;

  /** Empty target: the default data directory, no explicit address or key. */
  public ApiTarget() {}

  /** A target given in code (tests, benchmarks). */
  public ApiTarget(Path dataDir, String api, String apiKey) {
    this.dataDir = dataDir;
    this.api = api;
    this.apiKey = apiKey;
  }

  /** The data directory. */
  public Path dataDir() {
    return dataDir != null ? dataDir : HostDefaults.clientDataDir();
  }

  /** The explicit API address, or null. */
  public String api() {
    return api;
  }

  /** The explicit API key, or null. */
  public String apiKey() {
    return apiKey;
  }
}
