package dev.mycelium.node.search;

import dev.mycelium.node.FragmentService;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.wire.NodeId;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One search as a client asks it: over this node's fragments alone, or over this node and its
 * neighbours within a hop limit, merged into one ranking ({@link SearchMerge}). The HTTP API
 * parses and renders; what a search does lives here, once.
 *
 * <p>The network part is best effort: when it fails, or the node runs without a peer service,
 * the local hits still answer and the outcome says what was not asked.
 */
public final class SearchService {
  private static final Logger LOG = LoggerFactory.getLogger(SearchService.class);

  private final Supplier<FragmentService> fragments;
  private final Supplier<Optional<NetworkSearcher>> network;

  /**
   * @param fragments this node's fragments and index
   * @param network the neighbours' side, or empty on a node without a peer service; asked at
   *     each search, since the peer service starts after the API
   */
  public SearchService(Supplier<FragmentService> fragments,
      Supplier<Optional<NetworkSearcher>> network) {
    this.fragments = fragments;
    this.network = network;
  }

  /**
   * What a network search reached.
   *
   * @param hops the hop limit it ran with
   * @param asked the neighbours asked
   * @param unanswered nodes that did not answer in time
   * @param complete whether every node asked answered in time
   * @param peerService false when this node runs without one (local hits only)
   */
  public record NetworkPart(int hops, List<NodeId> asked, List<NodeId> unanswered,
      boolean complete, boolean peerService) {}

  /**
   * The answer to one search.
   *
   * @param hits best first; substitutes follow the hit they stand for
   * @param tookMillis the time the search took here
   * @param network what the network part reached, for a network search
   */
  public record Outcome(List<SearchHit> hits, long tookMillis, Optional<NetworkPart> network) {}

  /**
   * The most hops any request may name; a node's own limit ({@code search.max-hops}) is at most
   * this, and a node without a peer service accepts it (there is no one to ask).
   */
  public static final int ABSOLUTE_MAX_HOPS = 5;

  /** The most hops a network search may travel on this node. */
  public int maxHops() {
    return network.get().map(NetworkSearcher::maxHops).orElse(ABSOLUTE_MAX_HOPS);
  }

  /**
   * Searches this node only, by text or by vector.
   *
   * @param text the query text, embedded here, or null when {@code vector} is given
   * @param vector the query vector, or null
   */
  public Outcome local(String text, float[] vector, int k, SearchFilter filter) {
    FragmentService.SearchResult r = fragments.get().search(text, vector, k, filter);
    return new Outcome(r.hits(), r.tookMillis(), Optional.empty());
  }

  /**
   * Searches this node and the neighbours within {@code hops}, and merges the two.
   *
   * @param hops 1 to {@link #maxHops()}
   * @throws IllegalArgumentException when {@code hops} is out of that range
   */
  public Outcome network(String text, float[] vector, int k, SearchFilter filter, int hops) {
    int max = maxHops();
    if (hops < 1 || hops > max) {
      throw new IllegalArgumentException("hops must be from 1 to " + max
          + " on this node (search.max-hops), got " + hops);
    }
    long start = System.nanoTime();
    FragmentService f = fragments.get();
    float[] query = f.queryVector(text, vector);
    List<SearchHit> local = f.search(null, query, k, filter).hits();
    Optional<NetworkSearcher> searcher = network.get();
    NetworkSearcher.Result remote = NetworkSearcher.Result.NONE;
    if (searcher.isPresent()) {
      try {
        remote = searcher.get().search(query, k, filter, hops);
      } catch (RuntimeException e) {
        LOG.warn("network search failed, answering with local hits: {}", e.toString());
        remote = new NetworkSearcher.Result(List.of(), List.of(), List.of(), false);
      }
    }
    List<SearchHit> hits = SearchMerge.merge(local, remote.hits(), k);
    long took = (System.nanoTime() - start) / 1_000_000;
    return new Outcome(hits, took, Optional.of(new NetworkPart(hops, remote.asked(),
        remote.unanswered(), remote.complete(), searcher.isPresent())));
  }
}
