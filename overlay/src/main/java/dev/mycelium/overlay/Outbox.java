package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.List;

/**
 * The effects produced by one call into the cores, in order. The facade hands one outbox to
 * every core it calls so that the output of a call is a single ordered list.
 */
public final class Outbox {
  private final List<Effect> effects = new ArrayList<>();

  public void send(NodeId to, Envelope envelope) {
    effects.add(new Effect.Send(to, envelope));
  }

  public void connect(PeerAddress address) {
    effects.add(new Effect.Connect(address));
  }

  public void disconnect(NodeId peer) {
    effects.add(new Effect.Disconnect(peer));
  }

  public void report(OverlayEvent event) {
    effects.add(new Effect.Report(event));
  }

  /** The effects so far, in the order they were produced. */
  public List<Effect> effects() {
    return effects;
  }

  int size() {
    return effects.size();
  }

  Effect get(int i) {
    return effects.get(i);
  }
}
