package dev.mycelium.node.cli;

import dev.mycelium.node.config.ConfigException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The flags that set node settings (the top configuration layer), shared by {@code run} and
 * {@code config show}, so that {@code config show --resolved --data /srv/x} shows exactly what
 * {@code run --data /srv/x} would use, with {@code flag} as the origin.
 */
public final class NodeFlags {
  @Option(names = "--data", paramLabel = "DIR", description = "Data directory (node.data-dir).")
  Path data;

  @Option(names = "--api", paramLabel = "HOST:PORT",
      description = "Where the HTTP API listens (api.host, api.port); port 0 picks a free one.")
  String api;

  @Option(names = "--listen", paramLabel = "HOST:PORT",
      description = "Where peers connect (peer.listen-host, peer.listen-port).")
  String listen;

  @Option(names = "--seeds", paramLabel = "HOST:PORT[,HOST:PORT...]",
      description = "Peers to join through, comma separated (peer.seeds). Not needed after "
          + "the first run: the node rejoins through the peers it knew (peers.json).")
  String seeds;

  @Option(names = "--log-format", paramLabel = "text|json", description = "Log line format.")
  String logFormat;

  /** The flags given, as config keys. */
  public Map<String, String> flagKeys() {
    Map<String, String> flags = new LinkedHashMap<>();
    if (data != null) {
      flags.put("mycelium.node.data-dir", data.toString());
    }
    if (api != null) {
      String[] hp = hostPort("--api", api);
      flags.put("mycelium.api.host", hp[0]);
      flags.put("mycelium.api.port", hp[1]);
    }
    if (listen != null) {
      String[] hp = hostPort("--listen", listen);
      flags.put("mycelium.peer.listen-host", hp[0]);
      flags.put("mycelium.peer.listen-port", hp[1]);
    }
    if (seeds != null) {
      flags.put("mycelium.peer.seeds", seeds);
    }
    if (logFormat != null) {
      flags.put("mycelium.log.format", logFormat);
    }
    return flags;
  }

  private static String[] hostPort(String flag, String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new ConfigException(flag, "\"" + value + "\" is not HOST:PORT, e.g. 127.0.0.1:7947");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new String[] {host, value.substring(colon + 1)};
  }
}
