package dev.mycelium.node.cli;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import picocli.CommandLine.Command;

/**
 * {@code mycelium keygen}: a new network key, 32 random bytes in base64, for
 * {@code mycelium.peer.network-key}. Nodes without the same key cannot join the mesh.
 */
@Command(
    name = "keygen",
    description = "Print a new network key (32 random bytes, base64) for"
        + " mycelium.peer.network-key; give every node of a private mesh the same key.",
    mixinStandardHelpOptions = true)
public final class KeygenCommand extends ClientCommand {
  @Override
  protected int run() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    String text = Base64.getEncoder().encodeToString(key);
    if (json()) {
      printJson(Map.of("network_key", text));
    } else {
      print(text + "\n");
    }
    return ExitCodes.OK;
  }
}
