package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.overlay.OverlayNode;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.Protocol;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Hello;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;

/**
 * The bytes a peer sends after TLS, cut into frames as the transport cuts them (a 4-byte length,
 * at most {@link Protocol#MAX_FRAME_BYTES}), the first read as a Hello and converted, the rest as
 * envelopes: a frame either decodes or is refused with a parse error or the documented
 * IllegalArgumentException, a declared length past the limit is refused, and the input arrives
 * in two reads split where its first byte says.
 */
class PeerFrameFuzzTest {
  @FuzzTest
  void frames(byte[] input) {
    if (input.length == 0) {
      return;
    }
    EmbeddedChannel ch = new EmbeddedChannel(
        new LengthFieldBasedFrameDecoder(Protocol.MAX_FRAME_BYTES, 0, 4, 0, 4));
    int split = 1 + (input[0] & 0xff) % input.length;
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(input, 1, split - 1));
      ch.writeInbound(Unpooled.wrappedBuffer(input, split, input.length - split));
    } catch (TooLongFrameException e) {
      assertThat(e.getMessage()).contains("exceeds");
    }
    boolean first = true;
    ByteBuf frame;
    while ((frame = ch.readInbound()) != null) {
      byte[] bytes = ByteBufUtil.getBytes(frame);
      frame.release();
      assertThat(bytes.length).isLessThanOrEqualTo(Protocol.MAX_FRAME_BYTES);
      try {
        if (first) {
          Hello hello = Hello.parseFrom(bytes);
          PeerAddress address = PeerAddress.fromProto(hello.getAddress());
          assertThat(address.port()).isBetween(0, 65535);
        } else {
          Envelope env = Envelope.parseFrom(bytes);
          OverlayNode.isApplication(env);
        }
      } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
        // refused as the transport refuses it: the link is closed as malformed
      }
      first = false;
    }
    ch.finishAndReleaseAll();
  }
}
