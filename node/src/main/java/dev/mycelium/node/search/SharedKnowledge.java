package dev.mycelium.node.search;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.node.FragmentService;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.storage.Fragment;
import dev.mycelium.storage.FragmentState;
import dev.mycelium.storage.InvalidFragmentException;
import dev.mycelium.storage.StoreFullException;
import dev.mycelium.storage.Visibility;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shared knowledge: a node publishes its shared fragments by broadcast, and keeps (stores and
 * indexes) those of others on the topics it subscribes to.
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
public final class SharedKnowledge implements PeerService.Application, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SharedKnowledge.class);

  /** Prefix of the overlay topics that carry shared fragments. */
  public static final String TOPIC_PREFIX = "shared/";

  /** The metadata key that names a shared fragment's topic. */
  public static final String TOPIC_KEY = "topic";

  /** Score points an origin loses for a payload that does not check. */
  static final double FORGED_PENALTY = 10.0;

  /** Origins remembered as untrusted. */
  private static final int MAX_DISTRUSTED = 10_000;

  /** Counters since start, for metrics and tests. */
  public record Stats(long published, long received, long stored, long rejected,
      long fromDistrusted, long dropped) {}

  private final PeerService peers;
  private final FragmentService fragments;
  private final NodeConfig.Shared config;
  private final NodeId self;
  private final ThreadPoolExecutor ingest;
  private final Set<NodeId> distrusted = Collections.newSetFromMap(
      Collections.synchronizedMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NodeId, Boolean> eldest) {
          return size() > MAX_DISTRUSTED;
        }
      }));
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong stored = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong fromDistrusted = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();

  /**
   * Subscribes to the configured topics, registers with the peer service and publishes every
   * shared fragment this node's clients put from now on.
   */
  public SharedKnowledge(PeerService peers, FragmentService fragments, NodeConfig.Shared config) {
    this.peers = Objects.requireNonNull(peers, "peers");
    this.fragments = Objects.requireNonNull(fragments, "fragments");
    this.config = Objects.requireNonNull(config, "config");
    this.self = peers.nodeId();
    // Disk and index work off the network thread; a flood beyond the queue is shed, counted.
    this.ingest = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(1024), r -> {
          Thread t = new Thread(r, "mycelium-shared-ingest");
          t.setDaemon(true);
          return t;
        }, (r, pool) -> dropped.incrementAndGet());
    peers.register(this);
    for (String topic : config.topics()) {
      // Deliveries are taken from the overlay's Delivered event, which names the origin; the
      // subscription itself is what makes the overlay deliver the topic here.
      peers.subscribe(TOPIC_PREFIX + topic, payload -> { });
    }
    fragments.addPutListener(this::publish);
    LOG.info("shared knowledge: subscribed to {}", config.topics().isEmpty() ? "no topics"
        : String.join(", ", config.topics()));
  }

  /** The topic a shared fragment is published on (without {@link #TOPIC_PREFIX}). */
  public String topicOf(Fragment f) {
    String t = f.metadata().get(TOPIC_KEY);
    return t == null || t.isBlank() ? config.defaultTopic() : t.trim();
  }

  /** Broadcasts one of this node's own shared fragments; others are ignored. */
  public void publish(Fragment f) {
    if (f.visibility() != Visibility.SHARED || !f.owner().equals(self)) {
      return;
    }
    try {
      peers.broadcast(TOPIC_PREFIX + topicOf(f), f.signed().toByteArray(), config.priority(),
          config.broadcastTtl());
      published.incrementAndGet();
    } catch (IllegalStateException e) {
      LOG.debug("peer service closed; fragment {} not published", f.id());
    }
  }

  @Override
  public void onEnvelope(NodeId from, Envelope envelope) {
    // Shared fragments arrive as broadcasts (onEvent), not as messages of their own.
  }

  @Override
  public void onEvent(OverlayEvent event) {
    if (!(event instanceof OverlayEvent.Delivered d) || !d.topic().startsWith(TOPIC_PREFIX)
        || d.origin().equals(self)) {
      return;
    }
    received.incrementAndGet();
    if (distrusted.contains(d.origin())) {
      fromDistrusted.incrementAndGet();
      return;
    }
    ByteString payload = d.payload();
    try {
      ingest.execute(() -> take(d.origin(), d.topic(), payload));
    } catch (RejectedExecutionException e) {
      dropped.incrementAndGet();
    }
  }

  /** Checks and keeps one received payload; runs on the ingest thread. */
  void take(NodeId origin, String topic, ByteString payload) {
    SignedFragment signed;
    try {
      signed = SignedFragment.parseFrom(payload);
    } catch (InvalidProtocolBufferException e) {
      reject(origin, topic, "not a signed fragment");
      return;
    }
    try {
      FragmentState state = fragments.ingestShared(signed);
      if (state == FragmentState.PRESENT) {
        stored.incrementAndGet();
      }
    } catch (InvalidFragmentException e) {
      reject(origin, topic, e.getMessage());
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
  }

  private void reject(NodeId origin, String topic, String why) {
    rejected.incrementAndGet();
    distrusted.add(origin);
    LOG.warn("dropped a shared fragment on {} from {}: {}; that node is no longer trusted",
        topic, origin.shortString(), why);
    try {
      peers.penalize(origin, FORGED_PENALTY, "bad shared fragment: " + why);
    } catch (IllegalStateException e) {
      LOG.debug("peer service closed; {} not penalised", origin.shortString());
    }
  }

  /** Whether a node sent a shared fragment that did not check. */
  public boolean distrusts(NodeId node) {
    return distrusted.contains(node);
  }

  /** The topics this node receives. */
  public List<String> topics() {
    return config.topics();
  }

  public Stats stats() {
    return new Stats(published.get(), received.get(), stored.get(), rejected.get(),
        fromDistrusted.get(), dropped.get());
  }

  @Override
  public void close() {
    ingest.shutdownNow();
  }
}
