package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.overlay.OverlayConfig;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

/**
 * With a target degree well below the cap, joins by degree-proportional random walks grow hubs
 * (preferential attachment); with the target at the cap the degrees stay nearly regular.
 */
class PreferentialAttachmentTest {
  private static GraphStats grow(OverlayConfig config, int n) {
    OverlaySim sim = new OverlaySim(7, n, config, new NetworkModel());
    sim.growAll(0, 20);
    sim.runUntil(n * 20L + 30_000);
    return GraphStats.of(sim);
  }

  @Test
  void aTargetBelowTheCapGrowsHubsWhileMostNodesKeepTheTarget() {
    int target = 3;
    GraphStats g = grow(OverlayConfig.lan().withViews(30, target, 60), 600);
    assertThat(g.componentSizes()).containsExactly(600);
    SortedMap<Integer, Integer> hist = g.degreeHistogram();
    int mode = hist.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    assertThat(mode).as("the most common degree").isEqualTo(target);
    assertThat(g.maxDegree()).as("the largest hub").isGreaterThanOrEqualTo(5 * target);
    long overTwiceTarget = hist.entrySet().stream().filter(e -> e.getKey() > 2 * target)
        .mapToLong(Map.Entry::getValue).sum();
    assertThat(overTwiceTarget).as("nodes with more than twice the target degree")
        .isBetween(30L, 300L);
  }

  @Test
  void aTargetAtTheCapKeepsDegreesNearTheCap() {
    GraphStats g = grow(OverlayConfig.lan(), 300);
    assertThat(g.maxDegree()).isLessThanOrEqualTo(6);
    assertThat(g.degreeHistogram().getOrDefault(6, 0)).isGreaterThan(270);
  }
}
