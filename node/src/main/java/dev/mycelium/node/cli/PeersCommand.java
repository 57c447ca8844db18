package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import picocli.CommandLine.Command;

/**
 * {@code mycelium peers}: the peers a node knows, active view first, with what its failure
 * detector and defence scores think of each. Why a separate command from {@code status}: when
 * a network misbehaves, the question is which peer, and that needs one row per peer.
 */
@Command(
    name = "peers",
    description = "List the node's known peers: node ID, address, state, view, round-trip"
        + " time, score and whether a link is open.",
    mixinStandardHelpOptions = true)
public final class PeersCommand extends ApiCommand {
  /** Characters of a node ID shown in the table (as {@code NodeId.shortString()}). */
  static final int SHORT_ID = 8;

  @Override
  protected int run() {
    JsonNode body = client().get("/v1/peers");
    if (json()) {
      printJson(body);
      return ExitCodes.OK;
    }
    JsonNode peers = body.path("peers");
    if (peers.isEmpty()) {
      print("No known peers.\n");
      return ExitCodes.OK;
    }
    Table t = new Table("NODE ID", "ADDRESS", "STATE", "VIEW", ">RTT", ">SCORE", "CONNECTED");
    for (JsonNode p : peers) {
      String id = p.path("node_id").asText();
      t.row(
          id.length() > SHORT_ID ? id.substring(0, SHORT_ID) : id,
          p.path("address").asText(),
          p.path("state").isNull() || p.path("state").isMissingNode() ? null
              : p.path("state").asText(),
          p.path("view").asText(),
          p.path("rtt_ms").isNumber()
              ? String.format(Locale.ROOT, "%.1f ms", p.path("rtt_ms").asDouble()) : null,
          String.format(Locale.ROOT, "%.2f", p.path("score").asDouble()),
          p.path("connected").asBoolean() ? "yes" : "no");
    }
    print(t.render());
    return ExitCodes.OK;
  }
}
