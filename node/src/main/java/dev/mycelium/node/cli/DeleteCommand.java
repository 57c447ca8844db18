package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code mycelium delete ID}: writes the fragment's tombstone, so that the delete also reaches
 * the replicas (a fragment is immutable; a delete is a signed tombstone).
 */
@Command(
    name = "delete",
    description = "Delete a fragment (the node keeps a tombstone so replicas learn of it).")
public final class DeleteCommand extends ApiCommand {
  @Parameters(index = "0", paramLabel = "ID", description = "The fragment ID (64 hex).")
  String id;

  @Override
  protected int run() {
    JsonNode r = client().delete("/v1/fragments/" + checkId(id));
    if (json()) {
      printJson(r);
    } else {
      print(text(r, "id") + "  " + text(r, "state") + "\n");
    }
    return ExitCodes.OK;
  }
}
