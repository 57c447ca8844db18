package dev.mycelium.node.peer;

import dev.mycelium.node.audit.AuditLog;
import com.google.protobuf.ByteString;
import dev.mycelium.overlay.Effect;
import dev.mycelium.overlay.FailureDetector;
import dev.mycelium.overlay.MemberState;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.OverlayNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.storage.OwnerKeys;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
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
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's place in the gossip overlay: one {@link OverlayNode} driven over real
 * {@link PeerTransport} links.
 *
 * <p>Why one event loop: the overlay cores are single-threaded state machines that never read
 * a clock. This service owns a one-thread Netty event loop on which every channel lives, the
 * tick is scheduled and every call into the core is made, so the core needs no locks; the
 * clock ({@code System.currentTimeMillis()}) is read here and passed in. Public methods may be
 * called from any thread; they hop onto the loop.
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
      long malformed, PeerTransport.Stats transport) {}

  private final OwnerKeys keys;
  private final OverlayConfig config;
  private final EventLoopGroup group;
  private final EventLoop loop;
  private final PeerTransport transport;
  private final List<InetSocketAddress> seeds;
  private final Optional<NetworkKeyring> keyring;
  private final long randomSeed;
  private OverlayNode overlay;
  private ScheduledFuture<?> ticker;
  private volatile boolean closed;
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
  private final List<Application> applications = new CopyOnWriteArrayList<>();

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

  private PeerService(OwnerKeys keys, OverlayConfig config, List<InetSocketAddress> seeds,
      Optional<NetworkKeyring> keyring, PeerTransport.Limits limits, long randomSeed) {
    this.keys = keys;
    this.config = config;
    this.seeds = List.copyOf(seeds);
    this.keyring = keyring;
    this.randomSeed = randomSeed;
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    this.loop = group.next();
    // The advertised address is provisional until the listening port is known.
    this.transport = new PeerTransport(keys, new PeerAddress(keys.nodeId(), "0.0.0.0", 0),
        keyring, limits, group, listener);
  }

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
      apply(overlay.start(now));
      unresolvedSeeds.addAll(seeds);
      dialSeeds(now);
      ticker = loop.scheduleAtFixedRate(this::tick, config.tickMillis(), config.tickMillis(),
          TimeUnit.MILLISECONDS);
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
      apply(overlay.join(now(), copy));
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
    run(() -> apply(overlay.broadcast(now(), topic, bytes, priority)));
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
    run(() -> apply(overlay.broadcast(now(), topic, bytes, priority, ttl)));
  }

  /**
   * Receives every broadcast on a topic (including this node's own), once each. The consumer
   * runs on the network thread: it must be quick and hand slow work elsewhere.
   */
  public void subscribe(String topic, Consumer<byte[]> consumer) {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(consumer, "consumer");
    subscribers.computeIfAbsent(topic, t -> new CopyOnWriteArrayList<>()).add(consumer);
    run(() -> overlay.subscribe(topic));
  }

  /**
   * A core above the overlay (replication, network search) that exchanges its own messages
   * with peers over the overlay's links. Every method runs on the service's network thread: it
   * must be quick and hand slow work (disk, index) elsewhere.
   */
  public interface Application {
    /** A message numbered {@link OverlayNode#FIRST_APPLICATION_FIELD} or above, admitted. */
    void onEnvelope(NodeId from, Envelope envelope);

    /** Every overlay event (peers up, down, dead, left; deliveries; bans). */
    default void onEvent(OverlayEvent event) {}
  }

  /** Registers an application; messages that no application handles are dropped. */
  public void register(Application application) {
    applications.add(Objects.requireNonNull(application, "application"));
  }

  /**
   * Sends an application message to a peer, dialing it if needed. Sends to a peer that cannot
   * be reached are dropped and counted, as overlay sends are.
   */
  public void sendApplication(NodeId to, Envelope envelope) {
    Objects.requireNonNull(to, "to");
    if (!OverlayNode.isApplication(envelope)) {
      throw new IllegalArgumentException("only application messages (numbered "
          + OverlayNode.FIRST_APPLICATION_FIELD + " and up) may be sent from outside the overlay, "
          + "got " + envelope.getBodyCase());
    }
    run(() -> {
      if (!to.equals(keys.nodeId())) {
        send(to, envelope);
      }
    });
  }

  /**
   * Sends an application message to a peer that may not be a neighbour, at the address given
   * (a holder named in a manifest): the address is remembered so the peer can be dialed.
   */
  public void sendApplication(PeerAddress to, Envelope envelope) {
    Objects.requireNonNull(to, "to");
    run(() -> {
      if (!to.id().equals(keys.nodeId())) {
        addresses.putIfAbsent(to.id(), to);
      }
    });
    sendApplication(to.id(), envelope);
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
    run(() -> apply(overlay.setCapacity(now(), capacity)));
  }

  /** Lowers a peer's score for a bad application message (a forged replica). */
  public void penalize(NodeId peer, double points, String why) {
    run(() -> apply(overlay.penalize(now(), peer, points, why)));
  }

  /** The address a peer advertised, if this node knows it. */
  public Optional<PeerAddress> addressOf(NodeId peer) {
    return Optional.ofNullable(call(() -> {
      PeerAddress a = addresses.get(peer);
      return a != null ? a : overlay.views().passive().get(peer);
    }));
  }

  private void deliverToApplications(NodeId from, Envelope envelope) {
    for (Application a : applications) {
      try {
        a.onEnvelope(from, envelope);
      } catch (RuntimeException e) {
        LOG.error("application failed on {} from {}", envelope.getBodyCase(), from.shortString(), e);
      }
    }
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
    int[] views = call(() -> new int[] {overlay.activeView().size(),
        overlay.passiveView().size()});
    return new Stats(views[0], views[1], peerUps.get(), peerDowns.get(), suspicions.get(),
        deaths.get(), refutations.get(), lefts.get(), bans.get(), delivered.get(),
        broadcastsDropped.get(), sendsDropped.get(), dialFailures.get(), bannedRefused.get(),
        malformed.get(), transport.stats());
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
        apply(overlay.leave(now()));
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
    if (ticker != null) {
      ticker.cancel(false);
    }
  }

  private void shutdown(long quietMillis) {
    closed = true;
    resolver.shutdownNow();
    transport.close();
    group.shutdownGracefully(quietMillis, 3_000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    LOG.info("peer service of {} stopped", keys.nodeId().shortString());
  }

  // ---- fault injectors, for integration tests only ----

  /**
   * Fault injector for tests: holds this node's network thread for {@code pause}, as a long GC
   * pause or a SIGSTOP would. Nothing is read, ticked or sent meanwhile; the kernel buffers
   * what peers send. Returns once the pause has begun; the future completes when it ends.
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
          apply(overlay.onLinkLost(now, p));
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

  private void tick() {
    try {
      long now = now();
      apply(overlay.tick(now));
      if (now >= nextSeedRetry && overlay.activeView().isEmpty()) {
        dialSeeds(now);
      }
    } catch (RuntimeException e) {
      // A throwing periodic task would be cancelled for good; log and keep ticking.
      LOG.error("overlay tick failed", e);
    }
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

  private void apply(List<Effect> effects) {
    for (Effect e : effects) {
      if (e instanceof Effect.Send s) {
        send(s.to(), s.envelope());
      } else if (e instanceof Effect.Connect c) {
        // A Connect may carry a third party's word for the address (a walk's joiner, a probe
        // target): it never replaces an address this node already has.
        addresses.putIfAbsent(c.address().id(), c.address());
        unwanted.remove(c.address().id());
        if (!links.containsKey(c.address().id())) {
          dial(c.address().id());
        }
      } else if (e instanceof Effect.Disconnect d) {
        PeerLink l = links.remove(d.peer());
        pending.remove(d.peer());
        if (l != null) {
          l.close();
        } else if (dialing.contains(d.peer())) {
          unwanted.add(d.peer());
        }
      } else if (e instanceof Effect.Report r) {
        report(r.event());
      }
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
    if (links.containsKey(id) || dialing.contains(id) || partitioned.contains(id)) {
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
    for (Application a : applications) {
      try {
        a.onEvent(ev);
      } catch (RuntimeException e) {
        LOG.error("application failed on {}", LogSafe.of(ev), e);
      }
    }
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

  /** Transport callbacks; all arrive on the loop. */
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
      apply(overlay.join(now, List.of(seedLink.advertised())));
    }

    @Override
    public void onEnvelope(PeerLink link, Envelope envelope) {
      if (overlay == null || closed) {
        return;
      }
      // Injected loss acts here, on envelopes of links already authenticated, never on the
      // Hello (which the transport handles before onReady): a lost Hello would only make the
      // link fail to form, a dead peer rather than a lossy one.
      if (lossRandom != null && lossRandom.nextDouble() < lossRate) {
        lossDropped.incrementAndGet();
        return;
      }
      if (OverlayNode.isApplication(envelope)) {
        OverlayNode.Admission a = overlay.admit(now(), link.peer());
        apply(a.effects());
        if (a.accepted()) {
          deliverToApplications(link.peer(), envelope);
        }
        return;
      }
      apply(overlay.onMessage(now(), link.peer(), envelope));
    }

    @Override
    public void onMalformed(NodeId peer, String why) {
      malformed.incrementAndGet();
      if (overlay == null || closed) {
        return;
      }
      apply(overlay.onMalformed(now(), peer, why));
    }

    @Override
    public void onClosed(PeerLink link) {
      NodeId peer = link.peer();
      if (links.get(peer) != link) {
        return;
      }
      links.remove(peer);
      if (!link.closeRequested() && overlay != null && !closed) {
        apply(overlay.onLinkLost(now(), peer));
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
        apply(overlay.onLinkLost(now(), expected));
      }
    }
  }
}
