package dev.mycelium.node.peer;

import com.google.protobuf.ByteString;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.node.audit.AuditLog;
import dev.mycelium.overlay.FailureDetector;
import dev.mycelium.overlay.MemberState;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.OverlayNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.node.NodeCore;
import dev.mycelium.overlay.node.NodeEffect;
import dev.mycelium.overlay.node.SharedKnowledgeCore;
import dev.mycelium.overlay.replica.ReplicaEvent;
import dev.mycelium.overlay.replica.ReplicaStatus;
import dev.mycelium.overlay.search.NetworkSearch;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's one driver: the whole node core ({@link NodeCore}: overlay, replication, network
 * search, shared knowledge) driven over real {@link PeerTransport} links, with every effect the
 * core produces carried out here, in {@link #apply}, and nowhere else.
 *
 * <p>Why one event loop: the cores are single-threaded state machines that never read a clock.
 * Every call into the core is made on this service's one driver thread, so the core needs no
 * locks; the clock ({@code System.currentTimeMillis()}) is read here and passed in. Channels
 * live on a separate Netty I/O thread, whose callbacks hop to the driver's loop, so that the
 * core's own work (replication's store writes and signature checks) never holds up sockets
 * and TLS handshakes; what waits for the driver is bounded (links stop being read beyond
 * {@link #INBOUND_HIGH_BYTES}). The core is woken when it says it
 * must be ({@link NodeCore#nextDeadline()}), not on a blind period. Work that is slow or
 * touches the store (index searches for peers, checking search hits, keeping shared fragments)
 * goes to a small bounded worker pool; its results come back to the loop as inputs. Public
 * methods may be called from any thread; they hop onto the loop. Replication, network search
 * and shared knowledge are thin facades over this driver: they attach their core, feed inputs
 * and listen to reports, but own no thread and apply no effect.
 *
 * <p>Effects map onto links: {@code Send} writes to the link of that node (dialing it first,
 * with the message held in a small bounded queue meanwhile), {@code Connect} dials, {@code
 * Disconnect} closes; a link that closes without being asked is reported to the core as a lost
 * link (HyParView's reaction to a TCP failure). When two nodes dial each other at once, both
 * keep the link opened by the node with the smaller ID. Seeds are dialed by address; the node
 * ID in their Hello is what the core's join needs.
 */
public final class PeerService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PeerService.class);

  /** Envelopes held per peer while a link to it is being opened. */
  static final int PENDING_PER_PEER = 128;

  /** Default priority of {@link #broadcast(String, byte[])}. */
  public static final int DEFAULT_PRIORITY = 1;

  /** Which HyParView view a peer is in. */
  public enum View { ACTIVE, PASSIVE }

  /**
   * One known peer, for {@code mycelium peers} and {@code /v1/peers}.
   *
   * @param state failure detector state, or null for a passive peer the detector never watched
   * @param score the defence score (0 neutral, negative worse)
   * @param connected whether a link is open right now
   * @param rttMillis smoothed round-trip time of direct probes (RFC 6298 SRTT), or null when
   *     not measured (a passive peer, or an active one not yet probed)
   */
  public record PeerInfo(NodeId nodeId, PeerAddress address, MemberState state, View view,
      double score, boolean connected, Double rttMillis) {}

  /** Counters since start, for status pages, metrics and tests. */
  public record Stats(int activePeers, int passivePeers, long peerUps, long peerDowns,
      long suspicions, long deaths, long refutations, long lefts, long bans, long delivered,
      long broadcastsDropped, long sendsDropped, long dialFailures, long bannedRefused,
      long malformed, PeerTransport.Stats transport, long unrouted, long workShed) {}

  private final OwnerKeys keys;
  private final OverlayConfig config;
  /** Netty's I/O thread: sockets, TLS, framing. */
  private final EventLoopGroup group;
  /** The driver's one thread, on which every call into the node core is made. */
  private final EventLoopGroup driverGroup;
  private final EventLoop loop;
  private final PeerTransport transport;
  private final List<InetSocketAddress> seeds;
  private final Optional<NetworkKeyring> keyring;
  private final long randomSeed;
  private NodeCore core;
  /** Shortcut to {@code core.overlay()}, set with the core. */
  private OverlayNode overlay;
  private ScheduledFuture<?> wake;
  private long wakeAt = Long.MAX_VALUE;
  private volatile boolean closed;
  /** The transport's listener, called directly once on the loop. */
  private final Links listener = new Links();
  /**
   * Looks up host names for dials, so that a slow or hostile resolver never stalls the network
   * thread; at most one lookup per peer being dialed is queued.
   */
  private final java.util.concurrent.ExecutorService resolver =
      java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "mycelium-resolver");
        t.setDaemon(true);
        return t;
      });
  private final ThreadPoolExecutor workers;
  private volatile Work work = Work.NONE;
  private volatile Consumer<ReplicaEvent> replicaEvents = e -> { };
  private volatile Consumer<ReplicaStatus> replicaStatus = s -> { };
  private volatile UnaryOperator<Envelope> outboundTamper;
  private final Map<ByteString, CompletableFuture<NetworkSearch.Outcome>> searches =
      new HashMap<>();

  // Touched only on the loop.
  private final Map<NodeId, PeerLink> links = new HashMap<>();
  private final Map<NodeId, PeerAddress> addresses = new HashMap<>();
  private final Set<NodeId> dialing = new HashSet<>();
  private final Set<NodeId> unwanted = new HashSet<>();
  private final Map<NodeId, ArrayDeque<Envelope>> pending = new HashMap<>();
  private final Set<InetSocketAddress> unresolvedSeeds = new LinkedHashSet<>();
  private final Set<InetSocketAddress> dialingSeeds = new HashSet<>();
  private final Set<NodeId> partitioned = new HashSet<>();
  private double lossRate;
  private long lossSeed;
  private SplittableRandom lossRandom;
  private long nextSeedRetry;

  private final Map<String, List<Consumer<byte[]>>> subscribers = new ConcurrentHashMap<>();

  private final AtomicLong peerUps = new AtomicLong();
  private final AtomicLong peerDowns = new AtomicLong();
  private final AtomicLong suspicions = new AtomicLong();
  private final AtomicLong deaths = new AtomicLong();
  private final AtomicLong refutations = new AtomicLong();
  private final AtomicLong lefts = new AtomicLong();
  private final AtomicLong bans = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong broadcastsDropped = new AtomicLong();
  private final AtomicLong sendsDropped = new AtomicLong();
  private final AtomicLong dialFailures = new AtomicLong();
  private final AtomicLong bannedRefused = new AtomicLong();
  private final AtomicLong malformed = new AtomicLong();
  private final AtomicLong lossDropped = new AtomicLong();
  private final AtomicLong workShed = new AtomicLong();

  private PeerService(OwnerKeys keys, OverlayConfig config, List<InetSocketAddress> seeds,
      Optional<NetworkKeyring> keyring, PeerTransport.Limits limits, long randomSeed) {
    this.keys = keys;
    this.config = config;
    this.seeds = List.copyOf(seeds);
    this.keyring = keyring;
    this.randomSeed = randomSeed;
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    this.driverGroup = new DefaultEventLoopGroup(1, r -> {
      Thread t = new Thread(r, "mycelium-node-loop");
      t.setDaemon(true);
      return t;
    });
    this.loop = driverGroup.next();
    // The advertised address is provisional until the listening port is known.
    this.transport = new PeerTransport(keys, new PeerAddress(keys.nodeId(), "0.0.0.0", 0),
        keyring, limits, group, new ToLoop(listener));
    // Bounded: beyond the queue, work is shed and counted (a peer's search then goes
    // unanswered by this node, a shared fragment is not kept), never queued without end.
    this.workers = new ThreadPoolExecutor(WORKERS, WORKERS, 30, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(WORK_QUEUE), r -> {
          Thread t = new Thread(r, "mycelium-node-worker");
          t.setDaemon(true);
          return t;
        }, (r, pool) -> workShed.incrementAndGet());
    this.workers.allowCoreThreadTimeOut(true);
  }

  /** Threads of the worker pool: index searches and signature checks, off the loop. */
  static final int WORKERS = 2;

  /** Work items waiting for a worker before more are shed. */
  static final int WORK_QUEUE = 1024;

  /**
   * Starts a node's overlay service: listens, then joins through the seeds (or starts a new
   * network when there are none).
   *
   * @param keys the node identity ({@code Identity.keys()})
   * @param listen where to listen for peers; port 0 picks a free port
   * @param advertised what peers should dial; null to advertise the listening address, and a
   *     port of 0 is replaced by the bound port
   * @param seeds addresses of nodes already in the network (may be empty)
   * @param config overlay timings and sizes (a preset such as {@link OverlayConfig#lan()})
   * @param keyring the network keys, or empty for an open network
   * @param seed seed of the overlay's random choices
   */
  public static PeerService start(OwnerKeys keys, InetSocketAddress listen,
      PeerAddress advertised, List<InetSocketAddress> seeds, OverlayConfig config,
      Optional<NetworkKeyring> keyring, long seed) {
    return start(keys, listen, advertised, seeds, config, keyring, seed,
        PeerTransport.Limits.defaults());
  }

  /** As {@link #start(OwnerKeys, InetSocketAddress, PeerAddress, List, OverlayConfig,
   * Optional, long)}, with explicit transport limits. */
  public static PeerService start(OwnerKeys keys, InetSocketAddress listen,
      PeerAddress advertised, List<InetSocketAddress> seeds, OverlayConfig config,
      Optional<NetworkKeyring> keyring, long seed, PeerTransport.Limits limits) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(listen, "listen address");
    Objects.requireNonNull(seeds, "seeds (an empty list for none)");
    Objects.requireNonNull(config, "overlay config");
    Objects.requireNonNull(keyring, "keyring (Optional.empty() for an open network)");
    if (advertised != null && !advertised.id().equals(keys.nodeId())) {
      throw new IllegalArgumentException("advertised address names node " + advertised.id()
          + " but this node is " + keys.nodeId());
    }
    PeerService s = new PeerService(keys, config, seeds, keyring, limits, seed);
    try {
      s.begin(listen, advertised);
    } catch (RuntimeException | InterruptedException e) {
      s.group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      s.driverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("cannot start the peer service on " + listen + ": "
          + e.getMessage(), e);
    }
    return s;
  }

  private void begin(InetSocketAddress listen, PeerAddress advertised)
      throws InterruptedException {
    InetSocketAddress bound = transport.bind(listen);
    PeerAddress self;
    if (advertised == null) {
      if (bound.getAddress().isAnyLocalAddress()) {
        throw new IllegalArgumentException("listening on all interfaces (" + listen
            + "): give the address peers should dial as the advertised address");
      }
      self = new PeerAddress(keys.nodeId(), bound.getAddress().getHostAddress(), bound.getPort());
    } else {
      self = advertised.port() == 0
          ? new PeerAddress(advertised.id(), advertised.host(), bound.getPort()) : advertised;
    }
    transport.advertise(self);
    call(() -> {
      long now = now();
      overlay = new OverlayNode(config, self, new SplittableRandom(randomSeed),
          BroadcastSignatures.signer(keys), BroadcastSignatures.verifier(), now);
      core = new NodeCore(overlay);
      apply(core.start(now));
      unresolvedSeeds.addAll(seeds);
      dialSeeds(now);
      return null;
    });
    LOG.info("peer service of {} listening on {}, advertising {}:{}, {} seed(s)",
        keys.nodeId().shortString(), bound, self.host(), self.port(), seeds.size());
  }

  // ---- public API ----

  /** This node's address as peers see it. */
  public PeerAddress self() {
    return call(() -> overlay.self());
  }

  public NodeId nodeId() {
    return keys.nodeId();
  }

  /** Known peers: the active view first, then the passive view. */
  public List<PeerInfo> peers() {
    return call(() -> {
      long now = now();
      List<PeerInfo> out = new ArrayList<>();
      for (NodeId id : overlay.activeView()) {
        PeerAddress a = overlay.views().active().get(id).address();
        FailureDetector.Rtt rtt = overlay.detector().rtt(id);
        out.add(new PeerInfo(id, a, overlay.detector().state(id), View.ACTIVE,
            overlay.scores().score(now, id), links.containsKey(id),
            rtt == null ? null : rtt.smoothedMillis()));
      }
      for (Map.Entry<NodeId, PeerAddress> e : overlay.views().passive().entrySet()) {
        NodeId id = e.getKey();
        out.add(new PeerInfo(id, e.getValue(), overlay.detector().state(id), View.PASSIVE,
            overlay.scores().score(now, id), links.containsKey(id), null));
      }
      return out;
    });
  }

  /** Node IDs of the active view. */
  public List<NodeId> activeView() {
    return call(() -> overlay.activeView());
  }

  /** The defence score of a peer (0 neutral, negative worse). */
  public double score(NodeId peer) {
    return call(() -> overlay.scores().score(now(), peer));
  }

  /** Whether a peer is banned right now. */
  public boolean isBanned(NodeId peer) {
    return call(() -> overlay.scores().isBanned(now(), peer));
  }

  /**
   * Every peer address this node knows (active view first, then passive), for the daemon to
   * keep in its data directory and hand to {@link #join} after a restart, so the node rejoins
   * without its seeds.
   */
  public List<PeerAddress> knownPeers() {
    return call(() -> overlay.knownPeers());
  }

  /**
   * Joins through peers whose node IDs are already known (such as {@link #knownPeers()} saved
   * before a restart); seeds known only by address go to {@link #start} instead.
   */
  public void join(List<PeerAddress> peers) {
    Objects.requireNonNull(peers, "peers");
    List<PeerAddress> copy = List.copyOf(peers);
    run(() -> {
      for (PeerAddress p : copy) {
        if (!p.id().equals(keys.nodeId())) {
          addresses.putIfAbsent(p.id(), p);
        }
      }
      apply(core.join(now(), copy));
    });
  }

  /** Broadcasts a payload to every node subscribed to the topic, at the default priority. */
  public void broadcast(String topic, byte[] payload) {
    broadcast(topic, payload, DEFAULT_PRIORITY);
  }

  /**
   * Broadcasts a payload to every node subscribed to the topic. Under load, queued broadcasts
   * of the lowest priority are dropped first.
   */
  public void broadcast(String topic, byte[] payload, int priority) {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(payload, "payload");
    if (priority < 0) {
      throw new IllegalArgumentException("priority must be >= 0, got " + priority);
    }
    ByteString bytes = ByteString.copyFrom(payload);
    run(() -> apply(core.broadcast(now(), topic, bytes, priority)));
  }

  /**
   * Broadcasts a payload to every node subscribed to the topic within {@code ttl} hops of this
   * one (the overlay's own TTL is used by the other overloads).
   */
  public void broadcast(String topic, byte[] payload, int priority, int ttl) {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(payload, "payload");
    if (priority < 0) {
      throw new IllegalArgumentException("priority must be >= 0, got " + priority);
    }
    if (ttl < 0) {
      throw new IllegalArgumentException("ttl must be >= 0, got " + ttl);
    }
    ByteString bytes = ByteString.copyFrom(payload);
    run(() -> apply(core.broadcast(now(), topic, bytes, priority, ttl)));
  }

  /**
   * Receives every broadcast on a topic (including this node's own), once each. The consumer
   * runs on the network thread: it must be quick and hand slow work elsewhere.
   */
  public void subscribe(String topic, Consumer<byte[]> consumer) {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(consumer, "consumer");
    subscribers.computeIfAbsent(topic, t -> new CopyOnWriteArrayList<>()).add(consumer);
    run(() -> core.subscribe(topic));
  }

  /**
   * The work the driver hands to its worker pool, off the loop: searching the local index for a
   * peer, checking hits, keeping shared fragments. Every method runs on a worker thread and
   * must be bounded; its result goes back into the core on the loop.
   */
  public interface Work {
    /** No work possible: nothing found locally, every hit kept unchecked, nothing kept. */
    Work NONE = new Work() {
      @Override
      public List<NetworkSearchHit> searchLocally(NetworkSearchRequest request) {
        return List.of();
      }

      @Override
      public CheckedHits checkHits(NodeId from, NetworkSearchResponse response) {
        return new CheckedHits(response.toBuilder().clearHits().build(), List.of());
      }

      @Override
      public Optional<String> ingestShared(NodeId origin, String topic, ByteString payload) {
        return Optional.empty();
      }
    };

    /** This node's shared hits for a peer's search request. */
    List<NetworkSearchHit> searchLocally(NetworkSearchRequest request);

    /** A peer's search response with only the hits that check, and why the others did not. */
    CheckedHits checkHits(NodeId from, NetworkSearchResponse response);

    /**
     * Checks and keeps a shared fragment received by broadcast; the reason it does not check,
     * or empty when it was kept (or dropped for a reason that is not the origin's fault).
     */
    Optional<String> ingestShared(NodeId origin, String topic, ByteString payload);
  }

  /** The outcome of {@link Work#checkHits}. */
  public record CheckedHits(NetworkSearchResponse clean, List<String> rejections) {}

  /** Installs the worker-side functions (the node does once its store and index are up). */
  public void work(Work work) {
    this.work = Objects.requireNonNull(work, "work");
  }

  /**
   * Attaches replication. The caller builds the core (it loads the digests of what the stores
   * hold, which may take seconds, so not on the loop) and hands it over here; from then on it
   * is touched only on the loop. Its reports go to {@code events}, its status after every step
   * that reached it to {@code status}; both run on the loop and must be quick.
   */
  public void attachReplica(NodeCore.ReplicaPart part, Consumer<ReplicaEvent> events,
      Consumer<ReplicaStatus> status) {
    Objects.requireNonNull(part, "replica part");
    this.replicaEvents = Objects.requireNonNull(events, "events");
    this.replicaStatus = Objects.requireNonNull(status, "status");
    call(() -> {
      apply(core.attachReplica(now(), part));
      return null;
    });
  }

  /** Attaches network search. */
  public void attachSearch(NetworkSearch search) {
    Objects.requireNonNull(search, "network search");
    call(() -> {
      core.attachSearch(search);
      return null;
    });
  }

  /** Attaches shared knowledge (its topics are subscribed). */
  public void attachShared(SharedKnowledgeCore shared) {
    Objects.requireNonNull(shared, "shared knowledge");
    call(() -> {
      core.attachShared(shared);
      return null;
    });
  }

  /**
   * Feeds an input to the node core on the loop (without waiting) and applies its effects; the
   * second argument is the time.
   */
  public void drive(BiFunction<NodeCore, Long, List<NodeEffect>> input) {
    Objects.requireNonNull(input, "input");
    run(() -> apply(input.apply(core, now())));
  }

  /** Reads the node core on the loop, waiting for the answer (for status, stats and tests). */
  public <T> T read(Function<NodeCore, T> query) {
    Objects.requireNonNull(query, "query");
    return call(() -> query.apply(core));
  }

  /**
   * Starts a network search of the active view; the future completes with the outcome when
   * every neighbour answered or the budget ran out.
   */
  public CompletableFuture<NetworkSearch.Outcome> search(NetworkSearchRequest query, int hops,
      long budgetMillis) {
    CompletableFuture<NetworkSearch.Outcome> done = new CompletableFuture<>();
    run(() -> {
      try {
        NodeCore.SearchStarted s = core.startSearch(now(), query, hops, budgetMillis);
        searches.put(s.requestId(), done);
        apply(s.effects());
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
      }
    });
    return done;
  }

  /**
   * Fault injector for tests: every envelope this node sends passes through {@code tamper}
   * first (null turns it off), as a peer that alters what it sends would.
   */
  public void tamperOutbound(UnaryOperator<Envelope> tamper) {
    this.outboundTamper = tamper;
  }

  /**
   * One active neighbour as placement sees it.
   *
   * @param address where it listens
   * @param capacity what it advertised (unknown until it does)
   * @param score its defence score (0 neutral, negative worse)
   */
  public record ActivePeer(PeerAddress address, dev.mycelium.overlay.Capacity capacity,
      double score) {}

  /** The active view with advertised capacities and scores, for replica placement. */
  public List<ActivePeer> activePeers() {
    return call(() -> {
      long now = now();
      List<ActivePeer> out = new ArrayList<>();
      overlay.views().active().forEach((id, p) -> out.add(
          new ActivePeer(p.address(), p.capacity(), overlay.scores().score(now, id))));
      return out;
    });
  }

  /** Advertises this node's free room for replicas (and its load) to its neighbours. */
  public void setCapacity(dev.mycelium.overlay.Capacity capacity) {
    Objects.requireNonNull(capacity, "capacity");
    run(() -> apply(core.setCapacity(now(), capacity)));
  }

  /** Lowers a peer's score for something bad it sent (a forged search hit). */
  public void penalize(NodeId peer, double points, String why) {
    run(() -> apply(core.penalize(now(), peer, points, why)));
  }

  /** The address a peer advertised, if this node knows it. */
  public Optional<PeerAddress> addressOf(NodeId peer) {
    return Optional.ofNullable(call(() -> {
      PeerAddress a = addresses.get(peer);
      return a != null ? a : overlay.views().passive().get(peer);
    }));
  }

  /**
   * The network keys this node accepts and presents, or empty for an open network. The keyring
   * may be changed while the node runs (it is thread-safe); the change applies to links opened
   * afterwards. Links already open stay up: cutting every link that was opened with a key just
   * removed would drop most of the overlay at the last step of a rotation.
   */
  public Optional<NetworkKeyring> keyring() {
    return keyring;
  }

  public Stats stats() {
    long[] views = call(() -> new long[] {overlay.activeView().size(),
        overlay.passiveView().size(), core.routes().dropped()});
    return new Stats((int) views[0], (int) views[1], peerUps.get(), peerDowns.get(), suspicions.get(),
        deaths.get(), refutations.get(), lefts.get(), bans.get(), delivered.get(),
        broadcastsDropped.get(), sendsDropped.get(), dialFailures.get(), bannedRefused.get(),
        malformed.get(), transport.stats(), views[2], workShed.get());
  }

  /** Leaves the overlay gracefully (peers mark this node left, not dead), then stops. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    if (loop.inEventLoop()) {
      throw new IllegalStateException(
          "close the peer service from outside its network thread (not from a subscriber)");
    }
    try {
      call(() -> {
        apply(core.leave(now()));
        stopTicking();
        for (PeerLink l : List.copyOf(links.values())) {
          l.close();
        }
        links.clear();
        return null;
      });
    } catch (IllegalStateException e) {
      LOG.warn("leaving the overlay failed: {}", e.getMessage());
    }
    shutdown(300);
  }

  /** Stops at once without a leave, as a crash would (for tests of failure handling). */
  void crash() {
    if (closed) {
      return;
    }
    call(() -> {
      stopTicking();
      for (PeerLink l : List.copyOf(links.values())) {
        l.abort();
      }
      links.clear();
      return null;
    });
    shutdown(0);
  }

  private void stopTicking() {
    wakeAt = Long.MIN_VALUE;
    if (wake != null) {
      wake.cancel(false);
    }
  }

  private void shutdown(long quietMillis) {
    closed = true;
    resolver.shutdownNow();
    workers.shutdownNow();
    transport.close();
    group.shutdownGracefully(quietMillis, 3_000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    driverGroup.shutdownGracefully(0, 3_000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    LOG.info("peer service of {} stopped", keys.nodeId().shortString());
  }

  // ---- fault injectors, for integration tests only ----

  /**
   * Fault injector for tests: holds this node's driver thread for {@code pause}, as a long GC
   * pause or a SIGSTOP would. Nothing is handled, ticked or sent meanwhile; what peers send
   * waits, up to the inbound bound and then in the kernel's buffers. Returns once the pause has begun; the future completes when it ends.
   */
  CompletableFuture<Void> freeze(Duration pause) {
    CountDownLatch begun = new CountDownLatch(1);
    CompletableFuture<Void> over = new CompletableFuture<>();
    loop.execute(() -> {
      begun.countDown();
      long end = System.nanoTime() + pause.toNanos();
      for (long left = pause.toNanos(); left > 0; left = end - System.nanoTime()) {
        LockSupport.parkNanos(left);
      }
      over.complete(null);
    });
    try {
      if (!begun.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the network thread did not start the pause");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    return over;
  }

  /**
   * Fault injector for tests: cuts this node off from these peers, as a network partition
   * would. Open links to them are lost (the overlay is told, as of a broken TCP link), sends
   * and dials to them go nowhere, and links they open are dropped once authenticated. Only
   * this side is cut; a test cuts both. An empty set heals the partition; the overlay then
   * finds its way back on its own (reconnects to failed peers, passive peers, seeds).
   */
  void partition(Set<NodeId> peers) {
    Set<NodeId> copy = Set.copyOf(peers);
    call(() -> {
      partitioned.clear();
      partitioned.addAll(copy);
      long now = now();
      for (NodeId p : copy) {
        pending.remove(p);
        PeerLink l = links.remove(p);
        if (l != null) {
          l.abort();
          apply(core.onLinkLost(now, p));
        }
      }
      return null;
    });
  }

  /**
   * Fault injector for tests: drops each envelope that arrives from a peer with probability
   * {@code rate}, as a lossy network would, drawn from a {@link SplittableRandom} seeded with
   * {@code seed} so that a run can be repeated. Only this side's inbound frames are dropped,
   * and only after the handshake. A rate of 0 turns loss off.
   *
   * @throws IllegalArgumentException when {@code rate} is not from 0 to 1
   */
  void loss(double rate, long seed) {
    checkLossRate(rate);
    call(() -> {
      lossRate = rate;
      lossSeed = seed;
      lossRandom = rate == 0 ? null : new SplittableRandom(seed);
      return null;
    });
  }

  private static void checkLossRate(double rate) {
    if (!(rate >= 0 && rate <= 1)) {
      throw new IllegalArgumentException("loss must be a probability from 0 to 1 (0 turns loss "
          + "off), got " + rate);
    }
  }

  /** Envelopes dropped by {@link #loss} since start. */
  long lossDropped() {
    return lossDropped.get();
  }

  /**
   * The fault injectors ({@link #partition}, {@link #loss}) for a test network's HTTP API. The
   * node asks for this only when {@code mycelium.debug.fault-injection} is true.
   */
  public FaultControl faultControl() {
    return new FaultControl() {
      @Override
      public State state() {
        return call(PeerService.this::faultState);
      }

      @Override
      public State apply(Change change) {
        change.loss().ifPresent(PeerService::checkLossRate);
        change.partition().ifPresent(p -> {
          if (p.contains(keys.nodeId())) {
            throw new IllegalArgumentException("the partition names this node itself ("
                + keys.nodeId() + "); name only the peers to cut off");
          }
        });
        return call(() -> {
          change.partition().ifPresent(PeerService.this::partition);
          if (change.loss().isPresent() || change.seed().isPresent()) {
            loss(change.loss().orElse(lossRate), change.seed().orElse(lossSeed));
          }
          return faultState();
        });
      }
    };
  }

  private FaultControl.State faultState() {
    return new FaultControl.State(partitioned, lossRate, lossSeed, lossDropped.get());
  }

  // ---- the loop ----

  private static long now() {
    return System.currentTimeMillis();
  }

  private void run(Runnable r) {
    if (closed) {
      throw new IllegalStateException("the peer service is closed");
    }
    loop.execute(() -> {
      try {
        r.run();
      } catch (RuntimeException e) {
        LOG.error("overlay call failed", e);
      }
    });
  }

  private <T> T call(Callable<T> c) {
    if (loop.inEventLoop()) {
      try {
        return c.call();
      } catch (Exception e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }
    if (closed) {
      throw new IllegalStateException("the peer service is closed");
    }
    try {
      return loop.submit(c).get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the network thread", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("the network thread did not answer within 10 s", e);
    }
  }

  /** Wakes the core at its deadline: whatever is due runs, then the next wake-up is set. */
  private void tick() {
    wake = null;
    wakeAt = Long.MAX_VALUE;
    if (closed) {
      return;
    }
    try {
      long now = now();
      apply(core.tick(now));
      if (now >= nextSeedRetry && overlay.activeView().isEmpty()) {
        dialSeeds(now);
      }
    } catch (RuntimeException e) {
      // A failing step must not stop the wake-ups; log and carry on.
      LOG.error("node core tick failed", e);
      reschedule();
    }
  }

  /** Sets the one wake-up at the core's next deadline, if it moved earlier or none is set. */
  private void reschedule() {
    if (closed || core == null || wakeAt == Long.MIN_VALUE) {
      return;
    }
    long at = core.nextDeadline();
    if (!unresolvedSeeds.isEmpty() && overlay.activeView().isEmpty()) {
      at = Math.min(at, nextSeedRetry);
    }
    if (at >= wakeAt) {
      return;
    }
    if (wake != null) {
      wake.cancel(false);
    }
    wakeAt = at;
    wake = loop.schedule(this::tick, Math.max(0, at - now()), TimeUnit.MILLISECONDS);
  }

  /** Dials the seeds whose node ID is not known yet (once known, the core retries them). */
  private void dialSeeds(long now) {
    nextSeedRetry = now + config.joinRetryMillis();
    for (InetSocketAddress s : unresolvedSeeds) {
      if (dialingSeeds.add(s)) {
        transport.dial(s, null);
      }
    }
  }

  /** Carries out the node core's effects: the one place where that is done. Runs on the loop. */
  private void apply(List<NodeEffect> effects) {
    for (NodeEffect e : effects) {
      if (e instanceof NodeEffect.Send s) {
        if (s.address() != null && !s.to().equals(keys.nodeId())) {
          addresses.putIfAbsent(s.to(), s.address());
        }
        UnaryOperator<Envelope> tamper = outboundTamper;
        send(s.to(), tamper == null ? s.envelope() : tamper.apply(s.envelope()));
      } else if (e instanceof NodeEffect.Connect c) {
        // A Connect may carry a third party's word for the address (a walk's joiner, a probe
        // target): it never replaces an address this node already has.
        addresses.putIfAbsent(c.address().id(), c.address());
        unwanted.remove(c.address().id());
        if (!links.containsKey(c.address().id())) {
          dial(c.address().id());
        }
      } else if (e instanceof NodeEffect.Disconnect d) {
        PeerLink l = links.remove(d.peer());
        pending.remove(d.peer());
        if (l != null) {
          l.close();
        } else if (dialing.contains(d.peer())) {
          unwanted.add(d.peer());
        }
      } else if (e instanceof NodeEffect.OverlayReport r) {
        report(r.event());
      } else if (e instanceof NodeEffect.ReplicaReport r) {
        listen(replicaEvents, r.event());
      } else if (e instanceof NodeEffect.ReplicaStatusUpdated u) {
        listen(replicaStatus, u.status());
      } else if (e instanceof NodeEffect.Penalized p) {
        LOG.warn("peer {} penalized: {}", p.peer().shortString(), p.reason());
      } else if (e instanceof NodeEffect.SearchCompleted c) {
        CompletableFuture<NetworkSearch.Outcome> f = searches.remove(c.requestId());
        if (f != null) {
          f.complete(c.outcome());
        }
      } else if (e instanceof NodeEffect.SearchLocally l) {
        offLoop(() -> {
          List<NetworkSearchHit> hits = work.searchLocally(l.request());
          return (c, now) -> c.onLocalResult(now, l.requestId(), hits);
        });
      } else if (e instanceof NodeEffect.CheckHits c) {
        offLoop(() -> {
          CheckedHits checked = work.checkHits(c.from(), c.response());
          return (core, now) -> core.onCheckedResponse(now, c.from(), checked.clean(),
              checked.rejections());
        });
      } else if (e instanceof NodeEffect.IngestShared i) {
        offLoop(() -> {
          Optional<String> bad = work.ingestShared(i.origin(), i.topic(), i.payload());
          return bad.<BiFunction<NodeCore, Long, List<NodeEffect>>>map(
              why -> (core, now) -> core.onSharedRejected(now, i.origin(), why)).orElse(null);
        });
      }
    }
    reschedule();
  }

  private static <T> void listen(Consumer<T> listener, T value) {
    try {
      listener.accept(value);
    } catch (RuntimeException e) {
      LOG.error("listener failed on {}", value, e);
    }
  }

  /**
   * Runs a step on the worker pool; the input it returns (if any) goes back into the core on
   * the loop. Shed when the pool's queue is full.
   */
  private void offLoop(Callable<BiFunction<NodeCore, Long, List<NodeEffect>>> step) {
    try {
      workers.execute(() -> {
        BiFunction<NodeCore, Long, List<NodeEffect>> input;
        try {
          input = step.call();
        } catch (Exception e) {
          LOG.warn("node work failed: {}", e.toString());
          return;
        }
        if (input != null && !closed) {
          try {
            run(() -> apply(input.apply(core, now())));
          } catch (RuntimeException e) {
            // Closed meanwhile (the loop refuses work): the result has nowhere to go.
          }
        }
      });
    } catch (RuntimeException e) {
      workShed.incrementAndGet();
    }
  }

  private void send(NodeId to, Envelope env) {
    if (partitioned.contains(to)) {
      sendsDropped.incrementAndGet();
      return;
    }
    PeerLink l = links.get(to);
    if (l != null && l.isOpen()) {
      if (!l.send(env)) {
        sendsDropped.incrementAndGet();
      }
      return;
    }
    ArrayDeque<Envelope> q = pending.computeIfAbsent(to, k -> new ArrayDeque<>());
    if (q.size() >= PENDING_PER_PEER) {
      sendsDropped.incrementAndGet();
      return;
    }
    q.add(env);
    unwanted.remove(to);
    dial(to);
  }

  private void dial(NodeId id) {
    if (partitioned.contains(id) && !links.containsKey(id)) {
      // Across a real partition the dial fails, and the overlay learns that the peer it just
      // took into its active view is unreachable. A dial that went quietly nowhere would leave
      // the peer active for as long as a third node vouches for it to the failure detector.
      // Reported on a later turn of the loop, as the transport reports a refused connect.
      try {
        loop.execute(() -> {
          if (!closed) {
            listener.onDialFailed(null, id, "partitioned by fault injection");
          }
        });
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // The service is stopping.
      }
      return;
    }
    if (links.containsKey(id) || dialing.contains(id)) {
      return;
    }
    PeerAddress a = addresses.get(id);
    if (a == null) {
      a = overlay.views().passive().get(id);
    }
    if (a == null) {
      ArrayDeque<Envelope> dropped = pending.remove(id);
      sendsDropped.addAndGet(dropped == null ? 0 : dropped.size());
      LOG.debug("no address for {}, cannot dial", id.shortString());
      return;
    }
    dialing.add(id);
    if (a.isIpLiteral()) {
      transport.dial(new InetSocketAddress(a.host(), a.port()), id);
      return;
    }
    PeerAddress named = a;
    try {
      resolver.execute(() -> {
        InetSocketAddress resolved = new InetSocketAddress(named.host(), named.port());
        try {
          loop.execute(() -> {
            if (closed) {
              return;
            }
            if (resolved.isUnresolved()) {
              listener.onDialFailed(resolved, id, "cannot resolve " + named.host());
            } else {
              transport.dial(resolved, id);
            }
          });
        } catch (java.util.concurrent.RejectedExecutionException e) {
          // The service is stopping.
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      dialing.remove(id);
    }
  }

  private void report(OverlayEvent ev) {
    if (ev instanceof OverlayEvent.PeerUp up) {
      peerUps.incrementAndGet();
      LOG.info("peer up {}", up.peer().shortString());
    } else if (ev instanceof OverlayEvent.PeerDown down) {
      peerDowns.incrementAndGet();
      LOG.info("peer down {}", down.peer().shortString());
    } else if (ev instanceof OverlayEvent.Suspected s) {
      suspicions.incrementAndGet();
      LOG.debug("suspect {} (incarnation {})", s.peer().shortString(), s.incarnation());
    } else if (ev instanceof OverlayEvent.Refuted r) {
      refutations.incrementAndGet();
      LOG.debug("{} refuted a suspicion", r.peer().shortString());
    } else if (ev instanceof OverlayEvent.Dead d) {
      deaths.incrementAndGet();
      // The core keeps what it needs for reconnects and sends Connect with the address.
      addresses.remove(d.peer());
      LOG.info("peer dead {}", d.peer().shortString());
    } else if (ev instanceof OverlayEvent.Left l) {
      lefts.incrementAndGet();
      addresses.remove(l.peer());
      LOG.info("peer left {}", l.peer().shortString());
    } else if (ev instanceof OverlayEvent.SelfRefuted s) {
      LOG.info("refuted a suspicion about this node (incarnation {})", s.incarnation());
    } else if (ev instanceof OverlayEvent.Banned b) {
      bans.incrementAndGet();
      addresses.remove(b.peer());
      PeerLink bannedLink = links.get(b.peer());
      if (bannedLink != null) {
        // Identities are free: without this the same host is back under a new one at once.
        transport.banAddress(bannedLink.remoteAddress());
      }
      String reason = LogSafe.of(b.reason());
      LOG.info("peer banned {} for {} ms: {}", b.peer().shortString(),
          b.untilMillis() - now(), reason);
      AuditLog.peerBanned(b.peer().toString(), b.untilMillis() - now(), reason);
    } else if (ev instanceof OverlayEvent.BroadcastDropped) {
      broadcastsDropped.incrementAndGet();
    } else if (ev instanceof OverlayEvent.Delivered d) {
      delivered.incrementAndGet();
      List<Consumer<byte[]>> cs = subscribers.get(d.topic());
      if (cs != null) {
        byte[] payload = d.payload().toByteArray();
        for (Consumer<byte[]> c : cs) {
          try {
            c.accept(payload.clone());
          } catch (RuntimeException e) {
            LOG.warn("subscriber of {} failed: {}", LogSafe.of(d.topic()), LogSafe.of(e));
          }
        }
      }
    }
  }

  /** Bytes of inbound envelopes waiting for the driver above which links stop being read. */
  static final long INBOUND_HIGH_BYTES = 32L << 20;

  /** Bytes of inbound envelopes waiting below which paused links are read again. */
  static final long INBOUND_LOW_BYTES = 8L << 20;

  private final AtomicLong inboundBytes = new AtomicLong();
  private final Set<PeerLink> pausedLinks = ConcurrentHashMap.newKeySet();

  /**
   * Hands every transport callback from the I/O thread to the driver's loop, so that work in
   * the core (replication's store writes and signature checks) never holds up sockets and TLS
   * handshakes. Bounded: while more than {@link #INBOUND_HIGH_BYTES} of envelopes wait for the
   * driver, links that deliver more stop being read (TCP then pushes back on the peers) until
   * the driver is below {@link #INBOUND_LOW_BYTES}.
   */
  private final class ToLoop implements PeerTransport.Listener {
    private final Links inner;

    ToLoop(Links inner) {
      this.inner = inner;
    }

    private void hop(Runnable r) {
      try {
        loop.execute(r);
      } catch (RuntimeException e) {
        // Stopping: the driver takes nothing more.
      }
    }

    @Override
    public void onReady(PeerLink link) {
      hop(() -> inner.onReady(link));
    }

    @Override
    public void onEnvelope(PeerLink link, Envelope envelope) {
      long size = envelope.getSerializedSize();
      if (inboundBytes.addAndGet(size) >= INBOUND_HIGH_BYTES && pausedLinks.add(link)) {
        link.reading(false);
        if (inboundBytes.get() <= INBOUND_LOW_BYTES) {
          resumeReading();
        }
      }
      // A peer's rate is judged by when its messages came, not by when the loop got to them:
      // after the loop falls behind, a backlog of honest messages must not read as a flood.
      long arrived = now();
      hop(() -> {
        try {
          inner.onEnvelope(link, envelope, arrived);
        } finally {
          if (inboundBytes.addAndGet(-size) <= INBOUND_LOW_BYTES && !pausedLinks.isEmpty()) {
            resumeReading();
          }
        }
      });
    }

    private void resumeReading() {
      for (PeerLink l : List.copyOf(pausedLinks)) {
        if (pausedLinks.remove(l)) {
          l.reading(true);
        }
      }
    }

    @Override
    public void onMalformed(NodeId peer, String why) {
      hop(() -> inner.onMalformed(peer, why));
    }

    @Override
    public void onClosed(PeerLink link) {
      pausedLinks.remove(link);
      hop(() -> inner.onClosed(link));
    }

    @Override
    public void onDialFailed(InetSocketAddress address, NodeId expected, String why) {
      hop(() -> inner.onDialFailed(address, expected, why));
    }
  }

  /** Transport callbacks; all arrive on the driver's loop (through {@link ToLoop}). */
  private final class Links implements PeerTransport.Listener {
    @Override
    public void onReady(PeerLink link) {
      if (overlay == null || closed) {
        link.abort();
        return;
      }
      long now = now();
      NodeId peer = link.peer();
      if (link.dialed() != null) {
        dialingSeeds.remove(link.dialed());
      }
      if (overlay.scores().isBanned(now, peer)) {
        bannedRefused.incrementAndGet();
        dialing.remove(peer);
        LOG.debug("refusing link from banned peer {}", peer.shortString());
        link.abort();
        return;
      }
      if (partitioned.contains(peer)) {
        dialing.remove(peer);
        link.abort();
        return;
      }
      if (link.outbound() && unwanted.remove(peer) && !pending.containsKey(peer)) {
        dialing.remove(peer);
        link.close();
        return;
      }
      boolean seedResolved = link.dialed() != null && unresolvedSeeds.remove(link.dialed());
      PeerLink existing = links.get(peer);
      if (existing != null && existing != link && existing.isOpen()) {
        NodeId newInitiator = link.outbound() ? keys.nodeId() : peer;
        NodeId oldInitiator = existing.outbound() ? keys.nodeId() : peer;
        boolean keepNew = newInitiator.equals(oldInitiator)
            || newInitiator.compareTo(oldInitiator) < 0;
        if (!keepNew) {
          if (link.outbound()) {
            dialing.remove(peer);
          }
          link.close();
          if (seedResolved) {
            joinThrough(now, link);
          }
          return;
        }
        existing.close();
      }
      links.put(peer, link);
      if (link.outbound()) {
        dialing.remove(peer);
      }
      addresses.putIfAbsent(peer, link.advertised());
      ArrayDeque<Envelope> q = pending.remove(peer);
      if (q != null) {
        for (Envelope env : q) {
          if (!link.send(env)) {
            sendsDropped.incrementAndGet();
          }
        }
      }
      if (seedResolved) {
        joinThrough(now, link);
      }
    }

    private void joinThrough(long now, PeerLink seedLink) {
      LOG.info("seed {} is {}", seedLink.dialed(), seedLink.peer().shortString());
      addresses.put(seedLink.peer(), seedLink.advertised());
      apply(core.join(now, List.of(seedLink.advertised())));
    }

    @Override
    public void onEnvelope(PeerLink link, Envelope envelope) {
      onEnvelope(link, envelope, now());
    }

    /** An envelope that came off the link at {@code arrived}, now on the loop. */
    void onEnvelope(PeerLink link, Envelope envelope, long arrived) {
      if (overlay == null || closed) {
        return;
      }
      // Injected loss acts here, on envelopes of links already authenticated, never on the
      // Hello (which the transport handles before onReady): a lost Hello would only make the
      // link fail to form, a dead peer rather than a lossy one.
      if (partitioned.contains(link.peer())) {
        // Sent before the partition and still queued for the loop when it was put in place:
        // across a real partition it would never have arrived.
        return;
      }
      if (lossRandom != null && lossRandom.nextDouble() < lossRate) {
        lossDropped.incrementAndGet();
        return;
      }
      apply(core.onMessage(now(), arrived, link.peer(), envelope));
    }

    @Override
    public void onMalformed(NodeId peer, String why) {
      malformed.incrementAndGet();
      if (overlay == null || closed) {
        return;
      }
      apply(core.onMalformed(now(), peer, why));
    }

    @Override
    public void onClosed(PeerLink link) {
      NodeId peer = link.peer();
      if (links.get(peer) != link) {
        return;
      }
      links.remove(peer);
      if (!link.closeRequested() && overlay != null && !closed) {
        apply(core.onLinkLost(now(), peer));
      }
    }

    @Override
    public void onDialFailed(InetSocketAddress address, NodeId expected, String why) {
      dialFailures.incrementAndGet();
      if (expected == null) {
        dialingSeeds.remove(address);
        LOG.debug("seed {} unreachable: {}", address, why);
        return;
      }
      dialing.remove(expected);
      unwanted.remove(expected);
      ArrayDeque<Envelope> dropped = pending.remove(expected);
      sendsDropped.addAndGet(dropped == null ? 0 : dropped.size());
      LOG.debug("dial {} at {} failed: {}", expected.shortString(), address, why);
      if (overlay != null && !closed && !links.containsKey(expected)) {
        apply(core.onLinkLost(now(), expected));
      }
    }
  }
}
