package dev.mycelium.overlay.node;

import dev.mycelium.wire.proto.Envelope;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Which core owns each peer message type: the one place where an inbound envelope is handed to
 * a core, so that no core ever sees another core's message.
 *
 * <p>Why a table and one rule: when every service received every message, the replication core
 * took network search requests for malformed replication messages and penalized honest peers
 * until they were banned. Here each message type has exactly one owner ({@link #owner}); a type
 * whose owner is not running on this node (replication switched off, a core not started yet) or
 * that this version does not know (a newer peer's message parses as {@code BODY_NOT_SET}) is
 * dropped and counted here. Dropping is never a penalty: a message an honest, current peer may
 * send must never cost it score. Malformed content of an owned type is judged by its owner.
 *
 * <p>Not thread-safe, like the cores.
 */
public final class Routes {
  /** The cores a message can be routed to. */
  public enum Owner {
    /** Membership, failure detection and broadcast ({@code OverlayNode}). */
    OVERLAY,
    /** Replication, anti-entropy, repair and restore ({@code ReplicaCore}). */
    REPLICA,
    /** Search across the network ({@code NetworkSearch}). */
    SEARCH
  }

  private final Set<Owner> running;
  private final Map<Envelope.BodyCase, Long> dropped = new EnumMap<>(Envelope.BodyCase.class);
  private long droppedTotal;

  /** Routes to the given running cores; messages of the others are dropped. */
  public Routes(Set<Owner> running) {
    Objects.requireNonNull(running, "running cores");
    this.running = running.isEmpty() ? EnumSet.noneOf(Owner.class) : EnumSet.copyOf(running);
  }

  /**
   * The core that owns a message type, or empty for {@code BODY_NOT_SET} (no message, or one
   * this version does not know). The switch has no default so that a new message type does not
   * compile until it is given an owner.
   */
  public static Optional<Owner> owner(Envelope.BodyCase type) {
    Owner o = switch (Objects.requireNonNull(type, "message type")) {
      case JOIN, FORWARD_JOIN, NEIGHBOR, NEIGHBOR_REPLY, DISCONNECT, SHUFFLE, SHUFFLE_REPLY,
          CAPACITY, ACTIVE_VIEW, PING, ACK, PING_REQ, NACK, SUSPECT, ALIVE, DEAD, LEAVE,
          GOSSIP, IHAVE, GRAFT, PRUNE -> Owner.OVERLAY;
      case REPLICA_PUT, REPLICA_ACK, REPLICA_DELETE, MANIFEST_UPDATE, REPLICA_FETCH,
          REPLICA_FETCH_REPLY, DIGEST_ROOTS, DIGEST_NODES, DIGEST_IDS, RESTORE_QUERY,
          RESTORE_OFFER -> Owner.REPLICA;
      case SEARCH_REQUEST, SEARCH_RESPONSE -> Owner.SEARCH;
      case BODY_NOT_SET -> null;
    };
    return Optional.ofNullable(o);
  }

  /**
   * The running core an inbound envelope goes to, or empty when it is dropped (then counted:
   * {@link #dropped()}). The caller never penalizes a dropped message.
   */
  public Optional<Owner> route(Envelope envelope) {
    Envelope.BodyCase type = envelope.getBodyCase();
    Optional<Owner> o = owner(type);
    if (o.isPresent() && running.contains(o.get())) {
      return o;
    }
    droppedTotal++;
    dropped.merge(type, 1L, Long::sum);
    return Optional.empty();
  }

  /** Whether a core's messages are routed (it is running). */
  public boolean isRunning(Owner owner) {
    return running.contains(owner);
  }

  /** These routes with one more core running; the drop counts carry over. */
  public Routes with(Owner owner) {
    EnumSet<Owner> more = running.isEmpty() ? EnumSet.noneOf(Owner.class)
        : EnumSet.copyOf(running);
    more.add(owner);
    Routes r = new Routes(more);
    r.dropped.putAll(dropped);
    r.droppedTotal = droppedTotal;
    return r;
  }

  /** Messages dropped because no running core owns their type. */
  public long dropped() {
    return droppedTotal;
  }

  /** Dropped messages by type. */
  public Map<Envelope.BodyCase, Long> droppedByType() {
    return Collections.unmodifiableMap(dropped);
  }
}
