package dev.mycelium.node.search;

import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.wire.NodeId;
import java.util.List;

/**
 * What the HTTP API needs to search beyond this node: ask the neighbours within a hop limit and
 * wait, at most until the configured deadline, for their shared hits. A seam so that routing
 * is tested without a network, and so that a node without a peer service simply has none.
 */
public interface NetworkSearcher {
  /**
   * Other nodes' answer to one search.
   *
   * @param hits verified shared fragments from other nodes, best first, each naming the node
   *     that answered
   * @param asked the neighbours asked
   * @param unanswered nodes that did not answer before the deadline (neighbours and nodes
   *     further out that neighbours reported)
   * @param complete whether every neighbour answered in time
   */
  record Result(List<SearchHit> hits, List<NodeId> asked, List<NodeId> unanswered,
      boolean complete) {

    /** No neighbours to ask. */
    public static final Result NONE = new Result(List.of(), List.of(), List.of(), true);
  }

  /** The most hops a search may travel ({@code mycelium.search.max-hops}). */
  int maxHops();

  /**
   * Asks the neighbours (and theirs, while hops remain) and waits for their answers, never
   * longer than the deadline; never fails because a peer is slow, gone or misbehaving.
   *
   * @param query the query vector, already embedded
   * @param hops 1 to {@link #maxHops()}
   */
  Result search(float[] query, int k, SearchFilter filter, int hops);
}
