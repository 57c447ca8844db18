package dev.mycelium.node.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;

/**
 * Splits the peer byte stream into frames: a 4-byte big-endian length, then that many bytes.
 *
 * <p>Why not Netty's {@code LengthFieldBasedFrameDecoder}: its limit is fixed, and a peer
 * must get a much smaller one before its Hello is accepted ({@link
 * dev.mycelium.wire.Protocol#MAX_HANDSHAKE_FRAME_BYTES}) than after. The limit is checked as
 * soon as the length arrives, so an oversized frame ends the link before its body is
 * buffered, however slowly it is sent.
 */
final class PeerFrameDecoder extends ByteToMessageDecoder {
  private int maxFrameBytes;
  private boolean broken;

  PeerFrameDecoder(int maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Changes the limit for frames not yet started (called on the channel's event loop). */
  void setMaxFrameBytes(int maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
  }

  int maxFrameBytes() {
    return maxFrameBytes;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (broken) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (in.readableBytes() < 4) {
      return;
    }
    long length = in.getUnsignedInt(in.readerIndex());
    if (length > maxFrameBytes) {
      broken = true;
      in.skipBytes(in.readableBytes());
      throw new TooLongFrameException("frame of " + length + " bytes, over the limit of "
          + maxFrameBytes);
    }
    if (in.readableBytes() < 4 + length) {
      return;
    }
    in.skipBytes(4);
    out.add(in.readRetainedSlice((int) length));
  }
}
