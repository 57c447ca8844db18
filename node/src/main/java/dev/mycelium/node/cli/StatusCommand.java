package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;

/**
 * {@code mycelium status}: the node at a glance, laid out like {@code nodetool status}: who it
 * is, whether it is ready (and why not), what it holds by state, and how the store, index and
 * scrubber are doing.
 */
@Command(
    name = "status",
    description = "Show the node's identity, readiness, fragment counts, store, index and"
        + " scrubber.")
public final class StatusCommand extends ApiCommand {
  @Override
  protected int run() {
    JsonNode s = client().get("/v1/status");
    if (json()) {
      printJson(s);
      return ExitCodes.OK;
    }
    ApiClient.Answer ready = client().getAnyStatus("/ready");
    List<String[]> kv = new ArrayList<>();
    kv.add(new String[] {"Node ID", String.valueOf(text(s, "node_id"))});
    kv.add(new String[] {"Version", String.valueOf(text(s, "version"))});
    kv.add(new String[] {"Uptime", uptime(s.path("uptime_seconds").asLong())});
    kv.add(new String[] {"API", String.valueOf(text(s, "api") != null ? text(s, "api")
        : client().base().toString())});
    if (text(s, "peer") != null) {
      kv.add(new String[] {"Peers", text(s, "peer") + " (" + s.path("peers").path("active")
          .asLong() + " active, " + s.path("peers").path("passive").asLong() + " passive)"});
    }
    kv.add(new String[] {"Ready", readiness(ready)});
    StringBuilder sb = new StringBuilder(Table.keyValues(kv)).append('\n');

    JsonNode f = s.path("fragments");
    Table frags = new Table(">PRESENT", ">BLANK", ">LOST", ">DELETED");
    frags.row(
        f.path("PRESENT").asLong(),
        f.path("BLANK").asLong(),
        f.path("LOST").asLong(),
        f.path("DELETED").asLong());
    sb.append("Fragments\n").append(indent(frags.render())).append('\n');

    JsonNode store = s.path("store");
    JsonNode index = s.path("index");
    JsonNode scrub = s.path("scrubber");
    Table parts = new Table("PART", "STATE");
    parts.row(
        "store",
        store.path("entries").asLong()
            + " / "
            + store.path("capacity").asLong()
            + " entries ("
            + String.format(Locale.ROOT, "%.1f", 100 * store.path("fill_ratio").asDouble())
            + "% full)");
    parts.row(
        "index",
        index.path("size").asLong() + " vectors, " + index.path("pending").asLong() + " pending");
    parts.row(
        "scrubber",
        scrub.path("checked").asLong()
            + " checked, "
            + scrub.path("failures").asLong()
            + " failures, "
            + scrub.path("passes").asLong()
            + " passes");
    sb.append(parts.render());
    print(sb.toString());
    return ExitCodes.OK;
  }

  private static String readiness(ApiClient.Answer a) {
    if (a.status() == 200) {
      return "yes";
    }
    List<String> reasons = new ArrayList<>();
    a.body().path("reasons").forEach(r -> reasons.add(r.asText()));
    return "no" + (reasons.isEmpty() ? " (HTTP " + a.status() + ")" : ": "
        + String.join("; ", reasons));
  }

  static String uptime(long seconds) {
    long d = seconds / 86400;
    long h = seconds % 86400 / 3600;
    long m = seconds % 3600 / 60;
    long s = seconds % 60;
    if (d > 0) {
      return d + "d " + h + "h " + m + "m";
    }
    if (h > 0) {
      return h + "h " + m + "m " + s + "s";
    }
    return m > 0 ? m + "m " + s + "s" : s + "s";
  }

  private static String indent(String block) {
    return block.lines().map(l -> "  " + l).reduce("", (a, b) -> a + b + "\n");
  }
}
