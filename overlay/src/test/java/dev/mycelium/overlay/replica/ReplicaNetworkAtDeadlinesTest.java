package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.Fragment;
import dev.mycelium.wire.NodeId;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every scenario of {@link ReplicaNetworkTest} again, with each node ticked only at its core's
 * {@link ReplicaCore#nextDeadline()}, never sooner than a tick after its last, as {@code
 * NodeCore} spaces them: the outcomes must be the same, so no work may wait for a tick that no
 * deadline asks for. And a network with nothing to do sleeps.
 */
class ReplicaNetworkAtDeadlinesTest extends ReplicaNetworkTest {
  @Override
  ReplicaNet net(long seed, int size) {
    return new ReplicaNet(FAST, seed, size, true);
  }

  /**
   * With the shipped timings, an idle network's nodes wake for anti-entropy (one round per
   * 30 s: 20 in 10 minutes, 21 depending on the first round's random phase) and the owner's
   * three holders also for their scrub (a pass of 15 minutes over 10 replicas is one step every
   * 90 s: 6 or 7 in 10 minutes), where ticking every 100 ms made 6,000. The window starts once
   * the first pass over the replicas is under way: the pass at start found nothing held, and
   * replicas are verified as they arrive anyway.
   */
  @Test
  void anIdleNetworkWakesOnlyForAntiEntropyAndTheScrub() {
    ReplicaNet net = new ReplicaNet(ReplicaConfig.DEFAULTS, 41, 6, true);
    ReplicaNet.Node owner = net.list().get(0);
    List<Fragment> fs = writeAll(net, owner, 10);
    net.run(16 * 60_000);
    assertFullyReplicated(net, owner, fs);
    net.list().forEach(n -> n.ticks = 0);
    net.run(10 * 60_000);
    List<NodeId> holders = owner.core.holders();
    for (ReplicaNet.Node n : net.list()) {
      assertThat(n.ticks).as("ticks of %s in 10 idle minutes", n.address.host())
          .isBetween(holders.contains(n.id()) ? 26L : 20L, holders.contains(n.id()) ? 28L : 21L);
    }
    assertFullyReplicated(net, owner, fs);
  }
}
