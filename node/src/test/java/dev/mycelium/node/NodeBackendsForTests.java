package dev.mycelium.node;

/**
 * The backends the in-process integration tests run on: the daemon's own (Chronicle Map store,
 * jvector index, embedder by config, which the test preset sets to hash).
 */
final class NodeBackendsForTests {
  private NodeBackendsForTests() {}

  static NodeBackends backends() {
    return new StandardBackends();
  }
}
