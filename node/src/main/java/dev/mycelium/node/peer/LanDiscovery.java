package dev.mycelium.node.peer;

import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.BytesMessage;
import org.jgroups.Receiver;
import org.jgroups.View;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FRAG2;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.PING;
import org.jgroups.protocols.UDP;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.stack.Protocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds peers on the local network without seeds, through JGroups group membership over UDP
 * multicast. Why JGroups only for discovery: its view of the group tells each node when
 * another appears on the LAN, and its reliable multicast carries one short announcement per
 * node (node ID, peer address, and on a private network a tag); everything after that goes
 * over the normal TLS peer transport, whose handshake, not the announcement, authenticates the
 * peer and checks its proof of the network key.
 *
 * <p>The announcement is multicast in clear, so it carries nothing that lets a listener in:
 * no network key and no fixed network ID. The tag ({@link NetworkKeyring#lanTag}) is a MAC
 * under the network key over the announced node ID and address: nodes of the network use it
 * to skip announcements of other networks and to refuse forged ones (an outsider cannot tag
 * an address of its choosing, so it cannot make this node dial one); replaying a tag only
 * repeats that node's own announcement, and the peer handshake never accepts a tag.
 *
 * <p>When the group view changes, every member announces itself again, so a newcomer hears
 * from everyone. A node joins the overlay through an announced peer it does not know yet, at
 * most once per {@link #JOIN_WINDOW_NANOS}: one join is enough to enter (or merge into) an
 * overlay, and the random walk and shuffles do the rest, whereas joining through every
 * announcer at once would have n nodes send n joins each. Announcements from another network
 * (a tag this node's keys do not make) are ignored. Multicast TTL is 1: discovery stays on
 * the local segment.
 */
public final class LanDiscovery implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LanDiscovery.class);
  private static final String MAGIC = "mycelium-lan-v2";

  /** Largest announcement read: magic, node ID, a host name of 253 chars, port and tag fit. */
  static final int MAX_ANNOUNCEMENT_BYTES = 512;

  /** Shortest time between two joins through announced peers (2 s). */
  static final long JOIN_WINDOW_NANOS = 2_000_000_000L;

  /**
   * Where discovery runs.
   *
   * @param cluster JGroups cluster name; only nodes with the same name find each other
   * @param bind the local interface address for discovery traffic
   * @param group the IPv4 multicast group
   * @param port the multicast UDP port
   */
  public record Settings(String cluster, InetAddress bind, InetAddress group, int port) {
    public Settings {
      Objects.requireNonNull(cluster, "cluster name");
      Objects.requireNonNull(bind, "bind address");
      Objects.requireNonNull(group, "multicast group");
      if (cluster.isBlank()) {
        throw new IllegalArgumentException("the discovery cluster name must not be empty");
      }
      if (!group.isMulticastAddress()) {
        throw new IllegalArgumentException(group.getHostAddress() + " is not a multicast group");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("multicast port must be in 1..65535, got " + port);
      }
    }
  }

  private final PeerService service;
  private final JChannel channel;
  private final String announcement;
  private final NodeId self;
  private final Set<NodeId> joinedThrough = ConcurrentHashMap.newKeySet();
  private long lastJoinNanos;
  private boolean joinedOnce;
  private final AtomicLong announcementsHeard = new AtomicLong();

  private LanDiscovery(PeerService service, JChannel channel) {
    this.service = service;
    this.channel = channel;
    this.self = service.nodeId();
    this.announcement = announcement(service.self(), service.keyring());
  }

  /** What a node at this address announces: magic, node ID, host, port and the tag. */
  static String announcement(PeerAddress a, Optional<NetworkKeyring> ring) {
    String announced = String.join(" ", MAGIC, a.id().toString(), a.host(),
        Integer.toString(a.port()));
    return announced + " " + NetworkKeyring.lanTag(ring, announced);
  }

  /**
   * The peer an announcement names, when it is well-formed and tagged by a key of this ring
   * (or untagged, for an open network and an open ring); empty otherwise.
   */
  static Optional<PeerAddress> accepted(String text, Optional<NetworkKeyring> ring) {
    String[] f = text.split(" ", -1);
    if (f.length != 5 || !f[0].equals(MAGIC)) {
      return Optional.empty();
    }
    PeerAddress peer;
    try {
      peer = new PeerAddress(NodeId.parse(f[1]), f[2], Integer.parseInt(f[3]));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
    if (!NetworkKeyring.acceptsLanTag(ring, text.substring(0, text.lastIndexOf(' ')), f[4])) {
      return Optional.empty();
    }
    return Optional.of(peer);
  }

  /**
   * Joins the discovery group and starts announcing this node.
   *
   * @throws IllegalStateException when the group cannot be joined (no multicast on the
   *     interface, a bind address that is not this machine's)
   */
  public static LanDiscovery start(PeerService service, Settings settings) {
    Objects.requireNonNull(service, "peer service");
    Objects.requireNonNull(settings, "settings");
    JChannel ch = null;
    try {
      ch = new JChannel(stack(settings));
      ch.setDiscardOwnMessages(true);
      LanDiscovery d = new LanDiscovery(service, ch);
      ch.setReceiver(d.new Listener());
      ch.connect(settings.cluster());
      LOG.info("LAN discovery on {} group {}:{} (cluster \"{}\")",
          settings.bind().getHostAddress(), settings.group().getHostAddress(), settings.port(),
          settings.cluster());
      return d;
    } catch (Exception e) {
      if (ch != null) {
        ch.close();
      }
      throw new IllegalStateException("cannot start LAN discovery on "
          + settings.bind().getHostAddress() + " with multicast group "
          + settings.group().getHostAddress() + ":" + settings.port() + ": " + e.getMessage(), e);
    }
  }

  /** A small stack: multicast transport, discovery, merging of split views, reliability. */
  private static List<Protocol> stack(Settings s) {
    UDP udp = new UDP();
    udp.setBindAddress(s.bind());
    udp.setMulticastAddress(s.group());
    udp.setMulticastPort(s.port());
    udp.setMulticastTTL(1);
    List<Protocol> out = new ArrayList<>();
    out.add(udp);
    out.add(new PING());
    // Nodes that started at once may each form their own group; MERGE3 joins them soon.
    out.add(new MERGE3().setMinInterval(1_000).setMaxInterval(3_000));
    out.add(new FD_ALL3());
    out.add(new VERIFY_SUSPECT2());
    out.add(new NAKACK2());
    out.add(new UNICAST3());
    out.add(new STABLE());
    out.add(new GMS().setJoinTimeout(1_000).printLocalAddress(false));
    out.add(new FRAG2());
    return out;
  }

  /** Announcements from other nodes heard so far (for tests and status). */
  public long announcementsHeard() {
    return announcementsHeard.get();
  }

  /** Nodes in the discovery group, this one included. */
  public int groupSize() {
    View v = channel.getView();
    return v == null ? 0 : v.size();
  }

  private void announce() {
    try {
      channel.send(new BytesMessage(null, announcement.getBytes(StandardCharsets.UTF_8)));
    } catch (Exception e) {
      LOG.debug("LAN announcement failed: {}", e.toString());
    }
  }

  private void heard(byte[] bytes) {
    if (bytes.length > MAX_ANNOUNCEMENT_BYTES) {
      LOG.debug("ignoring a LAN announcement of {} bytes", bytes.length);
      return;
    }
    String text = new String(bytes, StandardCharsets.UTF_8);
    String[] f = text.split(" ", -1);
    if (f.length != 5 || !f[0].equals(MAGIC)) {
      LOG.debug("ignoring a LAN announcement that is not Mycelium's");
      return;
    }
    PeerAddress peer;
    try {
      peer = new PeerAddress(NodeId.parse(f[1]), f[2], Integer.parseInt(f[3]));
      if (!PeerAddress.isValidHost(peer.host()) || peer.port() == 0) {
        throw new IllegalArgumentException("bad address " + peer.host() + ":" + peer.port());
      }
    } catch (RuntimeException e) {
      LOG.debug("ignoring a malformed LAN announcement: {}", LogSafe.of(e));
      return;
    }
    if (peer.id().equals(self)) {
      return;
    }
    announcementsHeard.incrementAndGet();
    Optional<NetworkKeyring> ring = service.keyring();
    if (!NetworkKeyring.acceptsLanTag(ring, text.substring(0, text.lastIndexOf(' ')), f[4])) {
      LOG.debug("ignoring LAN peer {}: another network", peer.id().shortString());
      return;
    }
    boolean known = service.peers().stream().anyMatch(p -> p.nodeId().equals(peer.id()));
    if (known || joinedThrough.contains(peer.id()) || !joinWindowOpen()) {
      return;
    }
    if (joinedThrough.size() >= 4_096) {
      // Only a memory of whom we joined through, to not join twice: forgetting is harmless.
      joinedThrough.clear();
    }
    joinedThrough.add(peer.id());
    LOG.info("found {} at {}:{} on the LAN; joining through it", peer.id().shortString(),
        LogSafe.of(peer.host()), peer.port());
    service.join(List.of(peer));
  }

  /** Whether a join is allowed now, taking the window if so. */
  private synchronized boolean joinWindowOpen() {
    long now = System.nanoTime();
    if (joinedOnce && now - lastJoinNanos < JOIN_WINDOW_NANOS) {
      return false;
    }
    joinedOnce = true;
    lastJoinNanos = now;
    return true;
  }

  /** Leaves the discovery group. */
  @Override
  public void close() {
    channel.close();
  }

  private final class Listener implements Receiver {
    @Override
    public void viewAccepted(View view) {
      // A new member may not have heard of anyone: everyone says who they are again.
      announce();
    }

    @Override
    public void receive(Message msg) {
      if (msg.hasArray()) {
        byte[] bytes = java.util.Arrays.copyOfRange(msg.getArray(), msg.getOffset(),
            msg.getOffset() + msg.getLength());
        try {
          heard(bytes);
        } catch (RuntimeException e) {
          LOG.warn("LAN announcement could not be handled: {}", LogSafe.of(e));
        }
      }
    }
  }
}
