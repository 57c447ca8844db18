package dev.mycelium.overlay.replica;

import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.HyParView;
import dev.mycelium.overlay.OverlayNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A peer the owner may place replicas on: an active neighbour with the capacity it advertised
 * and its current score. The driver hands the list to {@link ReplicaCore#updatePeers} whenever
 * the active view or a capacity changes (or simply every tick).
 *
 * @param address where the peer listens (holders learn each other's addresses from manifests)
 * @param capacity what the peer advertised
 * @param score the peer's score (0 neutral, negative worse), see PeerScores
 */
public record Candidate(PeerAddress address, Capacity capacity, double score) {
  public Candidate {
    Objects.requireNonNull(address, "candidate address");
    Objects.requireNonNull(capacity, "candidate capacity");
  }

  public NodeId id() {
    return address.id();
  }

  /** The active view of an overlay node, with capacities and scores, as candidates. */
  public static List<Candidate> fromOverlay(OverlayNode overlay, long now) {
    List<Candidate> out = new ArrayList<>();
    for (Map.Entry<NodeId, HyParView.ActivePeer> e : overlay.views().active().entrySet()) {
      out.add(new Candidate(e.getValue().address(), e.getValue().capacity(),
          overlay.scores().score(now, e.getKey())));
    }
    return out;
  }
}
