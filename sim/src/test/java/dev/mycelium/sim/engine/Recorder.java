package dev.mycelium.sim.engine;

import dev.mycelium.overlay.OverlayEvent;
import java.util.ArrayList;
import java.util.List;

/** Collects reported events for assertions. */
final class Recorder implements SimListener {
  record Seen(long time, int node, OverlayEvent event) {}

  final List<Seen> events = new ArrayList<>();

  @Override
  public void onEvent(long time, int node, OverlayEvent event) {
    events.add(new Seen(time, node, event));
  }

  <T extends OverlayEvent> List<Seen> of(Class<T> type) {
    return events.stream().filter(s -> type.isInstance(s.event())).toList();
  }
}
