package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mycelium search TEXT}: semantic search over the node's fragments. */
@Command(
    name = "search",
    description = "Find the fragments nearest in meaning to TEXT, best first.")
public final class SearchCommand extends ApiCommand {
  /** Width of the text column, so one hit fits on one terminal line. */
  private static final int EXCERPT = 60;

  @Parameters(index = "0", paramLabel = "TEXT", description = "What to look for.")
  String text;

  @Option(
      names = {"-k", "--k"},
      paramLabel = "N",
      defaultValue = "10",
      description = "How many hits (1..1000). Default: ${DEFAULT-VALUE}.")
  int k = 10;

  @Option(names = "--owner", paramLabel = "NODE_ID", description = "Only this owner's fragments.")
  String owner;

  @Option(
      names = "--meta",
      paramLabel = "KEY=VALUE",
      description = "Only fragments with this metadata entry (repeatable; all must match).")
  Map<String, String> meta = new LinkedHashMap<>();

  @Option(
      names = "--from",
      paramLabel = "TIME",
      converter = InstantMillisConverter.class,
      description = "Only fragments created at or after TIME (epoch millis or ISO instant).")
  Long from;

  @Option(
      names = "--to",
      paramLabel = "TIME",
      converter = InstantMillisConverter.class,
      description = "Only fragments created before TIME (epoch millis or ISO instant).")
  Long to;

  @Override
  protected int run() {
    if (k < 1 || k > 1000) {
      throw new CliException(ExitCodes.USAGE, "-k must be between 1 and 1000, not " + k);
    }
    if (text.isBlank()) {
      throw new CliException(ExitCodes.USAGE, "TEXT is empty; say what to look for");
    }
    ObjectNode req = ApiClient.mapper().createObjectNode();
    req.put("text", text);
    req.put("k", k);
    ObjectNode filter = ApiClient.mapper().createObjectNode();
    if (owner != null) {
      filter.put("owner", owner);
    }
    if (!meta.isEmpty()) {
      ObjectNode m = filter.putObject("metadata");
      meta.forEach(m::put);
    }
    if (from != null) {
      filter.put("from", from);
    }
    if (to != null) {
      filter.put("to", to);
    }
    if (!filter.isEmpty()) {
      req.set("filter", filter);
    }
    JsonNode r = client().post("/v1/search", req);
    if (json()) {
      printJson(r);
      return ExitCodes.OK;
    }
    Table t = new Table(">RANK", ">SCORE", "STATE", "ID", "TEXT");
    int rank = 1;
    JsonNode hits = r.path("hits");
    for (JsonNode h : hits) {
      String id = text(h, "id");
      t.row(
          rank++,
          String.format(Locale.ROOT, "%.4f", h.path("score").asDouble()),
          text(h, "state"),
          id == null ? null : id.substring(0, Math.min(12, id.length())),
          Table.excerpt(text(h, "text"), EXCERPT));
    }
    StringBuilder sb = new StringBuilder();
    if (t.size() > 0) {
      sb.append(t.render());
    }
    sb.append(t.size())
        .append(t.size() == 1 ? " hit" : " hits")
        .append(" in ")
        .append(r.path("took_ms").asLong())
        .append(" ms\n");
    print(sb.toString());
    return ExitCodes.OK;
  }
}
