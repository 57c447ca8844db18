package dev.mycelium.node.search;

import com.google.protobuf.ByteString;
import dev.mycelium.node.FragmentService;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The node's share of the network beyond replication: shared knowledge and network search,
 * attached together to the node's driver (the peer service), which runs their cores and hands
 * their slow steps (local searches for peers, hit checks, keeping shared fragments) to its
 * workers through the {@link PeerService.Work} installed here; stopped before the driver. One
 * object so that the node's start and stop order needs one line each.
 */
public final class SharedKnowledgeAndSearch implements AutoCloseable {
  private final SharedKnowledge shared;
  private final PeerNetworkSearcher search;

  private SharedKnowledgeAndSearch(SharedKnowledge shared, PeerNetworkSearcher search) {
    this.shared = shared;
    this.search = search;
  }

  /** Starts both over a running peer service and registers their metrics. */
  public static SharedKnowledgeAndSearch start(NodeConfig config, FragmentService fragments,
      PeerService peers, PrometheusRegistry registry) {
    SharedKnowledge shared = new SharedKnowledge(peers, fragments, config.shared());
    PeerNetworkSearcher search = new PeerNetworkSearcher(peers, fragments,
        config.search().maxHops(), config.search().networkTimeout());
    peers.work(new PeerService.Work() {
      @Override
      public List<NetworkSearchHit> searchLocally(NetworkSearchRequest request) {
        return search.localShared(request);
      }

      @Override
      public PeerService.CheckedHits checkHits(NodeId from, NetworkSearchResponse response) {
        return search.checkHits(from, response);
      }

      @Override
      public Optional<String> ingestShared(NodeId origin, String topic, ByteString payload) {
        return shared.take(origin, topic, payload);
      }
    });
    SharedKnowledgeAndSearch n = new SharedKnowledgeAndSearch(shared, search);
    n.registerMetrics(registry);
    return n;
  }

  public SharedKnowledge shared() {
    return shared;
  }

  public NetworkSearcher searcher() {
    return search;
  }

  public PeerNetworkSearcher search() {
    return search;
  }

  private void registerMetrics(PrometheusRegistry r) {
    Supplier<SharedKnowledge.Stats> s = shared::stats;
    counter(r, "mycelium_shared_published_total", "Shared fragments this node broadcast", s,
        SharedKnowledge.Stats::published);
    counter(r, "mycelium_shared_received_total", "Shared fragments received on subscribed topics",
        s, SharedKnowledge.Stats::received);
    counter(r, "mycelium_shared_stored_total", "Received shared fragments stored and indexed", s,
        SharedKnowledge.Stats::stored);
    counter(r, "mycelium_shared_rejected_total",
        "Received shared fragments dropped because they did not check", s,
        SharedKnowledge.Stats::rejected);
    Supplier<PeerNetworkSearcher.Stats> n = this::searchStats;
    counter(r, "mycelium_search_network_total", "Network searches this node started", n,
        PeerNetworkSearcher.Stats::searches);
    counter(r, "mycelium_search_network_partial_total",
        "Network searches that ended at the deadline with nodes missing", n,
        PeerNetworkSearcher.Stats::partial);
    counter(r, "mycelium_search_network_served_total", "Other nodes' searches answered", n,
        PeerNetworkSearcher.Stats::requestsServed);
    counter(r, "mycelium_search_network_hits_rejected_total",
        "Hits from other nodes dropped because they did not check", n,
        PeerNetworkSearcher.Stats::hitsRejected);
  }

  private PeerNetworkSearcher.Stats searchStats() {
    try {
      return search.stats();
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static <T> void counter(PrometheusRegistry r, String name, String help,
      Supplier<T> source, ToDoubleFunction<T> value) {
    NodeMetrics.counter(r, name, help, source, value);
  }

  @Override
  public void close() {
    search.close();
    shared.close();
  }
}
