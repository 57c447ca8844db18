package dev.mycelium.node.http;

import dev.mycelium.node.FragmentService;
import dev.mycelium.node.metrics.NodeMetrics;
import java.util.List;
import java.util.Map;

/**
 * What the HTTP API needs from its node. A seam so that routing can be tested without a whole
 * node, and so that the API can listen while the store is still opening.
 */
public interface ApiBackend {
  /**
   * The fragment operations.
   *
   * @throws dev.mycelium.node.NotReadyException while the store is opening
   */
  FragmentService fragments();

  /** The body of {@code GET /v1/status}. */
  Map<String, Object> status();

  /** Why the node is not ready; empty when it is. */
  List<String> notReadyReasons();

  /**
   * The body of {@code GET /v1/peers}: one map per known peer (node_id, address, state, view,
   * score, connected). A node without a peer service knows no peers, hence the empty default.
   */
  default List<Map<String, Object>> peers() {
    return List.of();
  }

  /**
   * What {@code /v1/repair} reports and starts; empty on a node that runs no replication (no
   * peer service), which the API answers with 503.
   */
  default java.util.Optional<dev.mycelium.node.replica.RepairControl> repair() {
    return java.util.Optional.empty();
  }

  /** The node's metrics. */
  NodeMetrics metrics();
}
