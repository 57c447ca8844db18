package dev.mycelium.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.StoreStats;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.node.http.ApiBackend;
import dev.mycelium.node.http.ApiKey;
import dev.mycelium.node.http.ApiRoutes;
import dev.mycelium.node.http.ApiServer;
import dev.mycelium.node.identity.DataDirPermissions;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.node.peer.FaultControl;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.node.replica.AeadReplicaSealer;
import dev.mycelium.node.replica.RepairControl;
import dev.mycelium.node.replica.RepairLedger;
import dev.mycelium.node.replica.ReplicaService;
import dev.mycelium.node.replica.StoreHeldReplicas;
import dev.mycelium.node.search.NetworkSearcher;
import dev.mycelium.node.search.SharedKnowledge;
import dev.mycelium.node.search.SharedKnowledgeAndSearch;
import dev.mycelium.overlay.replica.StoreOwnFragments;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.Scrubber;
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.storage.replica.OwnerManifests;
import dev.mycelium.storage.replica.ReplicaStore;
import dev.mycelium.wire.NodeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Mycelium node: identity, fragment store, vector index, embedder, scrubber, the
 * peer overlay and the HTTP API, started in that order and stopped in reverse. It is the one place that owns
 * threads: request workers, a scheduler for periodic work (scrubbing, fill checks), and two
 * background threads that keep the index in step with the store, so that writes never wait for
 * the embedder or the index.
 *
 * <p>Background scrubbing uses the storage module's {@link Scrubber}, stepped when it next has
 * work ({@code storage.scrub-interval} paces its passes).
 *
 * <p>The API listens before the store is open, so that {@code /health} and {@code /ready}
 * (saying "store opening") answer during a long recovery; fragment requests get 503 meanwhile.
 */
public final class Node implements AutoCloseable, ApiBackend {
  private static final Logger LOG = LoggerFactory.getLogger(Node.class);
  /** The scrubber's warning about BLANK fragments comes at most this often. */
  private static final long SCRUB_WARN_INTERVAL_NANOS = 60_000_000_000L;
  /** Scrub steps come no closer than this, however much work the scrubbers have. */
  private static final long MIN_SCRUB_SPACING_NANOS = 100_000_000L;
  /**
   * The first scrub pass waits this long after start (or one pass interval, if shorter): the
   * node's first seconds go to loading its index and meeting its peers, and a scrub pass that
   * began at once spent a core's tenth on signature checks then. Reads check the content of
   * every fragment they return meanwhile.
   */
  private static final long FIRST_SCRUB_DELAY_NANOS = 60_000_000_000L;

  /** File in the data directory that tells clients where the API listens. */
  public static final String API_FILE = "api.json";

  private static final String VERSION =
      Node.class.getPackage().getImplementationVersion() == null
          ? "0.1.0-SNAPSHOT"
          : Node.class.getPackage().getImplementationVersion();

  private final NodeConfig config;
  private final NodeBackends backends;
  private final Identity identity;
  private final ApiKey apiKey;
  private final NodeMetrics metrics;
  private final long startedNanos = System.nanoTime();
  private final ExecutorService workers;
  private final ScheduledExecutorService scheduler;
  private final ApiServer apiServer = new ApiServer();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean nearlyFullLogged = new AtomicBoolean();
  private final List<Thread> backgroundThreads = new ArrayList<>();
  private volatile boolean storeOpening = true;
  private volatile boolean stopping;
  // Set once every part of the node has started and every door it opens (API, peer port,
  // searches) is open: ready means that.
  private volatile boolean opened;
  private volatile FragmentService service;
  private volatile FragmentStore store;
  private volatile VectorIndex index;
  private volatile Scrubber scrubber;
  private volatile ReplicaStore replicaStore;
  private volatile Scrubber replicaScrubber;
  private volatile NodePeers peers;
  private volatile ReplicaService replication;
  private final RepairLedger ledger = new RepairLedger();
  private volatile SharedKnowledgeAndSearch sharedAndSearch;
  private long lastScrubFailures;
  private long lastScrubWarnNanos;
  private InetSocketAddress apiAddress;

