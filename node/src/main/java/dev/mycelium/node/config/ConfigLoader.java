package dev.mycelium.node.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds a node's configuration from its layers: the documented reference file
 * ({@code config/mycelium.conf}, on the classpath as {@code mycelium-config/mycelium.conf}) &lt;
 * a preset &lt; a file &lt; environment variables &lt; flags. Each layer may only set keys that
 * the reference documents, so a typo stops the start with its name instead of being ignored;
 * and each effective value remembers the layer it came from, for {@code config show --resolved}.
 *
 * <p>Not thread-safe; build, then {@link #load()}.
 */
public final class ConfigLoader {
  /** Classpath folder of the reference file and the presets. */
  public static final String RESOURCE_DIR = "mycelium-config/";

  /** Names of the shipped presets. */
  public static final List<String> PRESETS = List.of("local", "lan", "wan", "test");

  /** Prefix of environment variables that override keys. */
  public static final String ENV_PREFIX = "MYCELIUM_";

  /**
   * One effective setting.
   *
   * @param key full path, e.g. {@code mycelium.api.port}
   * @param value the value as HOCON (strings quoted)
   * @param origin where it came from: {@code default}, {@code service} (the data directory
   *     systemd made, {@code $STATE_DIRECTORY}), {@code preset}, {@code file}, {@code env} or
   *     {@code flag}
   */
  public record ResolvedSetting(String key, String value, String origin) {}

  private record Layer(String origin, String description, Config config) {}

  private final Config reference;
  private final List<Layer> layers = new ArrayList<>();

  /** A loader that starts from the shipped reference file. */
  public ConfigLoader() {
    this.reference = parseResource(RESOURCE_DIR + "mycelium.conf", "reference file");
  }

  /** The reference configuration alone, with its comments (for documentation checks). */
  public Config reference() {
    return reference;
  }

  /**
   * Adds the data directory that systemd made for the service ({@code $STATE_DIRECTORY}, see
   * {@link HostDefaults}). It sits just above the shipped default, so that a preset, a file,
   * the environment or a flag that names a data directory still wins.
   */
  public ConfigLoader serviceDataDir(Path dir) {
    return add("service", "service directory (STATE_DIRECTORY)",
        ConfigFactory.parseMap(Map.of("mycelium.node.data-dir", dir.toString()), "service"));
  }

  /**
   * Adds a shipped preset.
   *
   * @throws ConfigException when no preset has this name
   */
  public ConfigLoader preset(String name) {
    if (name == null || !PRESETS.contains(name)) {
      throw new ConfigException(
          null, "unknown preset \"" + name + "\"; use one of " + String.join(", ", PRESETS));
    }
    return add(
        "preset",
        "preset " + name,
        parseResource(RESOURCE_DIR + "presets/" + name + ".conf", "preset " + name));
  }

  /**
   * Adds a HOCON file.
   *
   * @throws ConfigException when it cannot be read or parsed
   */
  public ConfigLoader file(Path path) {
    if (!Files.isRegularFile(path)) {
      throw new ConfigException(null, "config file " + path + " does not exist or is no file");
    }
    Config c;
    try {
      c =
          ConfigFactory.parseFile(
              path.toFile(),
              ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setAllowMissing(false))
              // Substitutions are resolved within the file (and the environment), so that the
              // key checks below see values; one that names nothing is this file's error.
              .resolve();
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(null, "config file " + path + " is not valid HOCON: "
          + e.getMessage(), e);
    }
    return add("file", "file " + path, c);
  }

  /**
   * Adds the environment: each {@code MYCELIUM_X_Y} whose name is the upper-snake form of a
   * documented key sets that key. Other {@code MYCELIUM_} variables (such as the launcher's
   * {@code MYCELIUM_JAVA_OPTS}) are left alone, since they are not settings.
   */
  public ConfigLoader env(Map<String, String> environment) {
    Map<String, String> byEnvName = new TreeMap<>();
    for (String key : leafKeys(reference)) {
      byEnvName.put(envName(key), key);
    }
    Map<String, Object> values = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : new TreeMap<>(environment).entrySet()) {
      String key = byEnvName.get(e.getKey());
      if (key != null) {
        values.put(key, fromString(key, e.getValue()));
      }
    }
    return add("env", "environment", ConfigFactory.parseMap(values, "environment"));
  }

  /**
   * Sets one key from a command-line flag.
   *
   * @param key the full key path, e.g. {@code mycelium.api.port}
   * @param value the value as typed; lists are comma separated
   */
  public ConfigLoader flag(String key, String value) {
    if (!reference.hasPath(key)) {
      throw unknown(key, "flag");
    }
    return add("flag", "flag", ConfigFactory.parseMap(Map.of(key, fromString(key, value)), "flag"));
  }

  /** The environment variable that sets a key: {@code mycelium.api.port -> MYCELIUM_API_PORT}. */
  public static String envName(String key) {
    return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /**
   * Merges the layers, checks every key and value, and builds the typed configuration.
   *
   * @throws ConfigException naming the first unknown key or bad value
   */
  public NodeConfig load() {
    return NodeConfig.from(merged());
  }

  /**
   * Every documented key with its effective value and the layer that set it, sorted by key;
   * checks the configuration first.
   *
   * @throws ConfigException as {@link #load()}
   */
  public List<ResolvedSetting> resolvedWithOrigins() {
    Config merged = merged();
    NodeConfig.from(merged);
    List<ResolvedSetting> out = new ArrayList<>();
    for (String key : leafKeys(reference)) {
      String origin = "default";
      for (Layer l : layers) {
        if (l.config().hasPathOrNull(key)) {
          origin = l.origin();
        }
      }
      out.add(
          new ResolvedSetting(
              key, merged.getValue(key).render(ConfigRenderOptions.concise()), origin));
    }
    return out;
  }

  /** The merged configuration after the unknown-key check, before typed reads. */
  public Config merged() {
    Config merged = reference;
    for (Layer l : layers) {
      merged = l.config().withFallback(merged);
    }
    return merged.resolve();
  }

  private ConfigLoader add(String origin, String description, Config config) {
    for (Map.Entry<String, ConfigValue> e : config.entrySet()) {
      String key = e.getKey();
      if (!reference.hasPath(key)) {
        throw unknown(key, description);
      }
    }
    // An object where the reference has a value, or the other way round, hides keys from
    // entrySet(); compare each set path's shape with the reference.
    checkShapes(config, description);
    layers.add(new Layer(origin, description, config));
    return this;
  }

  private void checkShapes(Config config, String description) {
    for (String key : leafKeys(reference)) {
      if (config.hasPathOrNull(key)) {
        ConfigValue v = config.getValue(key);
        if (config.getIsNull(key)) {
          throw new ConfigException(key, "is null in " + description + "; give it a value");
        }
        if (v.valueType() == ConfigValueType.OBJECT) {
          throw new ConfigException(
              key, "is set to an object in " + description + ", but it is a single value");
        }
      }
    }
  }

  private ConfigException unknown(String key, String where) {
    String parent = key.contains(".") ? key.substring(0, key.lastIndexOf('.')) : "";
    List<String> siblings = new ArrayList<>();
    for (String k : leafKeys(reference)) {
      if (k.startsWith(parent + ".") && k.indexOf('.', parent.length() + 1) < 0) {
        siblings.add(k.substring(parent.length() + 1));
      }
    }
    String hint =
        siblings.isEmpty()
            ? "keys live under mycelium.{node,api,peer,storage,index,embedder,log}"
            : "known keys in " + parent + " are " + String.join(", ", siblings);
    return new ConfigException(key, "unknown key (in " + where + "); " + hint);
  }

  private Object fromString(String key, String value) {
    ConfigValue ref = reference.getValue(key);
    if (ref.valueType() == ConfigValueType.LIST) {
      List<String> items = new ArrayList<>();
      for (String s : value.split(",")) {
        if (!s.isBlank()) {
          items.add(s.trim());
        }
      }
      return ConfigValueFactory.fromIterable(items);
    }
    if (ref.valueType() == ConfigValueType.NUMBER) {
      // Typed like the reference, so that `config show` renders 8080, not "8080"; text that is
      // no number stays a string and the typed read names the key.
      try {
        return Long.valueOf(value.trim());
      } catch (NumberFormatException e) {
        try {
          double d = Double.parseDouble(value.trim());
          return Double.isFinite(d) ? (Object) d : value;
        } catch (NumberFormatException e2) {
          return value;
        }
      }
    }
    // Typesafe Config turns strings into booleans and durations on typed reads.
    return value;
  }

  static String checkHostPort(String key, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new ConfigException(key, "\"" + hostPort + "\" is not host:port");
    }
    try {
      int port = Integer.parseInt(hostPort.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new ConfigException(key, "\"" + hostPort + "\" has a port outside 1..65535");
      }
    } catch (NumberFormatException e) {
      throw new ConfigException(key, "\"" + hostPort + "\" has no numeric port");
    }
    return hostPort;
  }

  /** All leaf key paths of a configuration, sorted. */
  static List<String> leafKeys(Config c) {
    List<String> keys = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : c.entrySet()) {
      keys.add(e.getKey());
    }
    String[] sorted = keys.toArray(new String[0]);
    Arrays.sort(sorted);
    return List.of(sorted);
  }

  private static Config parseResource(String resource, String what) {
    ClassLoader cl = ConfigLoader.class.getClassLoader();
    try (InputStream in = cl.getResourceAsStream(resource)) {
      if (in == null) {
        throw new ConfigException(null, what + " (" + resource + ") is not on the classpath");
      }
      try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
        return ConfigFactory.parseReader(
            r, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setOriginDescription(
                what));
      }
    } catch (IOException e) {
      throw new ConfigException(null, "cannot read " + what + ": " + e.getMessage(), e);
    }
  }
}
