package dev.mycelium.node.search;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.overlay.node.SharedKnowledgeCore;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shared knowledge: a node publishes its shared fragments by broadcast, and keeps (stores and
 * indexes) those of others on the topics it subscribes to.
 *
 * <p>A thin facade over the node's one driver ({@link PeerService}): the protocol half (topics,
 * which deliveries to take, distrusted origins, penalties) is {@link SharedKnowledgeCore},
 * inside the node core on the driver's loop; this class publishes this node's fragments and
 * provides the worker-side step that checks and keeps a received one ({@link #take}).
 *
 * <p>Topics: a shared fragment's topic is its metadata entry {@value #TOPIC_KEY}, else the
 * node's {@code shared.default-topic}; on the overlay it travels on {@value #TOPIC_PREFIX}
 * followed by that topic, so that shared knowledge never collides with other broadcasts. The
 * payload is the owner's SignedFragment bytes, exactly as stored.
 *
 * <p>Why check again what the overlay already checked: the broadcast signature proves which
 * node sent the message, not that the fragment is genuine. Every payload is verified against
 * its owner's signature before it is stored; one that does not check (forged, altered,
 * private, malformed) is dropped and counted, its origin loses score, and nothing more from
 * that origin is taken until the node restarts.
 */
public final class SharedKnowledge implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SharedKnowledge.class);

  /** Prefix of the overlay topics that carry shared fragments. */
  public static final String TOPIC_PREFIX = SharedKnowledgeCore.TOPIC_PREFIX;

  /** The metadata key that names a shared fragment's topic. */
  public static final String TOPIC_KEY = SharedKnowledgeCore.TOPIC_KEY;

  /** Counters since start, for metrics and tests. */
  public record Stats(long published, long received, long stored, long rejected,
      long fromDistrusted, long dropped) {}

  private final PeerService peers;
  private final FragmentService fragments;
  private final NodeConfig.Shared config;
  private final NodeId self;
  private final SharedKnowledgeCore core;
  private final AtomicLong stored = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean closed;

  /**
   * Attaches the shared knowledge core to the peer service (which subscribes its topics) and
   * publishes every shared fragment this node's clients put from now on.
   */
  public SharedKnowledge(PeerService peers, FragmentService fragments, NodeConfig.Shared config) {
    this.peers = Objects.requireNonNull(peers, "peers");
    this.fragments = Objects.requireNonNull(fragments, "fragments");
    this.config = Objects.requireNonNull(config, "config");
    this.self = peers.nodeId();
    this.core = new SharedKnowledgeCore(self, config.topics(), config.defaultTopic());
    peers.attachShared(core);
    fragments.addPutListener(this::publish);
    LOG.info("shared knowledge: subscribed to {}", config.topics().isEmpty() ? "no topics"
        : String.join(", ", config.topics()));
  }

  /** The topic a shared fragment is published on (without {@link #TOPIC_PREFIX}). */
  public String topicOf(Fragment f) {
    return core.topicOf(f.metadata());
  }

  /** Broadcasts one of this node's own shared fragments; others are ignored. */
  public void publish(Fragment f) {
    if (closed || f.visibility() != Visibility.SHARED || !f.owner().equals(self)) {
      return;
    }
    String topic = topicOf(f);
    ByteString bytes = f.signed().toByteString();
    try {
      peers.drive((c, now) -> c.publishShared(now, topic, bytes, config.priority(),
          config.broadcastTtl()));
    } catch (IllegalStateException e) {
      LOG.debug("peer service closed; fragment {} not published", f.id());
    }
  }

  /**
   * Checks and keeps one received payload; runs on a worker of the driver. Returns why it does
   * not check (the driver then distrusts and penalizes the origin), or empty.
   */
  Optional<String> take(NodeId origin, String topic, ByteString payload) {
    if (closed) {
      return Optional.empty();
    }
    SignedFragment signed;
    try {
      signed = SignedFragment.parseFrom(payload);
    } catch (InvalidProtocolBufferException e) {
      return reject(origin, topic, "not a signed fragment");
    }
    try {
      FragmentState state = fragments.ingestShared(signed);
      if (state == FragmentState.PRESENT) {
        stored.incrementAndGet();
      }
    } catch (InvalidFragmentException e) {
      return reject(origin, topic, e.getMessage());
    } catch (dev.mycelium.node.SharedQuota.Exceeded e) {
      dropped.incrementAndGet(); // a flood is counted, not logged line by line
      LOG.debug("shared fragment on {} not kept: {}", topic, e.getMessage());
    } catch (StoreFullException e) {
      dropped.incrementAndGet();
      LOG.warn("shared fragment on {} not kept: {}", topic, e.getMessage());
    } catch (RuntimeException e) {
      dropped.incrementAndGet();
      LOG.warn("shared fragment on {} not kept: {}", topic, e.toString());
    }
    return Optional.empty();
  }

  private Optional<String> reject(NodeId origin, String topic, String why) {
    LOG.warn("dropped a shared fragment on {} from {}: {}; that node is no longer trusted",
        topic, origin.shortString(), why);
    return Optional.of(why);
  }

  /** Whether a node sent a shared fragment that did not check. */
  public boolean distrusts(NodeId node) {
    return peers.read(c -> core.distrusts(node));
  }

  /** The topics this node receives. */
  public List<String> topics() {
    return config.topics();
  }

  public Stats stats() {
    long[] c = peers.read(n -> new long[] {core.published(), core.received(), core.rejected(),
        core.fromDistrusted()});
    return new Stats(c[0], c[1], stored.get(), c[2], c[3], dropped.get());
  }

  @Override
  public void close() {
    closed = true;
  }
}
