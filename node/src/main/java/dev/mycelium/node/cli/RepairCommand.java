package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;

/**
 * {@code mycelium repair status|run}: what the node's self-healing is doing, and a way to start
 * a repair cycle now (after replacing a disk, say) instead of waiting for the schedule. Reads
 * {@code GET /v1/repair} and posts {@code /v1/repair/run}.
 */
@Command(
    name = "repair",
    description = "Show the node's repair work (repair status), or start a repair cycle now"
        + " (repair run).",
    subcommands = {RepairCommand.Status.class, RepairCommand.Run.class})
public final class RepairCommand extends GroupCommand {
  /** {@code repair status}. */
  @Command(
      name = "status",
      description = "Fragments and held replicas by state, the repair queue, repairs done and"
          + " failed, losses, bytes moved and the last cycle.")
  public static final class Status extends ApiCommand {
    @Override
    protected int run() {
      JsonNode s = client().get("/v1/repair");
      if (json()) {
        printJson(s);
      } else {
        print(render(s));
      }
      return ExitCodes.OK;
    }
  }

  /** {@code repair run}. */
  @Command(
      name = "run",
      description = "Start a repair cycle now; prints whether it started (or one was already"
          + " running) and the status at that moment.")
  public static final class Run extends ApiCommand {
    @Override
    protected int run() {
      JsonNode r = client().post("/v1/repair/run", java.util.Map.of());
      if (json()) {
        printJson(r);
      } else {
        String head = r.path("started").asBoolean()
            ? "Repair cycle started.\n"
            : "A repair cycle is already running; it covers this request.\n";
        print(head + "\n" + render(r.path("status")));
      }
      return ExitCodes.OK;
    }
  }

  /** The status as text: a summary, then the counts by state of own and held fragments. */
  static String render(JsonNode s) {
    List<String[]> kv = new ArrayList<>();
    kv.add(new String[] {"Running", s.path("running").asBoolean() ? "yes" : "no"});
    kv.add(new String[] {"Queue", Long.toString(s.path("queue").asLong())});
    kv.add(new String[] {"Repairs", s.path("repairs_done").asLong() + " done, "
        + s.path("repairs_failed").asLong() + " failed, " + s.path("losses").asLong()
        + " lost"});
    kv.add(new String[] {"Bytes moved", bytes(s.path("bytes_moved").asLong())});
    kv.add(new String[] {"Cycles", Long.toString(s.path("cycles").asLong())});
    JsonNode c = s.path("last_cycle");
    kv.add(new String[] {"Last cycle", c.isObject()
        ? Instant.ofEpochMilli(c.path("finished_at").asLong()) + " (" + c.path("trigger").asText()
            + ", " + c.path("duration_ms").asLong() + " ms): " + c.path("repaired").asLong()
            + " repaired, " + c.path("failed").asLong() + " failed"
        : "none yet"});
    List<String> holders = new ArrayList<>();
    s.path("holders").forEach(h -> holders.add(h.asText()));
    kv.add(new String[] {"Holders", holders.isEmpty() ? "none yet"
        : String.join(", ", holders) + " (manifest version "
            + s.path("manifest_version").asLong() + ")"});
    if (s.path("stream_backlog").asLong() > 0) {
      kv.add(new String[] {"Streaming", s.path("stream_backlog").asLong()
          + " replicas to new holders"});
    }
    if (s.path("restoring").asBoolean()) {
      kv.add(new String[] {"Restore", "under way"});
    }
    StringBuilder sb = new StringBuilder(Table.keyValues(kv)).append('\n');
    Table t = new Table("WHAT", ">PRESENT", ">BLANK", ">LOST", ">DELETED");
    for (String part : new String[] {"fragments", "held"}) {
      JsonNode f = s.path(part);
      t.row(part.equals("held") ? "held for others" : "own fragments",
          f.path("PRESENT").asLong(), f.path("BLANK").asLong(), f.path("LOST").asLong(),
          f.path("DELETED").asLong());
    }
    return sb.append(t.render()).toString();
  }

  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
