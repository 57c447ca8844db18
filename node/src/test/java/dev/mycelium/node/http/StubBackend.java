package dev.mycelium.node.http;

import dev.mycelium.node.FragmentService;
import dev.mycelium.node.NotReadyException;
import dev.mycelium.node.metrics.NodeMetrics;
import java.util.List;
import java.util.Map;

/**
 * A backend for route tests: the given fragment service (or none, every store call answered
 * 503), an empty status, always ready, its own metrics. A test overrides only what its routes
 * use.
 */
public abstract class StubBackend implements ApiBackend {
  private final NodeMetrics metrics = new NodeMetrics(() -> null);
  private final FragmentService service;

  /** A backend with no fragment service: the store is never ready. */
  public StubBackend() {
    this(null);
  }

  /** A backend whose routes reach {@code service}. */
  public StubBackend(FragmentService service) {
    this.service = service;
  }

  @Override
  public FragmentService fragments() {
    if (service == null) {
      throw new NotReadyException("not in this test");
    }
    return service;
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
