package dev.mycelium.sim.scenario;

/**
 * One kind of experiment: it builds simulations from its {@link ScenarioContext} (the loaded
 * HOCON file with overrides), runs them, and fills the context's report. A scenario file names
 * its kind with the {@code kind} key, so one kind can serve several files.
 */
public interface Scenario {
  void run(ScenarioContext ctx);
}
