package dev.mycelium.node.cli;

import dev.mycelium.node.LogSetup;
import dev.mycelium.node.Node;
import dev.mycelium.node.NodeBackends;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.config.HostDefaults;
import dev.mycelium.node.config.NodeConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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
  @Mixin NodeFlags flags = new NodeFlags();

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON config file.")
  Path configFile;

  @Option(names = "--preset", paramLabel = "NAME",
      description = "A shipped preset: local, lan, wan or test.")
  String preset;

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
   * The configuration layers of a run: reference &lt; the service's data directory
   * ({@code $STATE_DIRECTORY}) &lt; preset &lt; file ({@code --config}, else
   * {@code $MYCELIUM_CONFIG}, else {@code mycelium.conf} in {@code $CONFIGURATION_DIRECTORY})
   * &lt; environment &lt; flags. Shared with {@code config show --resolved}, so both see the
   * same values.
   *
   * @param flags full key paths to values, as {@link #flagKeys()} makes them
   * @throws ConfigException naming the key at fault
   */
  public static ConfigLoader loader(
      String preset, Path configFile, Map<String, String> env, Map<String, String> flags) {
    ConfigLoader loader = new ConfigLoader();
    // Under systemd the unit names the directories (HostDefaults); explicit settings win.
    HostDefaults.serviceDataDir(env).ifPresent(loader::serviceDataDir);
    if (preset != null) {
      loader.preset(preset);
    }
    Path file = configFile != null ? configFile : HostDefaults.configFile(env).orElse(null);
    if (file != null) {
      loader.file(file);
    }
    loader.env(env);
    flags.forEach(loader::flag);
    return loader;
  }

  /** This command's flags as config keys. */
  Map<String, String> flagKeys() {
    return flags.flagKeys();
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    NodeConfig config;
    try {
      config = loader(preset, configFile, System.getenv(), flagKeys()).load();
      // Refused before the audit log below makes the data directory.
      dev.mycelium.node.http.ApiServer.checkExposure(config.api());
    } catch (ConfigException e) {
      err.println("mycelium: configuration error: " + e.getMessage());
      err.flush();
      return 2;
    }
    try {
      // The audit log may live in the data directory: it must be made owner-only first.
      dev.mycelium.node.identity.DataDirPermissions.secure(config.node().dataDir(),
          org.slf4j.LoggerFactory.getLogger(RunCommand.class));
    } catch (RuntimeException e) {
      err.println("mycelium: the node could not start: " + e.getMessage());
      err.flush();
      return 1;
    }
    Path auditFile = HostDefaults.auditLog(System.getenv(), config.node().dataDir());
    LogSetup.apply(config.log().format(), config.log().level(), auditFile);
    // Made just now under the umask: owner-only before the node looks (and warns) at the rest.
    dev.mycelium.node.identity.DataDirPermissions.ownerOnly(auditFile);
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