  private Node(NodeConfig config, NodeBackends backends) {
    this.config = config;
    this.backends = backends;
    Path dataDir = config.node().dataDir();
    DataDirPermissions.secure(dataDir, LOG);
    this.identity = Identity.loadOrCreate(dataDir);
    this.apiKey = ApiKey.loadOrCreate(dataDir);
    this.metrics = new NodeMetrics(this::metricSources);
    // A bounded queue: beyond it a request is answered 503 at once instead of waiting unseen.
    this.workers =
        new ThreadPoolExecutor(config.api().workerThreads(), config.api().workerThreads(), 0L,
            TimeUnit.MILLISECONDS, config.api().maxQueuedRequests() == 0
                ? new SynchronousQueue<>()
                : new ArrayBlockingQueue<>(config.api().maxQueuedRequests()),
            threads("mycelium-api-"));
    this.scheduler = Executors.newSingleThreadScheduledExecutor(threads("mycelium-sched-"));
  }

  /**
   * Starts a node: opens or creates everything in the data directory and starts the API.
   *
   * @throws ConfigException when the embedder does not fit the configured dimension
   * @throws UncheckedIOException when the data directory cannot be used
   */
  public static Node start(NodeConfig config, NodeBackends backends) {
    // Before anything is made on disk: a refused start leaves no trace.
    ApiServer.checkExposure(config.api());
    Node node = new Node(config, backends);
    try {
      node.open();
      return node;
    } catch (RuntimeException | Error e) {
      node.close();
      throw e;
    }
  }

  private void open() {
    Path dataDir = config.node().dataDir();
    LOG.info("starting node {} with data in {}", identity.nodeId(), dataDir);
    apiAddress =
        apiServer.start(
            config.api(),
            new ApiRoutes(this, apiKey, config.storage().dimension(),
                config.api().metricsNeedKey()),
            workers,
            metrics);
    Embedder embedder = backends.embedder(config);
    if (embedder.dimension() != config.storage().dimension()) {
      throw new ConfigException(
          "mycelium.storage.dimension",
          config.storage().dimension() + " does not match the " + config.embedder().name()
              + " embedder, which makes " + embedder.dimension() + " dimensions");
    }
    FragmentCodec codec = new FragmentCodec(config.storage().limits());
    LOG.info("opening fragment store (capacity {} entries)", config.storage().capacityEntries());
    store = backends.openStore(config, codec);
    storeOpening = false;
    LOG.info("fragment store open: {}", store.stats());
    replicaStore = backends.openReplicaStore(config, codec);
    index = backends.openIndex(config);
    LOG.info("vector index open: {} vectors", index.size());
    service =
        new FragmentService(
            identity,
            codec,
            store,
            index,
            embedder,
            config.index().searchOverfetch(),
            config.embedder().queueCapacity(),
            metrics,
            System::currentTimeMillis);
    service.setSubstitutesPerHit(config.search().substitutes());
    service.setEmbedThreads(config.embedder().threads());
    int rate = config.storage().scrubRatePerSecond();
    long pass = config.storage().scrubInterval().toNanos();
    // A step does up to 200 ms of checks at the rate, so a large store is walked in a few
    // steps a second; between passes the scrubbers sleep until the next is due.
    scrubber = new Scrubber(store, rate, Math.max(1, rate / 5), pass);
    replicaScrubber = new Scrubber(replicaStore, rate, Math.max(1, rate / 5), pass);
    startThread("mycelium-embedder", service::embedLoop);
    startThread(
        "mycelium-index-loader",
        () -> {
          try {
            service.reconcileIndex();
          } catch (InterruptedException e) {
            LOG.info("index rebuild stopped before it finished; it runs again at next start");
          } catch (RuntimeException e) {
            LOG.error("index rebuild failed; searches may miss fragments until restart", e);
          }
        });
    scheduler.schedule(this::scrubThenSleep,
        Math.min(FIRST_SCRUB_DELAY_NANOS, config.storage().scrubInterval().toNanos()),
        TimeUnit.NANOSECONDS);
    scheduler.scheduleWithFixedDelay(guarded("fill check", this::checkFill), 0, 1,
        TimeUnit.SECONDS);
    scheduler.scheduleWithFixedDelay(guarded("expiry sweep", () -> service.sweepExpired(1000)),
        5, 5, TimeUnit.SECONDS);
    if (config.peer().enabled()) {
      peers = NodePeers.start(config.peer(), identity, dataDir);
      peers.registerMetrics(metrics.registry());
      if (config.debug().faultInjection()) {
        LOG.warn("fault injection is ON (mycelium.debug.fault-injection = true): anyone with the "
            + "API key can partition this node and drop its messages; test networks only");
        peers.registerFaultMetrics(metrics.registry());
      }
      replication = startReplication(codec, dataDir);
      peers.scheduleSaves(scheduler);
      sharedAndSearch = SharedKnowledgeAndSearch.start(config, service, peers.service(),
          metrics.registry());
    }
    RepairLedger.registerMetrics(metrics.registry(), () -> {
      ReplicaService r = replication;
      return r == null || stopping ? null : r.status();
    });
    writeApiFile();
    DataDirPermissions.tightenQuietly(dataDir, LOG);
    opened = true;
    LOG.info("node {} ready to serve on {}", identity.nodeId(), apiUrl());
  }

