package dev.mycelium.node.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The naming rule of Mycelium's metrics, checked against the Prometheus text a node serves:
 * {@code mycelium_<area>_<thing>_<unit>}. The area is a part of the node; a gauge ends in a
 * unit (a base unit such as {@code seconds}, {@code bytes}, {@code ratio}, or what it counts,
 * such as {@code fragments} or {@code peers}); a counter ends in {@code _total}; a histogram
 * or summary ends in a base unit; label names are lower snake case. Why: operators write
 * queries and alerts against these names, and a name that says its unit cannot be misread.
 */
final class MetricNameRule {
  /** Parts of a node a metric may belong to. */
  static final Set<String> AREAS = Set.of("store", "index", "embedder", "scrubber", "http",
      "overlay", "broadcast", "shared", "repair", "replication", "search", "peer", "audit",
      "node", "fault");

  /** Last words a gauge may end in. */
  static final Set<String> GAUGE_UNITS = Set.of("seconds", "bytes", "ratio", "entries",
      "fragments", "vectors", "peers", "links", "messages", "requests", "owners", "replicas",
      "holders", "tasks", "keys", "nodes", "info", "timestamp_seconds");

  /** Last words a histogram or summary may end in: base units. */
  static final Set<String> BASE_UNITS = Set.of("seconds", "bytes", "ratio");

  private static final Pattern TYPE = Pattern.compile("^# TYPE (\\S+) (\\S+)$");
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{.*})?"
      + " .*$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"");
  private static final Pattern SNAKE = Pattern.compile("[a-z][a-z0-9]*(_[a-z0-9]+)*");

  private MetricNameRule() {}

  /** Metric families of a Prometheus text exposition: name to type. */
  static Map<String, String> families(String exposition) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : exposition.split("\n")) {
      Matcher m = TYPE.matcher(line);
      if (m.matches()) {
        out.put(m.group(1), m.group(2));
      }
    }
    return out;
  }

  /** Label names used by samples of Mycelium's metrics. */
  static Set<String> labelNames(String exposition) {
    Set<String> out = new TreeSet<>();
    for (String line : exposition.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!line.startsWith("#") && m.matches() && m.group(1).startsWith("mycelium_")
          && m.group(2) != null) {
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) {
          out.add(l.group(1));
        }
      }
    }
    return out;
  }

  /**
   * What is wrong with one family's name, or an empty list.
   *
   * @param type the {@code # TYPE} word: counter, gauge, histogram, summary, info, ...
   */
  static List<String> problems(String name, String type) {
    List<String> p = new ArrayList<>();
    if (!SNAKE.matcher(name).matches()) {
      p.add(name + ": not lower snake case");
      return p;
    }
    String[] parts = name.split("_");
    if (parts.length < 3 || !parts[0].equals("mycelium")) {
      p.add(name + ": not mycelium_<area>_<thing>_<unit>");
      return p;
    }
    if (!AREAS.contains(parts[1])) {
      p.add(name + ": area '" + parts[1] + "' is none of " + new TreeSet<>(AREAS));
    }
    String last = parts[parts.length - 1];
    // The text format may declare a counter under its name without "_total".
    String counted = name.endsWith("_total") ? name : name + "_total";
    switch (type) {
      case "counter" -> {
        if (counted.split("_").length < 4) {
          p.add(name + ": a counter is mycelium_<area>_<thing>_total");
        }
      }
      case "gauge" -> {
        boolean unit = GAUGE_UNITS.contains(last) || name.endsWith("_timestamp_seconds");
        if (!unit) {
          p.add(name + ": a gauge ends in its unit, one of " + new TreeSet<>(GAUGE_UNITS));
        }
        if (name.endsWith("_total")) {
          p.add(name + ": _total is for counters");
        }
      }
      case "histogram", "summary" -> {
        if (!BASE_UNITS.contains(last)) {
          p.add(name + ": a " + type + " ends in a base unit, one of "
              + new TreeSet<>(BASE_UNITS));
        }
      }
      case "info" -> {
        if (!name.endsWith("_info")) {
          p.add(name + ": an info metric ends in _info");
        }
      }
      default -> p.add(name + ": unexpected type " + type);
    }
    return p;
  }

  /** Every problem of every Mycelium family and label in an exposition. */
  static List<String> check(String exposition) {
    List<String> p = new ArrayList<>();
    families(exposition).forEach((name, type) -> {
      if (name.startsWith("mycelium_")) {
        p.addAll(problems(name, type));
      }
    });
    for (String label : labelNames(exposition)) {
      if (!SNAKE.matcher(label).matches()) {
        p.add("label " + label + ": not lower snake case");
      }
    }
    return p;
  }
}
