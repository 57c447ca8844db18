package dev.mycelium.sim.real;

/**
 * The real-mode form of a scenario kind: the same experiment as its simulated form, run on
 * real node processes and driven through their HTTP API, filling a report with the same
 * sections where the measure exists on real nodes.
 */
interface RealScenario {
  void run(RealContext ctx);

  /**
   * HOCON lines under {@code mycelium { }} this scenario's nodes need on top of the harness's
   * (e.g. the replication factor the scenario file asks for); none by default.
   */
  default java.util.List<String> nodeSettings(com.typesafe.config.Config config) {
    return java.util.List.of();
  }
}
