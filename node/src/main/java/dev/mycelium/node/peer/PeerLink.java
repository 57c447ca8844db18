package dev.mycelium.node.peer;

import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.Protocol;
import dev.mycelium.wire.proto.Envelope;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * One authenticated link to a peer: its TLS certificate hashed to {@link #peer()}, its proof
 * of the network key checked for this link, and its Hello checked. Writes are bounded ({@link #send}) because a peer that stops reading must
 * cost this node a closed link, never unbounded memory.
 *
 * <p>Safe to use from the node's driver thread while the channel lives on an I/O thread: the
 * write bookkeeping is atomic and Netty queues writes from other threads.
 */
public final class PeerLink {
  private final Channel channel;
  private final NodeId peer;
  private final PeerAddress advertised;
  private final boolean outbound;
  private final InetSocketAddress dialed;
  private final PeerTransport transport;
  private final java.util.concurrent.atomic.AtomicInteger pendingFrames =
      new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong pendingBytes =
      new java.util.concurrent.atomic.AtomicLong();
  private volatile boolean closeRequested;
  private volatile boolean dropped;
  private volatile ChannelFuture lastWrite;

  PeerLink(Channel channel, NodeId peer, PeerAddress advertised, boolean outbound,
      InetSocketAddress dialed, PeerTransport transport) {
    this.dialed = dialed;
    this.channel = channel;
    this.peer = peer;
    this.advertised = advertised;
    this.outbound = outbound;
    this.transport = transport;
  }

  /** The authenticated node ID of the peer. */
  public NodeId peer() {
    return peer;
  }

  /** The address the peer advertised in its Hello (where others can dial it). */
  public PeerAddress advertised() {
    return advertised;
  }

  /** Whether this node opened the link. */
  public boolean outbound() {
    return outbound;
  }

  /** The address this node dialed, or null for an inbound link. */
  public InetSocketAddress dialed() {
    return dialed;
  }

  public SocketAddress remoteAddress() {
    return channel.remoteAddress();
  }

  /** Whether the link is usable: open, and not being dropped for a slow reader. */
  public boolean isOpen() {
    return channel.isActive() && !dropped;
  }

  /** Whether this node asked for the link to close (then its loss is no news to the overlay). */
  public boolean closeRequested() {
    return closeRequested;
  }

  /**
   * Queues one envelope. When the peer has more unsent frames or bytes than the limits allow,
   * the link is dropped and counted instead: a slow reader is cut off, not buffered for.
   *
   * @return false when the envelope was not queued
   */
  public boolean send(Envelope envelope) {
    if (!isOpen()) {
      return false;
    }
    byte[] bytes = envelope.toByteArray();
    if (bytes.length > Protocol.MAX_FRAME_BYTES) {
      // The peer would drop the link and count this node as malformed; an oversized message
      // is this node's bug (or a peer's trick to get it penalized), so it is not sent.
      transport.countOversized(this, envelope.getBodyCase().name(), bytes.length);
      return false;
    }
    PeerTransport.Limits limits = transport.limits();
    if (pendingFrames.get() >= limits.maxPendingFrames()
        || pendingBytes.get() + bytes.length > limits.maxPendingBytes()) {
      // The peer is not reading, so a polite TLS close would wait on it too: drop the link
      // and stop queueing at once; the socket goes when the close_notify times out.
      dropped = true;
      transport.countOverflow(this);
      channel.close();
      return false;
    }
    pendingFrames.incrementAndGet();
    pendingBytes.addAndGet(bytes.length);
    final int size = bytes.length;
    ChannelFuture write = channel.writeAndFlush(Unpooled.wrappedBuffer(bytes));
    lastWrite = write;
    write.addListener(f -> {
      pendingFrames.decrementAndGet();
      pendingBytes.addAndGet(-size);
    });
    transport.countOut(size);
    return true;
  }

  /** Closes the link after the frames already queued have been written. */
  public void close() {
    closeRequested = true;
    ChannelFuture last = lastWrite;
    if (last != null && !last.isDone()) {
      last.addListener(ChannelFutureListener.CLOSE);
    } else {
      channel.close();
    }
  }

  /** Closes at once, dropping queued frames (a crash, as far as the peer can tell). */
  void abort() {
    closeRequested = true;
    channel.close();
  }

  int pendingFrames() {
    return pendingFrames.get();
  }

  /** Stops or resumes reading from the peer (back-pressure while the driver is behind). */
  void reading(boolean on) {
    channel.config().setAutoRead(on);
  }

  @Override
  public String toString() {
    return peer.shortString() + (outbound ? "->" : "<-") + channel.remoteAddress();
  }
}
