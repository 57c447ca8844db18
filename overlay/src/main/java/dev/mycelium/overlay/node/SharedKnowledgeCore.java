package dev.mycelium.overlay.node;

import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Shared knowledge, the protocol half: which broadcasts carry shared fragments, which origins
 * are no longer trusted, and what is counted. A node publishes its shared fragments by
 * broadcast on {@value #TOPIC_PREFIX} followed by the fragment's topic, and keeps those of
 * others on the topics it subscribes to; checking and storing a received fragment is the
 * driver's work ({@link NodeEffect.IngestShared}).
 *
 * <p>Why distrust survives the check: the broadcast signature proves which node sent a message,
 * not that the fragment inside is genuine. An origin whose fragment did not check loses score
 * and nothing more from it is taken until the node restarts; the set of such origins is
 * bounded ({@link #MAX_DISTRUSTED}, oldest forgotten first).
 *
 * <p>Pure and not thread-safe, like the other cores.
 */
public final class SharedKnowledgeCore {
  /** Prefix of the overlay topics that carry shared fragments. */
  public static final String TOPIC_PREFIX = "shared/";

  /** The metadata key that names a shared fragment's topic. */
  public static final String TOPIC_KEY = "topic";

  /** Score points an origin loses for a payload that does not check. */
  public static final double FORGED_PENALTY = 10.0;

  /** Origins remembered as untrusted. */
  public static final int MAX_DISTRUSTED = 10_000;

  private final NodeId self;
  private final List<String> topics;
  private final String defaultTopic;
  private final LinkedHashSet<NodeId> distrusted = new LinkedHashSet<>();
  private long published;
  private long received;
  private long rejected;
  private long fromDistrusted;

  /**
   * @param topics the topics this node receives (without the prefix)
   * @param defaultTopic the topic of a shared fragment whose metadata names none
   */
  public SharedKnowledgeCore(NodeId self, List<String> topics, String defaultTopic) {
    this.self = Objects.requireNonNull(self, "self");
    this.topics = List.copyOf(topics);
    this.defaultTopic = Objects.requireNonNull(defaultTopic, "default topic");
  }

  /** The overlay topics to subscribe to. */
  public List<String> overlayTopics() {
    List<String> out = new ArrayList<>();
    for (String t : topics) {
      out.add(TOPIC_PREFIX + t);
    }
    return out;
  }

  /** The topic of a shared fragment with this metadata (without the prefix). */
  public String topicOf(Map<String, String> metadata) {
    String t = metadata.get(TOPIC_KEY);
    return t == null || t.isBlank() ? defaultTopic : t.trim();
  }

  /** Counts one of this node's fragments published. */
  void notePublished() {
    published++;
  }

  /**
   * A broadcast was delivered here: the fragment to check and keep, or empty when it is not
   * shared knowledge, is this node's own, or comes from a distrusted origin.
   */
  Optional<NodeEffect.IngestShared> onDelivered(OverlayEvent.Delivered d) {
    if (!d.topic().startsWith(TOPIC_PREFIX) || d.origin().equals(self)) {
      return Optional.empty();
    }
    received++;
    if (distrusted.contains(d.origin())) {
      fromDistrusted++;
      return Optional.empty();
    }
    return Optional.of(new NodeEffect.IngestShared(d.origin(), d.topic(), d.payload()));
  }

  /** A fragment from this origin did not check: distrust it. */
  void rejected(NodeId origin) {
    rejected++;
    distrusted.remove(origin);
    distrusted.add(origin);
    if (distrusted.size() > MAX_DISTRUSTED) {
      distrusted.remove(distrusted.iterator().next());
    }
  }

  /** Whether a node sent a shared fragment that did not check. */
  public boolean distrusts(NodeId node) {
    return distrusted.contains(node);
  }

  /** The topics this node receives. */
  public List<String> topics() {
    return topics;
  }

  public long published() {
    return published;
  }

  public long received() {
    return received;
  }

  public long rejected() {
    return rejected;
  }

  /** Deliveries ignored because their origin is distrusted. */
  public long fromDistrusted() {
    return fromDistrusted;
  }
}
