package dev.mycelium.sim.real;

import com.typesafe.config.Config;
import java.util.List;

/**
 * The real-mode form of a scenario kind: the same experiment as its simulated form, run on
 * real node processes and driven through their HTTP API, filling a report with the same
 * sections where the measure exists on real nodes.
 */
interface RealScenario {
  void run(RealContext ctx);

  /**
   * Node settings this scenario needs (HOCON lines under {@code mycelium { }}), such as the
   * replication factor its file names; none by default.
   */
  default List<String> nodeSettings(Config config) {
    return List.of();
  }
}
