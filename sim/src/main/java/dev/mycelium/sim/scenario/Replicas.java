package dev.mycelium.sim.scenario;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.wire.NodeId;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What replicating scenarios share: the codec of the simulated stores, how a simulated user
 * writes a fragment, and how many live copies each fragment has across the network. Vectors
 * are short (8 dimensions) because the simulator measures the protocol, not the index; the
 * text size is the scenario's choice, so bytes moved are realistic for it.
 */
final class Replicas {
  /** The codec every replicating simulation uses. */
  static final FragmentCodec CODEC = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(8));

  private Replicas() {}

  /** A new shared fragment of node i, signed with its keys, with {@code textBytes} of text. */
  static Fragment newFragment(OverlaySim sim, int i, int serial, int textBytes,
      SplittableRandom random, long now) {
    StringBuilder text = new StringBuilder(textBytes);
    text.append("note ").append(serial).append(" of node ").append(i).append(": ");
    while (text.length() < textBytes) {
      text.append((char) ('a' + random.nextInt(26)));
    }
    float[] vector = new float[8];
    for (int k = 0; k < vector.length; k++) {
      vector[k] = (float) random.nextDouble();
    }
    return CODEC.create(sim.keys(i), now, text.toString(), vector,
        Map.of("serial", Integer.toString(serial)), Visibility.SHARED);
  }

  /**
   * Copies of each fragment held (not as a tombstone) by live nodes other than its owner: the
   * replication factor as the network sees it now. Fragments nobody holds count 0.
   */
  static Map<FragmentId, Integer> liveCopies(OverlaySim sim, Collection<FragmentId> fragments) {
    Map<FragmentId, Integer> copies = new HashMap<>();
    for (FragmentId id : fragments) {
      copies.put(id, 0);
    }
    for (int i = 0; i < sim.size(); i++) {
      InMemoryHeldReplicas held = sim.held(i);
      if (!sim.isLive(i) || held == null) {
        continue;
      }
      NodeId self = sim.id(i);
      for (NodeId owner : held.owners()) {
        if (owner.equals(self)) {
          continue;
        }
        held.forEach(owner, (id, deleted) -> {
          if (!deleted) {
            copies.computeIfPresent(id, (k, v) -> v + 1);
          }
        });
      }
    }
    return copies;
  }
}
