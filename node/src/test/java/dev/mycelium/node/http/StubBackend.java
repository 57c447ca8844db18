package dev.mycelium.node.http;

import dev.mycelium.node.FragmentService;
import dev.mycelium.node.NotReadyException;
import dev.mycelium.node.metrics.NodeMetrics;
import java.util.List;
import java.util.Map;

/**
 * A backend for route tests that exercise one family of routes: no fragment service, an empty
 * status, always ready, its own metrics. A test overrides only what its routes use.
 */
abstract class StubBackend implements ApiBackend {
  private final NodeMetrics metrics = new NodeMetrics(() -> null);

  @Override
  public FragmentService fragments() {
    throw new NotReadyException("not in this test");
  }

  @Override
  public Map<String, Object> status() {
    return Map.of();
  }

  @Override
  public List<String> notReadyReasons() {
    return List.of();
  }

  @Override
  public NodeMetrics metrics() {
    return metrics;
  }
}
