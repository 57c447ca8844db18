package dev.mycelium.node.search;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.node.FragmentService;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.overlay.search.NetworkSearch;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.storage.index.Vectors;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.MetadataEntry;
import dev.mycelium.wire.proto.NetworkSearchFilter;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Network search's face to the rest of the daemon: a thin facade over the node's one driver
 * ({@link PeerService}), which runs the {@link NetworkSearch} core inside the node core on its
 * loop, routes search requests and answers to it (and to nothing else), and carries out its
 * effects. This class owns no thread and applies no effect: it starts searches, and provides
 * the worker-side steps the driver runs off its loop (the local search a peer's request asks
 * for, the check of a peer's hits).
 *
 * <p>Trust: every hit received is checked here (hash, canonical form, owner signature, shared)
 * and scored again against the query from its own vector, so a peer can neither forge content
 * nor inflate a rank; a peer that sends a forged hit loses score. Only shared fragments are
 * ever sent in an answer ({@link FragmentService#searchShared}).
 */
public final class PeerNetworkSearcher implements NetworkSearcher, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PeerNetworkSearcher.class);

  /** Score points a peer loses for a hit that does not check. */
  static final double FORGED_HIT_PENALTY = dev.mycelium.overlay.node.NodeCore.FORGED_HIT_PENALTY;

  /** Counters since start, for metrics and tests. */
  public record Stats(long searches, long partial, long requestsServed, long duplicates,
      long forwarded, long hitsReceived, long hitsRejected, long malformed) {}

  private final PeerService peers;
  private final FragmentService fragments;
  private final NodeId self;
  private final ByteString selfBytes;
  private final int maxHops;
  private final long timeoutMillis;
  private final AtomicLong searches = new AtomicLong();
  private final AtomicLong partial = new AtomicLong();
  private final AtomicLong hitsReceived = new AtomicLong();
  private final AtomicLong hitsRejected = new AtomicLong();
  private volatile boolean closed;

  /**
   * Attaches a network search core to the peer service.
   *
   * @param maxHops the most hops a search travels (asked or forwarded)
   * @param timeout the longest a search waits for other nodes
   */
  public PeerNetworkSearcher(PeerService peers, FragmentService fragments, int maxHops,
      Duration timeout) {
    this.peers = peers;
    this.fragments = fragments;
    this.self = peers.nodeId();
    this.selfBytes = ByteString.copyFrom(self.toBytes());
    this.maxHops = maxHops;
    this.timeoutMillis = timeout.toMillis();
    peers.attachSearch(new NetworkSearch(self, NetworkSearch.Limits.defaults(maxHops),
        new SplittableRandom(new SecureRandom().nextLong())));
  }

  @Override
  public int maxHops() {
    return maxHops;
  }

  @Override
  public Result search(float[] query, int k, SearchFilter filter, int hops) {
    if (hops < 1 || hops > maxHops) {
      throw new IllegalArgumentException("hops must be from 1 to " + maxHops + ", got " + hops);
    }
    if (closed) {
      return new Result(List.of(), List.of(), List.of(), false);
    }
    searches.incrementAndGet();
    NetworkSearchRequest.Builder q = NetworkSearchRequest.newBuilder().setK(k)
        .setFilter(toProto(filter));
    for (float f : query) {
      q.addVector(f);
    }
    NetworkSearchRequest request = q.build();
    NetworkSearch.Outcome outcome;
    try {
      // The core ends the search at the deadline; the extra second only guards against a
      // stopped loop.
      outcome = peers.search(request, hops, timeoutMillis)
          .get(timeoutMillis + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      partial.incrementAndGet();
      return new Result(List.of(), List.of(), List.of(), false);
    } catch (ExecutionException | TimeoutException | IllegalStateException e) {
      partial.incrementAndGet();
      return new Result(List.of(), List.of(), List.of(), false);
    }
    if (!outcome.complete()) {
      partial.incrementAndGet();
    }
    return new Result(checked(query, filter, outcome.hits()), outcome.asked(),
        outcome.unanswered(), outcome.complete());
  }

  /** Verifies and rescores received hits; a forged one costs the neighbour it came through. */
  private List<SearchHit> checked(float[] query, SearchFilter filter,
      List<NetworkSearch.Hit> hits) {
    Map<FragmentId, SearchHit> out = new LinkedHashMap<>();
    for (NetworkSearch.Hit h : hits) {
      hitsReceived.incrementAndGet();
      Fragment f;
      try {
        f = fragments.verifyShared(h.hit().getFragment());
      } catch (InvalidFragmentException e) {
        hitsRejected.incrementAndGet();
        LOG.warn("network search hit from {} rejected: {}", h.via().shortString(),
            e.getMessage());
        penalize(h.via(), "forged search hit: " + e.getMessage());
        continue;
      }
      if (!filter.test(f)) {
        hitsRejected.incrementAndGet();
        continue;
      }
      float score = f.hasVector() && f.vector().length == query.length
          ? Vectors.cosine(query, f.vector()) : h.hit().getScore();
      out.putIfAbsent(f.id(), new SearchHit(f.id(), score, FragmentState.PRESENT,
          Optional.of(f), Optional.empty(), NodeId.of(h.hit().getNode().toByteArray())));
    }
    List<SearchHit> ranked = new ArrayList<>(out.values());
    ranked.sort(Comparator.comparingDouble((SearchHit s) -> -s.score()));
    return ranked;
  }

  private void penalize(NodeId peer, String why) {
    try {
      peers.penalize(peer, FORGED_HIT_PENALTY, why);
    } catch (IllegalStateException e) {
      LOG.debug("peer service closed; {} not penalised", peer.shortString());
    }
  }

  // ---- work the driver runs off its loop ----

  /**
   * The response without the hits that do not check, checked at every hop so that a forged
   * hit costs the peer that sent it rather than an honest relay further along; the driver
   * penalizes the sender once per rejection.
   */
  PeerService.CheckedHits checkHits(NodeId from, NetworkSearchResponse resp) {
    NetworkSearchResponse.Builder out = resp.toBuilder().clearHits();
    List<String> rejections = new ArrayList<>();
    for (NetworkSearchHit h : resp.getHitsList()) {
      try {
        fragments.verifyShared(h.getFragment());
        out.addHits(h);
      } catch (InvalidFragmentException e) {
        hitsRejected.incrementAndGet();
        LOG.warn("network search hit from {} rejected: {}", from.shortString(), e.getMessage());
        rejections.add(e.getMessage());
      }
    }
    return new PeerService.CheckedHits(out.build(), rejections);
  }

  /** This node's shared hits for a peer's request; nothing when it cannot be searched. */
  List<NetworkSearchHit> localShared(NetworkSearchRequest req) {
    try {
      float[] v = new float[req.getVectorCount()];
      for (int i = 0; i < v.length; i++) {
        v[i] = req.getVector(i);
      }
      List<NetworkSearchHit> out = new ArrayList<>();
      for (SearchHit h : fragments.searchShared(v, req.getK(), fromProto(req.getFilter()))) {
        out.add(NetworkSearchHit.newBuilder().setFragment(h.fragment().orElseThrow().signed())
            .setScore(h.score()).setNode(selfBytes).build());
      }
      return out;
    } catch (RuntimeException e) {
      // A query of another dimension, a bad filter, or a store that is stopping: this node
      // simply has nothing to offer.
      LOG.debug("cannot answer a network search: {}", e.toString());
      return List.of();
    }
  }

  static NetworkSearchFilter toProto(SearchFilter f) {
    NetworkSearchFilter.Builder b = NetworkSearchFilter.newBuilder();
    f.owner().ifPresent(o -> b.setOwner(ByteString.copyFrom(o.toBytes())));
    new TreeMap<>(f.metadata()).forEach((k, v) ->
        b.addMetadata(MetadataEntry.newBuilder().setKey(k).setValue(v)));
    f.fromMillis().ifPresent(b::setFromMillis);
    f.toMillis().ifPresent(b::setToMillis);
    return b.build();
  }

  /**
   * The filter of a peer's request.
   *
   * @throws IllegalArgumentException when the owner is not a node ID
   */
  static SearchFilter fromProto(NetworkSearchFilter f) {
    Optional<NodeId> owner = f.getOwner().isEmpty()
        ? Optional.empty() : Optional.of(NodeId.of(f.getOwner().toByteArray()));
    Map<String, String> md = new LinkedHashMap<>();
    for (MetadataEntry e : f.getMetadataList()) {
      md.put(e.getKey(), e.getValue());
    }
    return new SearchFilter(owner, Map.copyOf(md),
        f.hasFromMillis() ? Optional.of(f.getFromMillis()) : Optional.empty(),
        f.hasToMillis() ? Optional.of(f.getToMillis()) : Optional.empty());
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  /** Counters since start. */
  public Stats stats() {
    long[] c = new long[4];
    try {
      long[] read = peers.read(n -> n.search().map(core -> new long[] {core.requestsServed(),
          core.duplicates(), core.forwarded(), core.malformed()}).orElse(new long[4]));
      System.arraycopy(read, 0, c, 0, 4);
    } catch (IllegalStateException e) {
      // Stopping: report what is known without the core's counters.
    }
    return new Stats(searches.get(), partial.get(), c[0], c[1], c[2], hitsReceived.get(),
        hitsRejected.get(), c[3]);
  }

  /** Stops starting searches; the core stops with the peer service. */
  @Override
  public void close() {
    closed = true;
  }
}
