package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

  @Option(names = "--agent", paramLabel = "NAME", description = "Only this agent's fragments.")
  String agent;

  @Option(names = "--run", paramLabel = "ID", description = "Only this run's fragments.")
  String run;

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

  @Option(
      names = "--scope",
      paramLabel = "SCOPE",
      defaultValue = "local",
      description = "local: this node only; network: also the neighbours within --hops, "
          + "whose shared fragments are merged in. Default: ${DEFAULT-VALUE}.")
  String scope = "local";

  @Option(
      names = "--hops",
      paramLabel = "N",
      description = "With --scope network: how far the search travels (1 = neighbours only; "
          + "at most the node's search.max-hops). Default: 1.")
  Integer hops;

  @Override
  protected int run() {
    if (k < 1 || k > 1000) {
      throw new CliException(ExitCodes.USAGE, "-k must be between 1 and 1000, not " + k);
    }
    if (text.isBlank()) {
      throw new CliException(ExitCodes.USAGE, "TEXT is empty; say what to look for");
    }
    if (!scope.equals("local") && !scope.equals("network")) {
      throw new CliException(ExitCodes.USAGE, "--scope must be local or network, not " + scope);
    }
    boolean network = scope.equals("network");
    if (hops != null && !network) {
      throw new CliException(ExitCodes.USAGE, "--hops needs --scope network");
    }
    if (hops != null && (hops < 1 || hops > 5)) {
      throw new CliException(ExitCodes.USAGE, "--hops must be between 1 and 5, not " + hops);
    }
    ObjectNode req = ApiClient.mapper().createObjectNode();
    req.put("text", text);
    req.put("k", k);
    if (network) {
      req.put("scope", "network");
      req.put("hops", hops == null ? 1 : hops);
    }
    ObjectNode filter = ApiClient.mapper().createObjectNode();
    putIfGiven(filter, "owner", owner);
    putIfGiven(filter, "agent", agent);
    putIfGiven(filter, "run", run);
    putMetadata(filter, meta);
    putIfGiven(filter, "from", from);
    putIfGiven(filter, "to", to);
    if (!filter.isEmpty()) {
      req.set("filter", filter);
    }
    JsonNode r = client().post("/v1/search", req);
    if (json()) {
      printJson(r);
      return ExitCodes.OK;
    }
    Table t = network
        ? new Table(">RANK", ">SCORE", "STATE", "ID", "NODE", "TEXT")
        : new Table(">RANK", ">SCORE", "STATE", "ID", "TEXT");
    int rank = 0;
    JsonNode hits = r.path("hits");
    for (JsonNode h : hits) {
      String id = text(h, "id");
      String sub = text(h, "substitute_for");
      // A substitute is not a hit of its own: it is shown under the hit it stands for.
      String rankCell = sub == null ? String.valueOf(++rank) : "~";
      String state = sub == null ? text(h, "state") : "SUBST";
      String body = sub == null ? text(h, "text")
          : "(for " + sub.substring(0, Math.min(12, sub.length())) + ") " + text(h, "text");
      String shortId = id == null ? null : id.substring(0, Math.min(12, id.length()));
      String score = String.format(Locale.ROOT, "%.4f", h.path("score").asDouble());
      if (network) {
        String node = text(h, "node");
        t.row(rankCell, score, state, shortId,
            node == null ? null : node.substring(0, Math.min(8, node.length())),
            Table.excerpt(body, EXCERPT));
      } else {
        t.row(rankCell, score, state, shortId, Table.excerpt(body, EXCERPT));
      }
    }
    StringBuilder sb = new StringBuilder();
    if (t.size() > 0) {
      sb.append(t.render());
    }
    sb.append(rank)
        .append(rank == 1 ? " hit" : " hits")
        .append(" in ")
        .append(r.path("took_ms").asLong())
        .append(" ms");
    if (network) {
      sb.append(", ").append(r.path("asked").asInt()).append(" neighbour(s) asked");
      JsonNode missing = r.path("unanswered");
      if (missing.size() > 0) {
        List<String> names = new ArrayList<>();
        missing.forEach(m -> names.add(m.asText().substring(0, Math.min(8, m.asText().length()))));
        sb.append("; no answer from ").append(String.join(", ", names));
      }
    }
    sb.append('\n');
    print(sb.toString());
    return ExitCodes.OK;
  }
}
