package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;

/**
 * What a core asks its driver to do. The daemon maps these onto Netty channels; the
 * simulator onto its event queue. Keeping them as data is what lets one core run on both.
 */
public sealed interface Effect {
  /** Send one message to a peer (opening a link first if there is none). */
  record Send(NodeId to, Envelope envelope) implements Effect {}

  /** A hint that a link to this address is wanted (the driver learns the address here). */
  record Connect(PeerAddress address) implements Effect {}

  /** A hint that the link to this peer is no longer needed (or the peer is banned). */
  record Disconnect(NodeId peer) implements Effect {}

  /** Something happened. */
  record Report(OverlayEvent event) implements Effect {}
}
