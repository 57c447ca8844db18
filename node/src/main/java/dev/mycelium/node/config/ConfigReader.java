package dev.mycelium.node.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Typed, range-checked reads from a merged configuration that remember which keys were read.
 * The memory is what lets a test prove that no documented key is dead and no read key is
 * undocumented (Apache Ratis checks its config keys the same way).
 */
final class ConfigReader {
  private final Config config;
  private final Set<String> read = new LinkedHashSet<>();

  ConfigReader(Config config) {
    this.config = config;
  }

  /** Every key path read so far. */
  Set<String> keysRead() {
    return read;
  }

  private void need(String key) {
    read.add(key);
    if (!config.hasPath(key)) {
      throw new ConfigException(key, "is missing; it has no default in the reference file");
    }
  }

  long longIn(String key, long min, long max) {
    need(key);
    long v;
    try {
      Number n = config.getNumber(key);
      // getLong() would silently truncate 1.5 to 1.
      if (!(n instanceof Integer || n instanceof Long)) {
        throw new ConfigException(
            key, "must be a whole number from " + min + " to " + max + ", got " + render(key));
      }
      v = n.longValue();
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(
          key, "must be a whole number from " + min + " to " + max + ", got " + render(key), e);
    }
    if (v < min || v > max) {
      throw new ConfigException(
          key, v + " is out of range; allowed is " + min + " to " + max);
    }
    return v;
  }

  int intIn(String key, int min, int max) {
    return (int) longIn(key, min, max);
  }

  double doubleIn(String key, double min, double max) {
    need(key);
    double v;
    try {
      v = config.getDouble(key);
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(
          key, "must be a number from " + min + " to " + max + ", got " + render(key), e);
    }
    if (!(v >= min && v <= max)) {
      throw new ConfigException(key, v + " is out of range; allowed is " + min + " to " + max);
    }
    return v;
  }

  Duration durationIn(String key, Duration min, Duration max) {
    need(key);
    Duration v;
    try {
      v = config.getDuration(key);
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(
          key, "must be a duration such as 250ms, 10s or 5m, got " + render(key), e);
    }
    if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
      throw new ConfigException(key, v + " is out of range; allowed is " + min + " to " + max);
    }
    return v;
  }

  String string(String key) {
    need(key);
    if (config.getValue(key).valueType() == ConfigValueType.OBJECT
        || config.getValue(key).valueType() == ConfigValueType.LIST) {
      throw new ConfigException(key, "must be a single value, got " + render(key));
    }
    String v = config.getString(key).trim();
    if (v.isEmpty()) {
      throw new ConfigException(key, "must not be empty");
    }
    return v;
  }

  /** A file system path (not checked for existence), made absolute. */
  java.nio.file.Path path(String key) {
    String v = string(key);
    try {
      return java.nio.file.Path.of(v).toAbsolutePath().normalize();
    } catch (java.nio.file.InvalidPathException e) {
      throw new ConfigException(key, "is not a usable path: " + e.getReason());
    }
  }

  boolean bool(String key) {
    need(key);
    try {
      return config.getBoolean(key);
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(key, "must be true or false, got " + render(key), e);
    }
  }

  /** A single value that may be empty (empty meaning "not set"), trimmed. */
  String optionalString(String key) {
    need(key);
    if (config.getValue(key).valueType() == ConfigValueType.OBJECT
        || config.getValue(key).valueType() == ConfigValueType.LIST) {
      throw new ConfigException(key, "must be a single value, got " + render(key));
    }
    return config.getString(key).trim();
  }

  String oneOf(String key, boolean ignoreCase, String... allowed) {
    String v = string(key);
    for (String a : allowed) {
      if (ignoreCase ? a.equalsIgnoreCase(v) : a.equals(v)) {
        return a;
      }
    }
    throw new ConfigException(
        key, "\"" + v + "\" is not allowed; use one of " + String.join(", ", allowed));
  }

  List<String> hostPorts(String key) {
    need(key);
    List<String> out = new ArrayList<>();
    try {
      for (String s : config.getStringList(key)) {
        out.add(ConfigLoader.checkHostPort(key, s.trim()));
      }
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(
          key, "must be a list of \"host:port\" strings, got " + render(key), e);
    }
    return List.copyOf(out);
  }

  /**
   * A list of host names or IP literals (as a {@code Host} header carries them, without the
   * port), lower-cased, without duplicates.
   */
  List<String> hostNames(String key) {
    need(key);
    List<String> out = new ArrayList<>();
    try {
      for (String s : config.getStringList(key)) {
        String v = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (v.startsWith("[") && v.endsWith("]")) {
          v = v.substring(1, v.length() - 1);
        }
        // One colon is a port (an IPv6 address has at least two).
        boolean withPort = v.indexOf(':') >= 0 && v.indexOf(':') == v.lastIndexOf(':');
        if (!v.matches("[a-z0-9._:-]{1,253}") || withPort) {
          throw new ConfigException(key, "\"" + s + "\" is not a host name or IP address "
              + "(letters, digits, '.', '-', ':'; no port)");
        }
        if (!out.contains(v)) {
          out.add(v);
        }
      }
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(key, "must be a list of host names, got " + render(key), e);
    }
    return List.copyOf(out);
  }

  /**
   * A list of names made of letters, digits and {@code - _ . /}, each 1 to 64 characters (the
   * shape of a topic), without duplicates.
   */
  List<String> names(String key) {
    need(key);
    List<String> out = new ArrayList<>();
    try {
      for (String s : config.getStringList(key)) {
        String v = s.trim();
        if (!v.matches("[A-Za-z0-9._/-]{1,64}")) {
          throw new ConfigException(key, "\"" + v + "\" is not a valid name: use 1 to 64 "
              + "letters, digits, '.', '_', '-' or '/'");
        }
        if (!out.contains(v)) {
          out.add(v);
        }
      }
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(key, "must be a list of strings, got " + render(key), e);
    }
    return List.copyOf(out);
  }

  private String render(String key) {
    return config.getValue(key).render(
        com.typesafe.config.ConfigRenderOptions.concise());
  }
}
