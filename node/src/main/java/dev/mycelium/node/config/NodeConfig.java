package dev.mycelium.node.config;

import com.typesafe.config.Config;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.node.peer.NetworkKeyring;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.replica.ReplicaConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The typed configuration of one node. Every key, its unit and its allowed range are read in
 * exactly one place, {@link #from(Config)}, so the rest of the node never sees a raw string or
 * an unchecked number, and a test can compare the keys read here with the keys documented in
 * {@code config/mycelium.conf}.
 *
 * @param node data directory and stop behaviour
 * @param api the client HTTP API
 * @param peer the peer listener and seeds
 * @param storage store sizing and fragment limits
 * @param index vector index tuning
 * @param embedder the built-in embedder
 * @param log log format and level
 * @param replication replicas on neighbours and their repair
 * @param search searches during loss and across the network
 * @param shared shared knowledge: what this node publishes and subscribes to
 * @param debug switches for test networks only
 */
public record NodeConfig(
    NodeSection node,
    Api api,
    Peer peer,
    Storage storage,
    Index index,
    Embedder embedder,
    Log log,
    Search search,
    Shared shared,
    Replication replication,
    Debug debug) {

  /**
   * Switches for test networks only, off by default.
   *
   * @param faultInjection whether {@code /v1/debug/faults} may cut this node off from peers
   *     and drop their messages (for the simulator's real mode); never on a real network
   */
  public record Debug(boolean faultInjection) {}

  /**
   * Searches during loss and across the network.
   *
   * @param substitutes surviving neighbours shown per hit whose fragment cannot be had
   * @param maxHops the most hops a network search travels (asked or forwarded)
   * @param networkTimeout the longest a network search waits for other nodes
   */
  public record Search(int substitutes, int maxHops, Duration networkTimeout) {}

  /**
   * Shared knowledge.
   *
   * @param topics topics whose shared fragments this node receives, stores and indexes
   * @param defaultTopic the topic of a shared fragment without a "topic" metadata entry
   * @param broadcastTtl hops a published shared fragment travels
   * @param priority broadcast priority of published shared fragments
   */
  public record Shared(List<String> topics, String defaultTopic, int broadcastTtl,
      int priority) {}

  /**
   * Where the node keeps its files, and how long a stop may take.
   *
   * @param dataDir directory for identity, keys, store and index (absolute)
   * @param shutdownGrace longest wait for in-flight work on stop
   */
  public record NodeSection(Path dataDir, Duration shutdownGrace) {}

  /**
   * The client HTTP API.
   *
   * @param host interface to listen on
   * @param port TCP port, 0 for any free one
   * @param maxBodyBytes largest accepted request body, bytes
   * @param workerThreads threads for request handlers
   * @param allowedHosts host names accepted in the {@code Host} header besides the loopback
   *     names and the address the API listens on
   * @param metricsNeedKey whether {@code /metrics} wants the API key
   * @param maxConnections open connections served at once; more are answered 503
   * @param maxQueuedRequests requests waiting for a worker; more are answered 503
   * @param requestTimeout longest time to receive one request, headers and body
   * @param idleTimeout how long a kept-alive connection may sit without a request
   * @param tlsCertFile PEM certificate chain of the API's TLS, when it has one
   * @param tlsKeyFile PEM (PKCS#8) private key of the API's TLS
   * @param allowInsecureRemote whether a non-loopback API may serve plain HTTP
   */
  public record Api(String host, int port, int maxBodyBytes, int workerThreads,
      List<String> allowedHosts, boolean metricsNeedKey, int maxConnections,
      int maxQueuedRequests, Duration requestTimeout, Duration idleTimeout,
      Optional<Path> tlsCertFile, Optional<Path> tlsKeyFile, boolean allowInsecureRemote) {
    /** Whether the API serves HTTPS. */
    public boolean tls() {
      return tlsCertFile.isPresent();
    }
  }

  /**
   * The peer overlay.
   *
   * @param enabled whether the node starts its peer service
   * @param listenHost interface peers connect to
   * @param advertiseHost what peers should dial; empty for the listen host
   * @param listenPort TCP port for peers, 0 for any free one
   * @param seeds "host:port" of peers to join through
   * @param networkKey the 32-byte shared network key, empty for an open network
   * @param profile overlay preset: "local", "lan", "wan" or "test"
   * @param saveInterval how often the known peers are written to {@code peers.json} while
   *     the node runs (so a node that crashed rejoins without seeds too)
   * @param maxConnectionsPerIp inbound peer links one remote IP address may hold open
   * @param lanDiscovery finding peers on the local network through JGroups
   * @param door what a peer may cost before it has proven anything
   */
  public record Peer(boolean enabled, String listenHost, String advertiseHost, int listenPort,
      List<String> seeds, Optional<byte[]> networkKey, String profile, Duration saveInterval,
      int maxConnectionsPerIp, LanDiscovery lanDiscovery, PeerDoor door) {

    /** The settings above with the defaults of the newer keys (for tests and tools). */
    public Peer(boolean enabled, String listenHost, String advertiseHost, int listenPort,
        List<String> seeds, Optional<byte[]> networkKey, String profile) {
      this(enabled, listenHost, advertiseHost, listenPort, seeds, networkKey, profile,
          Duration.ofSeconds(30), 32, LanDiscovery.OFF, PeerDoor.DEFAULTS);
    }

    /** The settings above with the default {@link PeerDoor} (for tests and tools). */
    public Peer(boolean enabled, String listenHost, String advertiseHost, int listenPort,
        List<String> seeds, Optional<byte[]> networkKey, String profile, Duration saveInterval,
        int maxConnectionsPerIp, LanDiscovery lanDiscovery) {
      this(enabled, listenHost, advertiseHost, listenPort, seeds, networkKey, profile,
          saveInterval, maxConnectionsPerIp, lanDiscovery, PeerDoor.DEFAULTS);
    }

    /** The overlay timings and sizes {@link #profile()} names. */
    public OverlayConfig overlay() {
      return switch (profile) {
        case "local" -> OverlayConfig.local();
        case "wan" -> OverlayConfig.wan();
        case "test" -> OverlayConfig.test();
        default -> OverlayConfig.lan();
      };
    }
  }

  /**
   * The limits of the peer port before and around the handshake.
   *
   * @param handshakeTimeout time a new link has to finish TLS, the key proof and its Hello
   * @param maxInbound inbound peer links at most
   * @param maxOutbound peer links this node dials at most (a separate budget, so an inbound
   *     flood cannot stop it dialing)
   * @param maxConnectionsPerSubnet inbound links one IPv4 /24 or IPv6 /64 may hold open
   * @param handshakesPerSecondPerIp inbound connections one address may start per second
   * @param handshakesPerSecondPerSubnet the same for one /24 or /64
   * @param exemptLoopback whether loopback addresses skip the address limits and bans
   */
  public record PeerDoor(Duration handshakeTimeout, int maxInbound, int maxOutbound,
      int maxConnectionsPerSubnet, int handshakesPerSecondPerIp,
      int handshakesPerSecondPerSubnet, boolean exemptLoopback) {
    /** The shipped defaults. */
    public static final PeerDoor DEFAULTS =
        new PeerDoor(Duration.ofSeconds(5), 256, 64, 64, 10, 40, true);
  }

  /**
   * LAN discovery through JGroups: nodes on one network segment find each other by UDP
   * multicast and then connect over the normal peer transport.
   *
   * @param enabled whether the node takes part in discovery
   * @param cluster JGroups cluster name; only nodes with the same name find each other
   * @param bindHost interface for discovery traffic; empty for {@code peer.listen-host}
   * @param multicastAddress IPv4 multicast group of the discovery traffic
   * @param multicastPort UDP port of the multicast group
   */
  public record LanDiscovery(boolean enabled, String cluster, String bindHost,
      String multicastAddress, int multicastPort) {
    /** Discovery switched off (the default). */
    public static final LanDiscovery OFF =
        new LanDiscovery(false, "mycelium", "", "228.8.8.8", 45588);
  }

  /**
   * Store sizing and fragment limits.
   *
   * @param capacityEntries fragments (and tombstones) the store is sized for
   * @param averageValueBytes expected bytes per stored fragment
   * @param maxTextBytes largest text, UTF-8 bytes
   * @param dimension vector dimension
   * @param maxMetadataEntries most metadata entries per fragment
   * @param maxMetadataBytes most metadata bytes per fragment
   * @param scrubRatePerSecond fragments checked per second in the background
   * @param scrubInterval least time from the start of one scrub pass to the start of the next
   * @param nearlyFullRatio fill ratio at which the node warns and turns not-ready
   * @param minFreeDiskMb disk space (MiB) the stores never take: below it new fragments and
   *     replicas are refused and the node is not ready
   */
  public record Storage(
      long capacityEntries,
      int averageValueBytes,
      int maxTextBytes,
      int dimension,
      int maxMetadataEntries,
      int maxMetadataBytes,
      int scrubRatePerSecond,
      Duration scrubInterval,
      double nearlyFullRatio,
      long minFreeDiskMb) {

    /** The fragment limits these settings imply, for the codec. */
    public FragmentLimits limits() {
      return new FragmentLimits(maxTextBytes, dimension, maxMetadataEntries, maxMetadataBytes);
    }
  }

  /**
   * Vector index tuning.
   *
   * @param maxDegree most graph neighbours per vector
   * @param beamWidth candidate list size while building
   * @param searchOverfetch candidates asked for per wanted hit
   */
  public record Index(int maxDegree, int beamWidth, int searchOverfetch) {}

  /**
   * The built-in embedder.
   *
   * @param name "minilm", "minilm-q" or "hash"
   * @param queueCapacity text-only fragments that may wait for embedding
   * @param threads threads that embed queued texts at once
   */
  public record Embedder(String name, int queueCapacity, int threads) {}

  /**
   * Logging.
   *
   * @param format "text" or "json"
   * @param level level of Mycelium's loggers
   */
  public record Log(String format, String level) {}

  /**
   * Replicas kept on neighbours, replicas held for them, and repair.
   *
   * @param factor holders per owner (R)
   * @param capacityEntries replicas (and their tombstones) this node holds for other owners
   * @param tick the shortest time between two replication ticks (it runs when its work is due)
   * @param antiEntropyInterval how often digests are compared with each partner
   * @param repairsPerTick fetches started per tick while the node is busy
   * @param idleRepairsPerTick fetches started per tick while the node is idle
   * @param streamPerTick replicas streamed to new holders per tick
   * @param maxAttempts failed fetches after which a fragment is LOST
   * @param backoffBase first retry delay after a failed fetch
   * @param backoffMax longest retry delay
   * @param lostRetry how often a LOST fragment is tried again
   * @param holderGrace how long a holder may be away before it is replaced
   * @param tombstoneRetention how long tombstones are kept
   * @param readTimeout how long a read of a BLANK fragment waits for one holder
   * @param writeTimeout how long a put with "replicas": w waits for holders
   */
  public record Replication(int factor, long capacityEntries, Duration tick,
      Duration antiEntropyInterval, int repairsPerTick, int idleRepairsPerTick,
      int streamPerTick, int maxAttempts, Duration backoffBase, Duration backoffMax,
      Duration lostRetry, Duration holderGrace, Duration tombstoneRetention,
      Duration readTimeout, Duration writeTimeout) {

    /** The replication core's settings; those not configurable keep the core's defaults. */
    public ReplicaConfig core() {
      ReplicaConfig d = ReplicaConfig.DEFAULTS;
      return new ReplicaConfig(factor, d.digestLeafBits(), antiEntropyInterval.toMillis(),
          repairsPerTick, idleRepairsPerTick, d.fetchBatch(), d.fetchTimeoutMillis(),
          backoffBase.toMillis(), backoffMax.toMillis(), maxAttempts, lostRetry.toMillis(),
          streamPerTick, holderGrace.toMillis(), tombstoneRetention.toMillis(),
          d.scrubPassMillis(), d.scrubStepMillis(), d.scrubBatch(),
          d.restoreBroadcastDelayMillis());
    }
  }

  /**
   * Reads and checks every key of a merged configuration.
   *
   * @throws ConfigException naming the first key that is missing, of the wrong type or out of
   *     range
   */
  public static NodeConfig from(Config config) {
    return from(new ConfigReader(config));
  }

  private static Optional<Path> optionalPath(ConfigReader r, String key) {
    return r.optionalString(key).isEmpty() ? Optional.empty() : Optional.of(r.path(key));
  }

  static NodeConfig from(ConfigReader r) {
    NodeSection node =
        new NodeSection(
            r.path("mycelium.node.data-dir"),
            r.durationIn(
                "mycelium.node.shutdown-grace", Duration.ZERO, Duration.ofMinutes(10)));
    Api api =
        new Api(
            r.string("mycelium.api.host"),
            r.intIn("mycelium.api.port", 0, 65535),
            r.intIn("mycelium.api.max-body-bytes", 1024, 256 * 1024 * 1024),
            r.intIn("mycelium.api.worker-threads", 1, 256),
            r.hostNames("mycelium.api.allowed-hosts"),
            r.bool("mycelium.api.metrics-need-key"),
            r.intIn("mycelium.api.max-connections", 1, 65535),
            r.intIn("mycelium.api.max-queued-requests", 0, 100_000),
            r.durationIn("mycelium.api.request-timeout", Duration.ofMillis(100),
                Duration.ofMinutes(10)),
            r.durationIn("mycelium.api.idle-timeout", Duration.ofMillis(100),
                Duration.ofHours(1)),
            optionalPath(r, "mycelium.api.tls.cert-file"),
            optionalPath(r, "mycelium.api.tls.key-file"),
            r.bool("mycelium.api.allow-insecure-remote"));
    if (api.tlsCertFile().isPresent() != api.tlsKeyFile().isPresent()) {
      throw new ConfigException(api.tlsCertFile().isPresent() ? "mycelium.api.tls.key-file"
          : "mycelium.api.tls.cert-file", "set both mycelium.api.tls.cert-file and "
          + "mycelium.api.tls.key-file (PEM files), or neither");
    }
    Peer peer =
        new Peer(
            r.bool("mycelium.peer.enabled"),
            r.string("mycelium.peer.listen-host"),
            r.optionalString("mycelium.peer.advertise-host"),
            r.intIn("mycelium.peer.listen-port", 0, 65535),
            r.hostPorts("mycelium.peer.seeds"),
            networkKey(r.optionalString("mycelium.peer.network-key")),
            r.oneOf("mycelium.peer.profile", false, "local", "lan", "wan", "test"),
            r.durationIn("mycelium.peer.save-interval", Duration.ofSeconds(1),
                Duration.ofHours(24)),
            r.intIn("mycelium.peer.max-connections-per-ip", 1, 65535),
            new LanDiscovery(
                r.bool("mycelium.peer.lan-discovery.enabled"),
                r.string("mycelium.peer.lan-discovery.cluster"),
                r.optionalString("mycelium.peer.lan-discovery.bind-host"),
                multicastGroup(r.string("mycelium.peer.lan-discovery.multicast-address")),
                r.intIn("mycelium.peer.lan-discovery.multicast-port", 1, 65535)),
            new PeerDoor(
                r.durationIn("mycelium.peer.handshake-timeout", Duration.ofMillis(100),
                    Duration.ofMinutes(1)),
                r.intIn("mycelium.peer.max-inbound-links", 1, 65535),
                r.intIn("mycelium.peer.max-outbound-links", 1, 65535),
                r.intIn("mycelium.peer.max-connections-per-subnet", 1, 65535),
                r.intIn("mycelium.peer.handshakes-per-second-per-ip", 1, 100_000),
                r.intIn("mycelium.peer.handshakes-per-second-per-subnet", 1, 100_000),
                r.bool("mycelium.peer.exempt-loopback")));
    Storage storage =
        new Storage(
            r.longIn("mycelium.storage.capacity-entries", 1, 2_000_000_000L),
            r.intIn("mycelium.storage.average-value-bytes", 64, 16 * 1024 * 1024),
            r.intIn("mycelium.storage.max-text-bytes", 1, 16 * 1024 * 1024),
            r.intIn("mycelium.storage.dimension", 1, 4096),
            r.intIn("mycelium.storage.max-metadata-entries", 0, 10_000),
            r.intIn("mycelium.storage.max-metadata-bytes", 0, 16 * 1024 * 1024),
            r.intIn("mycelium.storage.scrub-rate-per-second", 1, 1_000_000),
            r.durationIn("mycelium.storage.scrub-interval", Duration.ZERO, Duration.ofDays(30)),
            r.doubleIn("mycelium.storage.nearly-full-ratio", 0.01, 1.0),
            r.longIn("mycelium.storage.min-free-disk-mb", 0, 1_000_000_000L));
    Index index =
        new Index(
            r.intIn("mycelium.index.max-degree", 2, 512),
            r.intIn("mycelium.index.beam-width", 2, 4096),
            r.intIn("mycelium.index.search-overfetch", 1, 100));
    Embedder embedder =
        new Embedder(
            r.oneOf("mycelium.embedder.name", false, "minilm", "minilm-q", "hash"),
            r.intIn("mycelium.embedder.queue-capacity", 1, 10_000_000),
            r.intIn("mycelium.embedder.threads", 1, 64));
    Log log =
        new Log(
            r.oneOf("mycelium.log.format", false, "text", "json"),
            r.oneOf("mycelium.log.level", true, "TRACE", "DEBUG", "INFO", "WARN", "ERROR"));
    Replication replication = replication(r);
    Search search =
        new Search(
            r.intIn("mycelium.search.substitutes", 0, 10),
            r.intIn("mycelium.search.max-hops", 1, 5),
            r.durationIn("mycelium.search.network-timeout", Duration.ofMillis(50),
                Duration.ofSeconds(30)));
    Shared shared =
        new Shared(
            r.names("mycelium.shared.topics"),
            r.string("mycelium.shared.default-topic"),
            r.intIn("mycelium.shared.broadcast-ttl", 0, 64),
            r.intIn("mycelium.shared.priority", 0, 100));
    if (!shared.defaultTopic().matches("[A-Za-z0-9._/-]{1,64}")) {
      throw new ConfigException("mycelium.shared.default-topic", "\"" + shared.defaultTopic()
          + "\" is not a valid topic: use 1 to 64 letters, digits, '.', '_', '-' or '/'");
    }
    if (index.beamWidth() < index.maxDegree()) {
      throw new ConfigException(
          "mycelium.index.beam-width",
          index.beamWidth() + " is below mycelium.index.max-degree (" + index.maxDegree()
              + "); it must be at least that");
    }
    if (embedder.name().startsWith("minilm") && storage.dimension() != 384) {
      throw new ConfigException(
          "mycelium.storage.dimension",
          storage.dimension() + " does not match the " + embedder.name() + " embedder, which "
              + "makes 384; set it "
              + "to 384 or use mycelium.embedder.name = hash");
    }
    Debug debug = new Debug(r.bool("mycelium.debug.fault-injection"));
    return new NodeConfig(node, api, peer, storage, index, embedder, log, search, shared,
        replication, debug);
  }

  private static Replication replication(ConfigReader r) {
    String k = "mycelium.replication.";
    Duration ms = Duration.ofMillis(1);
    Replication rep = new Replication(
        r.intIn(k + "factor", 1, 16),
        r.longIn(k + "capacity-entries", 1, 2_000_000_000L),
        r.durationIn(k + "tick", Duration.ofMillis(10), Duration.ofSeconds(10)),
        r.durationIn(k + "anti-entropy-interval", Duration.ofMillis(100), Duration.ofDays(1)),
        r.intIn(k + "repairs-per-tick", 1, 1_000_000),
        r.intIn(k + "idle-repairs-per-tick", 1, 1_000_000),
        r.intIn(k + "stream-per-tick", 1, 1_000_000),
        r.intIn(k + "max-attempts", 1, 1_000),
        r.durationIn(k + "backoff-base", ms, Duration.ofDays(1)),
        r.durationIn(k + "backoff-max", ms, Duration.ofDays(7)),
        r.durationIn(k + "lost-retry", ms, Duration.ofDays(7)),
        r.durationIn(k + "holder-grace", Duration.ZERO, Duration.ofDays(7)),
        r.durationIn(k + "tombstone-retention", ms, Duration.ofDays(3650)),
        r.durationIn(k + "read-timeout", ms, Duration.ofMinutes(1)),
        r.durationIn(k + "write-timeout", ms, Duration.ofMinutes(10)));
    if (rep.idleRepairsPerTick() < rep.repairsPerTick()) {
      throw new ConfigException(k + "idle-repairs-per-tick", rep.idleRepairsPerTick()
          + " is below " + k + "repairs-per-tick (" + rep.repairsPerTick()
          + "); an idle node repairs at least as fast as a busy one");
    }
    if (rep.backoffMax().compareTo(rep.backoffBase()) < 0) {
      throw new ConfigException(k + "backoff-max", rep.backoffMax() + " is below "
          + k + "backoff-base (" + rep.backoffBase() + ")");
    }
    Duration longest = (rep.backoffMax().compareTo(rep.lostRetry()) > 0
        ? rep.backoffMax() : rep.lostRetry()).multipliedBy(2);
    if (rep.tombstoneRetention().compareTo(longest) < 0) {
      throw new ConfigException(k + "tombstone-retention", rep.tombstoneRetention()
          + " does not outlive the longest repair cycle; it must be at least twice the larger "
          + "of backoff-max and lost-retry (" + longest + ")");
    }
    return rep;
  }

  private static String multicastGroup(String address) {
    String key = "mycelium.peer.lan-discovery.multicast-address";
    if (!address.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      throw new ConfigException(key, "\"" + address + "\" is not an IPv4 address; use a "
          + "multicast group such as 228.8.8.8");
    }
    try {
      if (!java.net.InetAddress.getByName(address).isMulticastAddress()) {
        throw new ConfigException(key, address + " is not a multicast group (224.0.0.0 to "
            + "239.255.255.255); use one such as 228.8.8.8");
      }
    } catch (java.net.UnknownHostException e) {
      throw new ConfigException(key, "\"" + address + "\" is not an IPv4 address", e);
    }
    return address;
  }

  private static Optional<byte[]> networkKey(String base64) {
    if (base64.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(NetworkKeyring.parse(base64));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("mycelium.peer.network-key", e.getMessage()
          + " (make one with `openssl rand -base64 32`)", e);
    }
  }
}
