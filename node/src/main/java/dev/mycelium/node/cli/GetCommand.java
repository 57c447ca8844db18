package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code mycelium get ID}: one fragment, with its state, as the node holds it. */
@Command(
    name = "get",
    description = "Print one fragment: its state (PRESENT, BLANK, LOST, DELETED), owner, text"
        + " and metadata.")
public final class GetCommand extends ApiCommand {
  @Parameters(index = "0", paramLabel = "ID", description = "The fragment ID (64 hex).")
  String id;

  @Override
  protected int run() {
    JsonNode f = client().get("/v1/fragments/" + checkId(id));
    if (json()) {
      printJson(f);
      return ExitCodes.OK;
    }
    List<String[]> kv = new ArrayList<>();
    kv.add(new String[] {"ID", String.valueOf(text(f, "id"))});
    kv.add(new String[] {"State", String.valueOf(text(f, "state"))});
    if (text(f, "owner") != null) {
      kv.add(new String[] {"Owner", text(f, "owner")});
    }
    if (f.hasNonNull("created_at")) {
      long at = f.get("created_at").asLong();
      kv.add(new String[] {"Created", Instant.ofEpochMilli(at) + " (" + at + ")"});
    }
    if (text(f, "visibility") != null) {
      kv.add(new String[] {"Visibility", text(f, "visibility")});
    }
    if (f.hasNonNull("has_vector")) {
      // A text-only fragment is signed without a vector; the node embeds it for its index only.
      kv.add(new String[] {"Vector", f.get("has_vector").asBoolean()
          ? "sent by the client" : "none sent (the node embeds the text)"});
    }
    JsonNode meta = f.get("metadata");
    if (meta != null && meta.isObject()) {
      for (Map.Entry<String, JsonNode> e : iterable(meta)) {
        kv.add(new String[] {"Meta " + e.getKey(), e.getValue().asText()});
      }
    }
    StringBuilder sb = new StringBuilder(Table.keyValues(kv));
    if (text(f, "text") != null) {
      sb.append('\n').append(text(f, "text")).append('\n');
    } else if ("BLANK".equals(text(f, "state"))) {
      sb.append("\nThe bytes are missing or damaged here; the node is repairing them.\n");
    }
    print(sb.toString());
    return ExitCodes.OK;
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode n) {
    List<Map.Entry<String, JsonNode>> l = new ArrayList<>();
    n.fields().forEachRemaining(l::add);
    return l;
  }
}
