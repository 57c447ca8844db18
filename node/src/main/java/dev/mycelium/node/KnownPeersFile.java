package dev.mycelium.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code <data-dir>/peers.json}: the peers a node knew when it last stopped. Why: seeds are
 * only needed for the first join; a restarted node rejoins through the peers it already knew
 * (HyParView's passive view is exactly this kind of backup list), so seeds may go away.
 *
 * <p>The file is a cache, not a record: a missing or damaged file means "no known peers" and
 * the node falls back to its seeds, with a warning.
 */
final class KnownPeersFile {
  private static final Logger LOG = LoggerFactory.getLogger(KnownPeersFile.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** File name in the data directory. */
  static final String FILE_NAME = "peers.json";

  private KnownPeersFile() {}

  /** The peers saved in {@code file}; empty when there is no file or it cannot be read. */
  static List<PeerAddress> read(Path file) {
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      JsonNode root = JSON.readTree(Files.readAllBytes(file));
      List<PeerAddress> out = new ArrayList<>();
      for (JsonNode p : root.path("peers")) {
        out.add(new PeerAddress(NodeId.parse(p.path("node_id").asText()),
            p.path("host").asText(), p.path("port").asInt()));
      }
      return out;
    } catch (IOException | RuntimeException e) {
      LOG.warn("ignoring {}: {}; the node joins through its seeds only", file, e.toString());
      return List.of();
    }
  }

  /** Replaces {@code file} with these peers, atomically where the file system allows. */
  static void write(Path file, List<PeerAddress> peers) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode list = root.putArray("peers");
    for (PeerAddress p : peers) {
      list.addObject().put("node_id", p.id().toString()).put("host", p.host())
          .put("port", p.port());
    }
    Path tmp = Files.createTempFile(file.getParent(), ".peers.json.", ".tmp");
    Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
