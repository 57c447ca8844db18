package dev.mycelium.sim.scenario;

import com.typesafe.config.Config;
import java.util.List;

/**
 * A scenario kind written once for both substrates: it runs its experiment on a
 * {@link Cluster}, simulated or real, and fills the context's report, leaving out what the
 * substrate cannot measure.
 */
public interface ClusterScenario {
  void run(Cluster cluster);

  /**
   * Node settings the scenario needs on real nodes (HOCON lines under {@code mycelium { }});
   * none by default.
   */
  default List<String> nodeSettings(Config config) {
    return List.of();
  }
}