  /**
   * Starts replication over the peer service: the node's own fragments go to holders (private
   * ones sealed first), replicas of other owners are kept in the replica store, and reads,
   * puts, deletes and the scrubber's findings are wired to the replication core. A node that
   * starts with an empty store and no manifest of its own asks its neighbours for its
   * fragments.
   */
  private ReplicaService startReplication(FragmentCodec codec, Path dataDir) {
    OwnerManifests manifests;
    try {
      manifests = OwnerManifests.open(dataDir.resolve(OwnerManifests.DIR_NAME));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the manifests in " + dataDir, e);
    }
    NodeId self = identity.nodeId();
    boolean restore = store.stats().entries() == 0 && manifests.get(self).isEmpty();
    AeadReplicaSealer sealer = new AeadReplicaSealer(identity.keys(),
        dev.mycelium.storage.seal.ReplicaCipher.withSecureRandom());
    FragmentService s = service;
    FragmentStore st = store;
    ReplicaService r = ReplicaService.start(new ReplicaService.Parts(
        config.replication().core(), identity.keys(), peers.service(),
        new StoreOwnFragments(st, codec, self, sealer),
        new StoreHeldReplicas(replicaStore, manifests),
        st::stats, replicaStore::stats,
        id -> st.get(id).flatMap(StoredFragment::fragment).map(Fragment::signed),
        s::restored, s::forgotten, config.replication().tick(), restore), ledger);
    s.replication(r, config.replication().writeTimeout());
    s.readThrough(r, config.replication().readTimeout(), ledger);
    s.setCopyLocator(r::copyReachable);
    scrubber.onFailure(r::blank);
    replicaStore.onBlank(r::heldBlank);
    return r;
  }

  private void startThread(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    backgroundThreads.add(t);
    t.start();
  }

  private Runnable guarded(String what, Runnable r) {
    return () -> {
      try {
        r.run();
      } catch (RuntimeException e) {
        LOG.warn("{} step failed: {}", what, e.toString());
      }
    };
  }

