package dev.mycelium.node.cli;

import dev.mycelium.node.LogSetup;
import dev.mycelium.node.Node;
import dev.mycelium.node.NodeBackends;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.config.NodeConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code mycelium run}: starts a node in the foreground and serves until SIGTERM or SIGINT,
 * then stops it cleanly (the store's clean marker is written, {@code api.json} removed). Flags
 * are the top layer of the configuration; a configuration error exits with code 2 and the
 * message that names the key.
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = "Start a node and serve until stopped (SIGTERM or Ctrl-C).")
public final class RunCommand implements Callable<Integer> {
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

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON config file.")
  Path configFile;

  @Option(names = "--preset", paramLabel = "NAME",
      description = "A shipped preset: local, lan, wan or test.")
  String preset;

  @Option(names = "--log-format", paramLabel = "text|json", description = "Log line format.")
  String logFormat;

  @Spec CommandSpec spec;

  private final Function<NodeConfig, NodeBackends> backends;

  /** The command as the CLI runs it, on the persistent store and the graph index. */
  public RunCommand() {
    this(config -> new StandardBackends());
  }

  RunCommand(Function<NodeConfig, NodeBackends> backends) {
    this.backends = backends;
  }

  /**
   * The configuration layers of a run: reference &lt; preset &lt; file &lt; environment &lt;
   * flags. Shared with {@code config show --resolved}, so both see the same values.
   *
   * @param flags full key paths to values, as {@link #flagKeys()} makes them
   * @throws ConfigException naming the key at fault
   */
  public static ConfigLoader loader(
      String preset, Path configFile, Map<String, String> env, Map<String, String> flags) {
    ConfigLoader loader = new ConfigLoader();
    if (preset != null) {
      loader.preset(preset);
    }
    if (configFile != null) {
      loader.file(configFile);
    }
    loader.env(env);
    flags.forEach(loader::flag);
    return loader;
  }

  /** This command's flags as config keys. */
  Map<String, String> flagKeys() {
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

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    NodeConfig config;
    try {
      config = loader(preset, configFile, System.getenv(), flagKeys()).load();
    } catch (ConfigException e) {
      err.println("mycelium: configuration error: " + e.getMessage());
      err.flush();
      return 2;
    }
    LogSetup.apply(config.log().format(), config.log().level());
    Node node;
    try {
      node = Node.start(config, backends.apply(config));
    } catch (ConfigException e) {
      err.println("mycelium: configuration error: " + e.getMessage());
      err.flush();
      return 2;
    } catch (RuntimeException e) {
      err.println("mycelium: the node could not start: " + e.getMessage());
      err.flush();
      return 1;
    }
    node.installShutdownHook();
    out.println("Mycelium node " + node.nodeId());
    out.println("  API       " + node.apiUrl());
    out.println("  API key   " + node.apiKeyFile());
    node.peerService().ifPresent(p ->
        out.println("  peers     " + p.self().host() + ":" + p.self().port()));
    out.println("  data      " + config.node().dataDir());
    out.println("Stop with Ctrl-C or SIGTERM.");
    out.flush();
    try {
      // The shutdown hook stops the node; this thread only keeps the process alive.
      new CountDownLatch(1).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      node.close();
    }
    return 0;
  }
}
