package dev.mycelium.sim.report;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of one scenario run: ordered sections of numbers and tables, free-text findings,
 * and plots. It writes {@code report.json} (for scripts and the replay test), {@code report.md}
 * (for people) and one PNG per plot. Nothing taken from the wall clock or the machine goes in,
 * so one seed gives byte-identical files; how long the run took is printed, not reported.
 */
public final class Report {
  private final String scenario;
  private final String description;
  private final Map<String, Object> root = new LinkedHashMap<>();
  private final Map<String, Object> results = new LinkedHashMap<>();
  private final List<String> findings = new ArrayList<>();
  private final List<Plot> plots = new ArrayList<>();
  private boolean realNodes;

  public Report(String scenario, String description, long seed, int nodes,
      Map<String, Object> parameters) {
    this.scenario = scenario;
    this.description = description;
    root.put("scenario", scenario);
    root.put("seed", seed);
    root.put("nodes", nodes);
    root.put("parameters", parameters);
    root.put("results", results);
    root.put("findings", findings);
  }

  /** A result section: an ordered map of values, or rows (a list of ordered maps). */
  public Report put(String section, Object value) {
    results.put(section, value);
    return this;
  }

  /**
   * Marks the report as made on real nodes ({@code mycelium sim --real}): it says so in
   * {@code report.json} ({@code "mode": "real"}) and does not promise a replay in
   * {@code report.md}, since real nodes run on the machine's clock.
   */
  public Report realNodes() {
    realNodes = true;
    root.put("mode", "real");
    return this;
  }

  /** A sentence that says what the numbers mean (a target met or missed, a caveat). */
  public Report finding(String text) {
    findings.add(text);
    return this;
  }

  public Report plot(Plot plot) {
    plots.add(plot);
    return this;
  }

  public Map<String, Object> results() {
    return results;
  }

  public List<String> findings() {
    return findings;
  }

  public List<Plot> plots() {
    return plots;
  }

  /** Rounds for reports: four decimals are more than the runs' noise, and read well. */
  public static double r(double v) {
    if (!Double.isFinite(v)) {
      return v;
    }
    return Math.round(v * 10_000.0) / 10_000.0;
  }

  /** An ordered map from alternating keys and values. */
  public static Map<String, Object> row(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i + 1 < kv.length; i += 2) {
      Object v = kv[i + 1];
      m.put((String) kv[i], v instanceof Double d ? (Object) r(d) : v);
    }
    return m;
  }

  public String json() {
    List<String> files = new ArrayList<>();
    for (Plot p : plots) {
      files.add(p.file());
    }
    root.put("plots", files);
    try {
      DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
          .withObjectIndenter(new DefaultIndenter("  ", "\n"));
      return new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
          .writer(pp).writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException("a report holds only maps, lists and scalars", e);
    }
  }

  @SuppressWarnings("unchecked")
  public String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("# Scenario `").append(scenario).append("`\n\n");
    md.append(description.strip()).append("\n\n");
    if (realNodes) {
      md.append("Seed ").append(root.get("seed")).append(", ").append(root.get("nodes"))
          .append(" real node processes on 127.0.0.1. Run again: `mycelium sim --real "
              + "--scenario ").append(scenario).append(" --seed ").append(root.get("seed"))
          .append(" --nodes ").append(root.get("nodes")).append("` (the seed picks every "
              + "victim and origin; the nodes' timing is the machine's, so numbers vary).\n\n");
    } else {
      md.append("Seed ").append(root.get("seed")).append(", ").append(root.get("nodes"))
          .append(" nodes. Replay: `mycelium sim --scenario ").append(scenario)
          .append(" --seed ").append(root.get("seed")).append(" --nodes ")
          .append(root.get("nodes")).append("`.\n\n");
    }
    if (!findings.isEmpty()) {
      md.append("## Findings\n\n");
      for (String f : findings) {
        md.append("- ").append(f).append('\n');
      }
      md.append('\n');
    }
    for (Map.Entry<String, Object> e : results.entrySet()) {
      md.append("## ").append(e.getKey()).append("\n\n");
      Object v = e.getValue();
      if (v instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map) {
        table(md, (List<Map<String, Object>>) list);
      } else if (v instanceof Map<?, ?> map) {
        md.append("| key | value |\n|---|---|\n");
        for (Map.Entry<?, ?> kv : map.entrySet()) {
          md.append("| ").append(kv.getKey()).append(" | ").append(cell(kv.getValue()))
              .append(" |\n");
        }
      } else {
        md.append(cell(v)).append('\n');
      }
      md.append('\n');
    }
    if (!plots.isEmpty()) {
      md.append("## Plots\n\n");
      for (Plot p : plots) {
        md.append("![").append(p.title()).append("](").append(p.file()).append(")\n\n");
      }
    }
    md.append("## Parameters\n\n```json\n");
    try {
      md.append(new ObjectMapper().writerWithDefaultPrettyPrinter()
          .writeValueAsString(root.get("parameters")));
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
    md.append("\n```\n");
    return md.toString();
  }

  private static void table(StringBuilder md, List<Map<String, Object>> rows) {
    List<String> cols = new ArrayList<>(rows.get(0).keySet());
    md.append("| ").append(String.join(" | ", cols)).append(" |\n|");
    md.append("---|".repeat(cols.size())).append('\n');
    for (Map<String, Object> row : rows) {
      md.append('|');
      for (String c : cols) {
        md.append(' ').append(cell(row.get(c))).append(" |");
      }
      md.append('\n');
    }
  }

  private static String cell(Object v) {
    if (v == null) {
      return "";
    }
    if (v instanceof Double d) {
      return String.format(Locale.ROOT, "%s", r(d));
    }
    return String.valueOf(v).replace("|", "\\|").replace("\n", " ");
  }

  /** Writes report.json, report.md and the plots into {@code dir} (created if needed). */
  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("report.json"), json(), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("report.md"), markdown(), StandardCharsets.UTF_8);
    for (Plot p : plots) {
      PlotWriter.write(p, dir);
    }
  }
}
