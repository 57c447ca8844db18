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

  /**
   * Search beyond this node, for {@code "scope": "network"}; empty when the node has no peer
   * service (a network search then answers from this node alone).
   */
  default java.util.Optional<dev.mycelium.node.search.NetworkSearcher> networkSearch() {
    return java.util.Optional.empty();
  }

  /**
   * The body of {@code GET /v1/keyring}: {@code open} (no network key) and {@code keys}, one
   * map per accepted key (network_id, in_use).
   *
   * @throws IllegalStateException when the node has no peer service
   */
  default Map<String, Object> keyring() {
    throw new IllegalStateException("the peer service is disabled (mycelium.peer.enabled = "
        + "false), so there is no network keyring");
  }

  /**
   * Installs, uses or removes a network key on the running node (and saves the keyring).
   *
   * @param action "install", "use" or "remove"
   * @throws IllegalArgumentException for an unknown action or a key that is not installed
   * @throws IllegalStateException when the change is not possible now (an open network, the
   *     key in use, no peer service)
   */
  default Map<String, Object> changeKeyring(String action, byte[] key) {
    return keyring();
  }

  /**
   * Whether {@code mycelium.debug.fault-injection} is on; when off, {@code /v1/debug/faults}
   * answers 404 and {@link #faults()} is never asked.
   */
  default boolean faultInjectionEnabled() {
    return false;
  }

  /**
   * The fault injectors of {@code /v1/debug/faults}; empty when fault injection is off or the
   * node has no peer service (nothing to cut off), which the API answers with 503.
   */
  default java.util.Optional<dev.mycelium.node.peer.FaultControl> faults() {
    return java.util.Optional.empty();
  }

  /** The node's metrics. */
  NodeMetrics metrics();
}
