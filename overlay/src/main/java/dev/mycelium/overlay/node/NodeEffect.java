package dev.mycelium.overlay.node;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.replica.ReplicaEvent;
import dev.mycelium.overlay.replica.ReplicaStatus;
import dev.mycelium.overlay.search.NetworkSearch;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;

/**
 * Everything {@link NodeCore} asks its driver to do, as data, in order: the one family of
 * effects of the whole node. The daemon's driver carries them out in one place, the simulator
 * in another; nothing else applies effects.
 *
 * <p>Three kinds: link work ({@link Send}, {@link Connect}, {@link Disconnect}); reports, which
 * the core has already acted on and which only feed logs, metrics and waiting callers ({@link
 * OverlayReport}, {@link ReplicaReport}, {@link ReplicaStatusUpdated}, {@link Penalized}, {@link
 * SearchCompleted}); and work the core cannot do itself because it is slow or touches the
 * store ({@link SearchLocally}, {@link CheckHits}, {@link IngestShared}), whose results come
 * back as inputs ({@link NodeCore#onLocalResult}, {@link NodeCore#onCheckedResponse}, {@link
 * NodeCore#onSharedRejected}).
 */
public sealed interface NodeEffect {
  /**
   * Send one message to a peer, opening a link first if there is none.
   *
   * @param address where the peer listens, when the core knows it (a holder named in a
   *     manifest); null when the driver already knows it
   */
  record Send(NodeId to, PeerAddress address, Envelope envelope) implements NodeEffect {}

  /** A link to this address is wanted (the driver learns the address here). */
  record Connect(PeerAddress address) implements NodeEffect {}

  /** The link to this peer is no longer needed (or the peer is banned). */
  record Disconnect(NodeId peer) implements NodeEffect {}

  /** Something happened in the overlay (peers, broadcast deliveries, bans). */
  record OverlayReport(OverlayEvent event) implements NodeEffect {}

  /** Something happened in replication (writes acknowledged, repairs, losses). */
  record ReplicaReport(ReplicaEvent event) implements NodeEffect {}

  /**
   * Replication ran (a tick, or an input that reached it); its status as of now, for status
   * pages and metrics. The last of the call's effects.
   */
  record ReplicaStatusUpdated(ReplicaStatus status) implements NodeEffect {}

  /** A peer lost score (already applied; a ban, if any, follows as an overlay report). */
  record Penalized(NodeId peer, double points, String reason) implements NodeEffect {}

  /**
   * Search this node's shared fragments for a peer's request, off the driver's loop, then
   * call {@link NodeCore#onLocalResult}.
   */
  record SearchLocally(ByteString requestId, NetworkSearchRequest request)
      implements NodeEffect {}

  /**
   * Check the hits of a peer's search response (content hash, owner signature, shared), off
   * the driver's loop, then call {@link NodeCore#onCheckedResponse} with the hits that passed.
   */
  record CheckHits(NodeId from, NetworkSearchResponse response) implements NodeEffect {}

  /** A search this node started is over. */
  record SearchCompleted(ByteString requestId, NetworkSearch.Outcome outcome)
      implements NodeEffect {}

  /**
   * Check and keep a shared fragment received by broadcast, off the driver's loop; call
   * {@link NodeCore#onSharedRejected} if it does not check.
   */
  record IngestShared(NodeId origin, String topic, ByteString payload) implements NodeEffect {}
}
