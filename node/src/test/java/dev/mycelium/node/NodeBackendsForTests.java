package dev.mycelium.node;

/** The backends the in-process integration tests run on. */
final class NodeBackendsForTests {
  private NodeBackendsForTests() {}

  static NodeBackends backends() {
    return new TestBackends();
  }
}
