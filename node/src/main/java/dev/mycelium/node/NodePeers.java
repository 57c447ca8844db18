package dev.mycelium.node;

import dev.mycelium.node.audit.AuditLog;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.node.peer.FaultControl;
import dev.mycelium.node.peer.LanDiscovery;
import dev.mycelium.node.peer.AddressGuard;
import dev.mycelium.node.peer.NetworkKeyring;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.node.peer.PeerTransport;
import dev.mycelium.overlay.PeerAddress;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's side of the peer overlay: turns the {@code mycelium.peer} settings into a running
 * {@link PeerService}, and keeps the known peers in {@code peers.json} across restarts. Kept
 * apart from {@link Node} so that the node's start and stop order stays readable there.
 */
final class NodePeers implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodePeers.class);

  private final PeerService service;
  private final Path peersFile;
  private final Path keysFile;
  private final Duration saveInterval;
  private final LanDiscovery lan;

  private NodePeers(PeerService service, Path peersFile, Path keysFile, Duration saveInterval,
      LanDiscovery lan) {
    this.service = service;
    this.peersFile = peersFile;
    this.keysFile = keysFile;
    this.saveInterval = saveInterval;
    this.lan = lan;
  }

  /**
   * Starts the peer service: listens, joins through the seeds and through the peers saved at
   * the last stop.
   *
   * @throws ConfigException naming the key at fault (an unresolvable seed, a wildcard listen
   *     host without an advertised host)
   */
  static NodePeers start(NodeConfig.Peer config, Identity identity, Path dataDir) {
    List<InetSocketAddress> seeds = seeds(config.seeds());
    InetSocketAddress listen = new InetSocketAddress(config.listenHost(), config.listenPort());
    if (listen.isUnresolved()) {
      throw new ConfigException("mycelium.peer.listen-host",
          "\"" + config.listenHost() + "\" is not a known host or address of this machine");
    }
    PeerAddress advertised = null;
    if (!config.advertiseHost().isEmpty()) {
      // Port 0 means "the port actually bound", which is what peers must dial.
      advertised = new PeerAddress(identity.nodeId(), config.advertiseHost(), 0);
    } else if (listen.getAddress().isAnyLocalAddress()) {
      throw new ConfigException("mycelium.peer.advertise-host",
          "must be set when mycelium.peer.listen-host is " + config.listenHost()
              + " (all interfaces): give the address other nodes dial to reach this one");
    }
    LanDiscovery.Settings lanSettings = lanSettings(config);
    Path keysFile = dataDir.resolve(NetworkKeysFile.FILE_NAME);
    Optional<NetworkKeyring> keyring = NetworkKeysFile.load(keysFile, config.networkKey());
    Path file = dataDir.resolve(KnownPeersFile.FILE_NAME);
    List<PeerAddress> known = KnownPeersFile.read(file);
    NodeConfig.PeerDoor door = config.door();
    PeerTransport.Limits limits = PeerTransport.Limits.defaults()
        .withAddresses(AddressGuard.Settings.defaults()
            .withMaxConnectionsPerIp(config.maxConnectionsPerIp())
            .withRates(door.maxConnectionsPerSubnet(), door.handshakesPerSecondPerIp(),
                door.handshakesPerSecondPerSubnet())
            .withExemptLoopback(door.exemptLoopback()))
        .withSlots(door.maxInbound(), door.maxOutbound())
        .withHandshakeMillis(door.handshakeTimeout().toMillis());
    PeerService service = PeerService.start(identity.keys(), listen, advertised, seeds,
        config.overlay(), keyring, new SecureRandom().nextLong(), limits);
    if (!known.isEmpty()) {
      LOG.info("rejoining through {} peer(s) known from {}", known.size(), file);
      service.join(known);
    }
    LanDiscovery lan = null;
    if (lanSettings != null) {
      try {
        lan = LanDiscovery.start(service, lanSettings);
      } catch (IllegalStateException e) {
        service.close();
        throw new ConfigException("mycelium.peer.lan-discovery.enabled", e.getMessage()
            + "; fix the lan-discovery settings or set enabled = false", e);
      }
    }
    return new NodePeers(service, file, keysFile, config.saveInterval(), lan);
  }

  /** The discovery settings, or null when LAN discovery is off. */
  private static LanDiscovery.Settings lanSettings(NodeConfig.Peer config) {
    NodeConfig.LanDiscovery c = config.lanDiscovery();
    if (!c.enabled()) {
      return null;
    }
    String key = "mycelium.peer.lan-discovery.bind-host";
    String host = c.bindHost().isEmpty() ? config.listenHost() : c.bindHost();
    InetAddress bind;
    try {
      bind = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new ConfigException(key, "\"" + host + "\" is not a known host or address of this "
          + "machine");
    }
    if (bind.isAnyLocalAddress()) {
      throw new ConfigException(key, "must be set when mycelium.peer.listen-host is " + host
          + " (all interfaces): give the address of the LAN interface to discover peers on");
    }
    try {
      return new LanDiscovery.Settings(c.cluster(), bind,
          InetAddress.getByName(c.multicastAddress()), c.multicastPort());
    } catch (UnknownHostException | IllegalArgumentException e) {
      throw new ConfigException("mycelium.peer.lan-discovery.multicast-address", e.getMessage());
    }
  }

  /**
   * Rewrites {@code peers.json} every {@code peer.save-interval} on the node's scheduler, so
   * that a node that crashed (no clean stop to save them) also rejoins without its seeds.
   */
  void scheduleSaves(ScheduledExecutorService scheduler) {
    long every = saveInterval.toMillis();
    scheduler.scheduleWithFixedDelay(() -> {
      try {
        saveKnownPeers();
      } catch (IOException | RuntimeException e) {
        LOG.warn("could not save known peers to {}: {}", peersFile, e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
  }

  /**
   * Writes the known peers to {@code peers.json} (a temporary file renamed over the old one).
   * An empty view leaves the file alone: a node cut off for a while still remembers whom it
   * knew.
   *
   * @return how many peers were saved
   */
  int saveKnownPeers() throws IOException {
    List<PeerAddress> known = service.knownPeers();
    if (!known.isEmpty()) {
      KnownPeersFile.write(peersFile, known);
    }
    return known.size();
  }

  // ---- the network keyring (mycelium keyring, /v1/keyring) ----

  /**
   * The body of {@code GET /v1/keyring}: whether the network is open, and the network ID of
   * every accepted key with the one in use marked. Keys themselves are never shown.
   */
  Map<String, Object> keyring() {
    Map<String, Object> out = new LinkedHashMap<>();
    Optional<NetworkKeyring> ring = service.keyring();
    out.put("open", ring.isEmpty());
    List<Map<String, Object>> keys = new ArrayList<>();
    ring.ifPresent(r -> {
      String inUse = NetworkKeyring.networkId(r.keyInUse());
      for (byte[] k : r.keys()) {
        Map<String, Object> m = new LinkedHashMap<>();
        String id = NetworkKeyring.networkId(k);
        m.put("network_id", id);
        m.put("in_use", id.equals(inUse));
        keys.add(m);
      }
    });
    out.put("keys", keys);
    return out;
  }

  /**
   * Installs, uses or removes a network key on the running node and saves the keyring to
   * {@code network.keys}. New links see the change at once; open links stay up.
   *
   * @throws IllegalArgumentException for a malformed key or an unknown action
   * @throws IllegalStateException on an open network, or when removing the key in use
   */
  synchronized Map<String, Object> changeKeyring(String action, byte[] key) {
    NetworkKeyring ring = service.keyring().orElseThrow(() -> new IllegalStateException(
        "this node runs an open network (no network key); set mycelium.peer.network-key "
            + "and restart before rotating keys"));
    String id = NetworkKeyring.networkId(key);
    switch (action) {
      case "install" -> ring.install(key);
      case "use" -> ring.use(key);
      case "remove" -> {
        if (!ring.accepts(id)) {
          throw new IllegalArgumentException("no installed key has network ID " + id);
        }
        ring.remove(key);
      }
      default -> throw new IllegalArgumentException("action must be install, use or remove, "
          + "got \"" + action + "\"");
    }
    try {
      NetworkKeysFile.write(keysFile, ring);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("the keyring changed but could not be saved to "
          + keysFile + "; it reverts at restart", e);
    }
    LOG.info("network keyring: {} key {}; {} key(s) accepted", action, id, ring.size());
    AuditLog.networkKey(action, id);
    return keyring();
  }

  private static List<InetSocketAddress> seeds(List<String> hostPorts) {
    List<InetSocketAddress> out = new ArrayList<>();
    for (String hp : hostPorts) {
      int colon = hp.lastIndexOf(':');
      String host = hp.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port = Integer.parseInt(hp.substring(colon + 1));
      try {
        out.add(new InetSocketAddress(InetAddress.getByName(host), port));
      } catch (UnknownHostException e) {
        throw new ConfigException("mycelium.peer.seeds",
            "\"" + hp + "\": host " + host + " cannot be resolved; fix or remove this seed");
      }
    }
    return out;
  }

  /**
   * Registers the overlay's gauges and counters ({@code mycelium_overlay_*}), read from
   * {@link PeerService#stats()} at scrape time.
   */
  void registerMetrics(PrometheusRegistry registry) {
    gauge(registry, "mycelium_overlay_active_peers", "Peers in the active view",
        PeerService.Stats::activePeers);
    gauge(registry, "mycelium_overlay_passive_peers", "Peers in the passive view",
        PeerService.Stats::passivePeers);
    counter(registry, "mycelium_overlay_peer_ups_total", "Peers that came up",
        PeerService.Stats::peerUps);
    counter(registry, "mycelium_overlay_peer_downs_total", "Peers that went down",
        PeerService.Stats::peerDowns);
    counter(registry, "mycelium_overlay_suspicions_total", "Peers suspected of failure",
        PeerService.Stats::suspicions);
    counter(registry, "mycelium_overlay_deaths_total", "Peers declared dead",
        PeerService.Stats::deaths);
    counter(registry, "mycelium_overlay_bans_total", "Peers banned for misbehaving",
        PeerService.Stats::bans);
    counter(registry, "mycelium_overlay_delivered_total", "Broadcasts delivered to this node",
        PeerService.Stats::delivered);
    counter(registry, "mycelium_overlay_broadcasts_dropped_total",
        "Queued broadcasts dropped under load", PeerService.Stats::broadcastsDropped);
    counter(registry, "mycelium_overlay_dial_failures_total", "Failed dials to peers",
        PeerService.Stats::dialFailures);
    counter(registry, "mycelium_overlay_malformed_total", "Malformed messages from peers",
        PeerService.Stats::malformed);
    counter(registry, "mycelium_peer_key_proof_failures_total",
        "Peer links refused because the network key proof did not check",
        s -> s.transport().networkMismatches());
    counter(registry, "mycelium_peer_handshake_timeouts_total",
        "Peer links closed for not finishing their handshake in time",
        s -> s.transport().handshakeTimeouts());
    counter(registry, "mycelium_peer_refused_by_address_total",
        "Inbound connections closed before TLS by the per-address and per-subnet limits or bans",
        s -> s.transport().refusedByAddress());
    counter(registry, "mycelium_peer_address_bans_total",
        "Remote addresses banned after failed handshakes or a banned node",
        s -> s.transport().addressBans());
    counter(registry, "mycelium_overlay_unrouted_total",
        "Peer messages of a type no running core owns, dropped unpenalized",
        PeerService.Stats::unrouted);
    counter(registry, "mycelium_node_work_shed_total",
        "Worker steps (local searches for peers, hit checks, shared ingest) shed when full",
        PeerService.Stats::workShed);
  }

  /**
   * Registers {@code mycelium_fault_dropped_frames_total}, the frames dropped by injected loss;
   * only on a node with {@code mycelium.debug.fault-injection} on.
   */
  void registerFaultMetrics(PrometheusRegistry registry) {
    FaultControl faults = service.faultControl();
    NodeMetrics.counter(registry, "mycelium_fault_dropped_frames_total",
        "Frames from peers dropped by injected loss (fault injection, test networks only)",
        () -> {
          try {
            return faults.state();
          } catch (RuntimeException e) {
            return null;
          }
        }, FaultControl.State::dropped);
  }

  /** The service's stats, or null once it is stopping (a scrape must not fail). */
  private PeerService.Stats stats() {
    try {
      return service.stats();
    } catch (RuntimeException e) {
      return null;
    }
  }

  private void gauge(PrometheusRegistry registry, String name, String help,
      ToDoubleFunction<PeerService.Stats> value) {
    NodeMetrics.gauge(registry, name, help, this::stats, value);
  }

  private void counter(PrometheusRegistry registry, String name, String help,
      ToDoubleFunction<PeerService.Stats> value) {
    NodeMetrics.counter(registry, name, help, this::stats, value);
  }

  /** The running service. */
  PeerService service() {
    return service;
  }

  /** The {@code peer} and {@code peers} fields of {@code /v1/status}. */
  void addStatus(Map<String, Object> out) {
    PeerAddress self = service.self();
    String host = self.host().contains(":") ? "[" + self.host() + "]" : self.host();
    out.put("peer", host + ":" + self.port());
    PeerService.Stats s = service.stats();
    Map<String, Object> counts = new LinkedHashMap<>();
    counts.put("active", s.activePeers());
    counts.put("passive", s.passivePeers());
    counts.put("frames_sent", s.transport().framesOut());
    counts.put("bytes_sent", s.transport().bytesOut());
    counts.put("frames_received", s.transport().framesIn());
    counts.put("bytes_received", s.transport().bytesIn());
    out.put("peers", counts);
  }

  /** The body of {@code GET /v1/peers}: one map per known peer, active view first. */
  List<Map<String, Object>> peers() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (PeerService.PeerInfo p : service.peers()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("node_id", p.nodeId().toString());
      String host = p.address().host().contains(":")
          ? "[" + p.address().host() + "]" : p.address().host();
      m.put("address", host + ":" + p.address().port());
      m.put("state", p.state() == null ? null : p.state().name());
      m.put("view", p.view().name());
      m.put("score", p.score());
      m.put("connected", p.connected());
      m.put("rtt_ms", p.rttMillis() == null ? null
          : Math.round(p.rttMillis() * 100) / 100.0);
      out.add(m);
    }
    return out;
  }

  /** Saves the known peers to {@code peers.json}, then leaves the overlay. */
  @Override
  public void close() {
    try {
      int saved = saveKnownPeers();
      if (saved > 0) {
        LOG.info("saved {} known peer(s) to {}", saved, peersFile);
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("could not save known peers to {}: {}", peersFile, e.toString());
    }
    if (lan != null) {
      lan.close();
    }
    service.close();
  }
}
