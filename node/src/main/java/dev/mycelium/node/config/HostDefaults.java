package dev.mycelium.node.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where a node finds its config file, data directory and audit log when no flag says so.
 *
 * <p>Why this exists: the same {@code mycelium} binary runs in a developer's checkout (config
 * from flags, data in {@code ./data}) and as a systemd service on a host, where the operator
 * expects the usual places, {@code /etc/mycelium} and {@code /var/lib/mycelium}. systemd hands
 * a service those directories in {@code $CONFIGURATION_DIRECTORY}, {@code $STATE_DIRECTORY} and
 * {@code $LOGS_DIRECTORY} (from {@code ConfigurationDirectory=} and friends in the unit), so
 * the node follows them and the unit file stays the one place that names paths. Explicit
 * settings always win: {@code --config} over {@code $MYCELIUM_CONFIG} over the service's
 * directory, and {@code --data}, {@code $MYCELIUM_NODE_DATA_DIR} or a config file's
 * {@code node.data-dir} over {@code $STATE_DIRECTORY}.
 *
 * <p>Every method takes the environment as a map, so tests do not depend on the real one.
 */
public final class HostDefaults {
  /** Environment variable naming the config file to read when {@code --config} is not given. */
  public static final String CONFIG_ENV = "MYCELIUM_CONFIG";

  /** Name of the config file inside a configuration directory. */
  public static final String CONFIG_FILE_NAME = "mycelium.conf";

  /** Data directory of the system-wide service ({@code StateDirectory=mycelium}). */
  public static final Path SERVICE_DATA_DIR = Path.of("/var/lib/mycelium");

  /** File name of the audit log. */
  public static final String AUDIT_LOG_NAME = "audit.log";

  private HostDefaults() {}

  /**
   * The config file to read when {@code --config} is not given: {@code $MYCELIUM_CONFIG} (which
   * must then exist; the loader says so if not), else {@code mycelium.conf} in the service's
   * configuration directory if there is one. A service with no config file runs on defaults.
   */
  public static Optional<Path> configFile(Map<String, String> env) {
    String explicit = env.get(CONFIG_ENV);
    if (explicit != null && !explicit.isBlank()) {
      return Optional.of(Path.of(explicit.trim()));
    }
    return firstDir(env, "CONFIGURATION_DIRECTORY")
        .map(d -> d.resolve(CONFIG_FILE_NAME))
        .filter(Files::isRegularFile);
  }

  /** The data directory systemd made for the service ({@code $STATE_DIRECTORY}), if any. */
  public static Optional<Path> serviceDataDir(Map<String, String> env) {
    return firstDir(env, "STATE_DIRECTORY");
  }

  /**
   * The data directory that client commands ({@code status}, {@code peers}, ...) look in when
   * {@code --data} is not given: {@code $MYCELIUM_NODE_DATA_DIR}, then {@code $STATE_DIRECTORY},
   * then {@code ./data} when it exists, then the system service's directory when a node there
   * has written its {@code api.json} (so {@code sudo -u mycelium mycelium status} works from
   * anywhere on a host), else {@code ./data}, whose absence the client then reports.
   */
  public static Path clientDataDir(Map<String, String> env, Path serviceDataDir) {
    String explicit = env.get(ConfigLoader.envName("mycelium.node.data-dir"));
    if (explicit != null && !explicit.isBlank()) {
      return Path.of(explicit.trim());
    }
    Optional<Path> service = serviceDataDir(env);
    if (service.isPresent()) {
      return service.get();
    }
    Path local = Path.of("data");
    if (Files.isDirectory(local)) {
      return local;
    }
    if (Files.isRegularFile(serviceDataDir.resolve("api.json"))) {
      return serviceDataDir;
    }
    return local;
  }

  /** As {@link #clientDataDir(Map, Path)} with the real environment and service directory. */
  public static Path clientDataDir() {
    return clientDataDir(System.getenv(), SERVICE_DATA_DIR);
  }

  /**
   * Where the audit log goes: {@code $LOGS_DIRECTORY/audit.log} under systemd
   * ({@code LogsDirectory=}), else {@code audit.log} in the data directory, so that it stays
   * apart from the main log, which goes to stderr (and so to the journal).
   */
  public static Path auditLog(Map<String, String> env, Path dataDir) {
    return firstDir(env, "LOGS_DIRECTORY").orElse(dataDir).resolve(AUDIT_LOG_NAME);
  }

  /** systemd passes several directories colon-separated; the first is the unit's own. */
  private static Optional<Path> firstDir(Map<String, String> env, String name) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return Optional.empty();
    }
    String first = v.split(":", -1)[0].trim();
    return first.isEmpty() ? Optional.empty() : Optional.of(Path.of(first));
  }
}