  /**
   * Runs a scrub step, then sleeps until either scrubber next has work: an idle node wakes for
   * scrubbing a few times per {@code storage.scrub-interval}, not ten times a second.
   */
  private void scrubThenSleep() {
    guarded("scrubber", this::scrubStep).run();
    if (stopping) {
      return;
    }
    long next = Math.min(scrubber.nextStepNanos(), replicaScrubber.nextStepNanos());
    long delay = Math.max(MIN_SCRUB_SPACING_NANOS, next - System.nanoTime());
    try {
      scheduler.schedule(this::scrubThenSleep, delay, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // The node is stopping.
    }
  }

  private void scrubStep() {
    replicaScrubber.step(System.nanoTime());
    scrubber.step(System.nanoTime());
    long failures = scrubber.failures();
    long now = System.nanoTime();
    // A fragment stays BLANK, and is counted again by every pass, until its repair lands; a
    // warning at most a minute keeps a long repair from filling the log (a restoring node
    // wrote 7,000 of these lines in 45 minutes, one every step).
    if (failures > lastScrubFailures
        && (lastScrubWarnNanos == 0 || now - lastScrubWarnNanos >= SCRUB_WARN_INTERVAL_NANOS)) {
      LOG.warn("scrubber: {} checks found missing or corrupt bytes since the last report ({} "
          + "since start); those fragments are flagged BLANK until repaired",
          failures - lastScrubFailures, failures);
      lastScrubFailures = failures;
      lastScrubWarnNanos = now;
    }
  }

  private void checkFill() {
    StoreStats s = store.stats();
    if (s.fillRatio() >= config.storage().nearlyFullRatio()) {
      if (nearlyFullLogged.compareAndSet(false, true)) {
        LOG.warn("the store is nearly full: {} of {} entries ({}%); raise "
            + "storage.capacity-entries before writes are refused", s.entries(),
            s.capacityEntries(), Math.round(s.fillRatio() * 100));
      }
    } else {
      nearlyFullLogged.set(false);
    }
  }

  private void writeApiFile() {
    Path file = config.node().dataDir().resolve(API_FILE);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("url", apiUrl());
    body.put("pid", ProcessHandle.current().pid());
    body.put("node_id", identity.nodeId().toString());
    try {
      Path tmp = Files.createTempFile(file.getParent(), ".api.json.", ".tmp");
      Files.write(tmp, new ObjectMapper().writeValueAsBytes(body));
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Runs {@link #close()} when the JVM is asked to stop (SIGTERM, SIGINT). */
  public Thread installShutdownHook() {
    Thread hook = new Thread(this::close, "mycelium-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    return hook;
  }

  /**
   * Stops the node: no new connections, running requests drain (up to
   * {@code node.shutdown-grace}), background work stops, then the index and the store are
   * closed (which writes the store's clean marker) and {@code api.json} is removed. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    stopping = true;
    LOG.info("stopping node {}", identity.nodeId());
    apiServer.stopAccepting();
    LOG.info("stopped accepting API connections");
    Duration grace = config.node().shutdownGrace();
    workers.shutdown();
    try {
      if (!workers.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("requests still running after {}; stopping them", grace);
        workers.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      workers.shutdownNow();
    }
    LOG.info("API requests drained");
    apiServer.close();
    scheduler.shutdownNow();
    for (Thread t : backgroundThreads) {
      t.interrupt();
    }
    for (Thread t : backgroundThreads) {
      try {
        t.join(grace.toMillis() + 1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      scheduler.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    LOG.info("background work stopped");
    if (replication != null) {
      closeQuietly("replication", replication);
    }
    if (sharedAndSearch != null) {
      closeQuietly("shared knowledge and network search", sharedAndSearch);
    }
    if (peers != null) {
      closeQuietly("peer service", peers);
    }
    if (index != null) {
      closeQuietly("vector index", index);
    }
    if (replicaStore != null) {
      closeQuietly("replica store", replicaStore);
    }
    if (store != null) {
      closeQuietly("fragment store", store);
    }
    try {
      Files.deleteIfExists(config.node().dataDir().resolve(API_FILE));
    } catch (IOException e) {
      LOG.warn("could not remove {}: {}", API_FILE, e.toString());
    }
    // What the store and index wrote on the way out, so the next start warns only about
    // changes made while the node was down.
    DataDirPermissions.tightenQuietly(config.node().dataDir(), LOG);
    LOG.info("node {} stopped", identity.nodeId());
  }

  private static void closeQuietly(String what, AutoCloseable c) {
    try {
      c.close();
      LOG.info("{} closed", what);
    } catch (Exception e) {
      LOG.error("closing the {} failed", what, e);
    }
  }

  // ---- what other parts of the node and the CLI use ----

  /** The node's ID. */
  public NodeId nodeId() {
    return identity.nodeId();
  }

  /** The node's identity. */
  public Identity identity() {
    return identity;
  }

  /** The effective configuration. */
  public NodeConfig config() {
    return config;
  }

  /** Where the API actually listens (the port is real even when 0 was asked for). */
  public InetSocketAddress apiAddress() {
    return apiAddress;
  }

  /** The API base URL, e.g. {@code http://127.0.0.1:7947}. */
  public String apiUrl() {
    String host = apiAddress.getAddress().isAnyLocalAddress()
        ? "127.0.0.1"
        : apiAddress.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return (config.api().tls() ? "https://" : "http://") + host + ":" + apiAddress.getPort();
  }

  /** The API key clients must present. */
  public ApiKey apiKey() {
    return apiKey;
  }

  /** The file that holds the API key. */
  public Path apiKeyFile() {
    return config.node().dataDir().resolve(ApiKey.FILE_NAME);
  }

  /** The replicas held for other owners, for tests in this package. */
  ReplicaStore replicaStore() {
    return replicaStore;
  }

  /** The open store, for tests in this package that damage it on purpose. */
  FragmentStore store() {
    return store;
  }

  @Override
  public FragmentService fragments() {
    FragmentService s = service;
    if (s == null || stopping) {
      throw new NotReadyException(stopping ? "the node is stopping" : "the store is opening; "
          + "retry shortly");
    }
    return s;
  }

  @Override
  public NodeMetrics metrics() {
    return metrics;
  }

  @Override
  public List<String> notReadyReasons() {
    List<String> reasons = new ArrayList<>();
    if (stopping) {
      reasons.add("node stopping");
    } else if (!opened) {
      // A peer or script that dials right after /ready says 200 must find the port open.
      reasons.add(config.peer().enabled() ? "node starting: the peer port is not listening yet"
          : "node starting");
    }
    if (storeOpening) {
      reasons.add("store opening");
      return reasons;
    }
    FragmentService s = service;
    if (s == null || !s.indexLoaded()) {
      reasons.add("index loading");
    }
    if (s != null) {
      s.embedderStopped().ifPresent(why -> reasons.add("embedder stopped (" + why + "): texts "
          + "are stored but not embedded; restart the node (MYCELIUM_JAVA_OPTS=-Xmx... if it "
          + "ran out of heap)"));
    }
    FragmentStore st = store;
    if (st != null && st.stats().fillRatio() >= config.storage().nearlyFullRatio()) {
      reasons.add("store nearly full: raise storage.capacity-entries");
    }
    if (st != null) {
      st.lowDisk().ifPresent(why -> reasons.add("disk nearly full: " + why));
    }
    ReplicaStore rs = replicaStore;
    if (rs != null) {
      rs.lowDisk().ifPresent(why -> reasons.add("disk nearly full: " + why));
    }
    return reasons;
  }

  @Override
  public Map<String, Object> status() {
    FragmentService s = fragments();
    StoreStats st = s.store().stats();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("node_id", identity.nodeId().toString());
    out.put("version", VERSION);
    out.put("uptime_seconds", (System.nanoTime() - startedNanos) / 1_000_000_000L);
    Map<String, Long> fragments = new LinkedHashMap<>();
    for (FragmentState state : FragmentState.values()) {
      fragments.put(state.name(), st.byState().getOrDefault(state, 0L));
    }
    out.put("fragments", fragments);
    Map<String, Object> indexMap = new LinkedHashMap<>();
    indexMap.put("size", s.index().size());
    indexMap.put("pending", s.index().pending());
    out.put("index", indexMap);
    Map<String, Object> memory = new LinkedHashMap<>();
    Runtime rt = Runtime.getRuntime();
    memory.put("heap_used_bytes", rt.totalMemory() - rt.freeMemory());
    memory.put("heap_max_bytes", rt.maxMemory());
    memory.put("model_bytes", s.embedderModelBytes());
    memory.put("index_bytes", s.indexMemoryBytes(config.storage().dimension(),
        config.index().maxDegree()));
    memory.put("resident_bytes", residentBytes());
    out.put("memory", memory);
    Map<String, Object> storeMap = new LinkedHashMap<>();
    storeMap.put("entries", st.entries());
    storeMap.put("capacity", st.capacityEntries());
    storeMap.put("fill_ratio", st.fillRatio());
    storeMap.put("disk_bytes", s.store().diskBytes());
    ReplicaStore rs = replicaStore;
    storeMap.put("replica_disk_bytes", rs == null ? 0 : rs.diskBytes());
    s.store().lowDisk().ifPresent(why -> storeMap.put("low_disk", why));
    out.put("store", storeMap);
    Map<String, Object> scrubMap = new LinkedHashMap<>();
    Scrubber sc = scrubber;
    scrubMap.put("checked", sc == null ? 0 : sc.checked());
    scrubMap.put("failures", sc == null ? 0 : sc.failures());
    scrubMap.put("passes", sc == null ? 0 : sc.passes());
    out.put("scrubber", scrubMap);
    out.put("api", apiUrl());
    NodePeers p = peers;
    if (p != null) {
      p.addStatus(out);
    }
    SharedKnowledgeAndSearch sn = sharedAndSearch;
    if (sn != null) {
      SharedKnowledge.Stats ss = sn.shared().stats();
      Map<String, Object> shared = new LinkedHashMap<>();
      shared.put("topics", sn.shared().topics());
      shared.put("published", ss.published());
      shared.put("received", ss.received());
      shared.put("stored", ss.stored());
      shared.put("rejected", ss.rejected());
      out.put("shared", shared);
    }
    return out;
  }

  @Override
  public List<Map<String, Object>> peers() {
    NodePeers p = peers;
    return p == null ? List.of() : p.peers();
  }

  @Override
  public Optional<RepairControl> repair() {
    return Optional.ofNullable(replication);
  }

  /** The replication service, when the peer service runs. */
  public Optional<ReplicaService> replication() {
    return Optional.ofNullable(replication);
  }

  @Override
  public Optional<NetworkSearcher> networkSearch() {
    SharedKnowledgeAndSearch n = sharedAndSearch;
    return n == null ? Optional.empty() : Optional.of(n.searcher());
  }

  /** Shared knowledge and network search, when the peer service runs. */
  public Optional<SharedKnowledgeAndSearch> sharedAndSearch() {
    return Optional.ofNullable(sharedAndSearch);
  }

  @Override
  public Map<String, Object> keyring() {
    NodePeers p = peers;
    return p == null ? ApiBackend.super.keyring() : p.keyring();
  }

  @Override
  public Map<String, Object> changeKeyring(String action, byte[] key) {
    NodePeers p = peers;
    return p == null ? ApiBackend.super.keyring() : p.changeKeyring(action, key);
  }

  @Override
  public boolean faultInjectionEnabled() {
    return config.debug().faultInjection();
  }

  @Override
  public Optional<FaultControl> faults() {
    NodePeers p = peers;
    return p == null || !faultInjectionEnabled() ? Optional.empty()
        : Optional.of(p.service().faultControl());
  }

  /** The peer service, when {@code mycelium.peer.enabled} and the node has started it. */
  public Optional<PeerService> peerService() {
    NodePeers p = peers;
    return p == null ? Optional.empty() : Optional.of(p.service());
  }

  private NodeMetrics.Sources metricSources() {
    FragmentService s = service;
    Scrubber sc = scrubber;
    if (s == null || sc == null) {
      return null;
    }
    return new NodeMetrics.Sources() {
      @Override
      public long scrubberChecked() {
        return sc.checked();
      }

      @Override
      public long scrubberFailures() {
        return sc.failures();
      }

      @Override
      public StoreStats storeStats() {
        return s.store().stats();
      }

      @Override
      public long indexSize() {
        return s.index().size();
      }

      @Override
      public long indexPending() {
        return s.index().pending();
      }

      @Override
      public long embedQueue() {
        return s.embedQueueSize();
      }

      @Override
      public long storeDiskBytes() {
        return s.store().diskBytes();
      }

      @Override
      public long replicaDiskBytes() {
        ReplicaStore rs = replicaStore;
        return rs == null ? 0 : rs.diskBytes();
      }

      @Override
      public long modelBytes() {
        return s.embedderModelBytes();
      }

      @Override
      public long indexMemoryBytes() {
        return s.indexMemoryBytes(config.storage().dimension(), config.index().maxDegree());
      }

      @Override
      public long freeDiskBytes() {
        return s.store().freeDiskBytes();
      }
    };
  }

  /** The process's resident set (VmRSS) where /proc has it, else -1. */
  private static long residentBytes() {
    try {
      for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // Not Linux: no figure.
    }
    return -1;
  }

  private static ThreadFactory threads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
