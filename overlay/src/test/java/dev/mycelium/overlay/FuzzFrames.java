package dev.mycelium.overlay;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.wire.proto.Envelope;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The input format of the message fuzz tests: repeated records of a flag byte, a 2-byte length
 * and that many bytes of envelope (cut short where the input ends). The flag's low seven bits
 * choose the sender; bit 7 is a switch each test gives its own meaning.
 */
public final class FuzzFrames {
  private FuzzFrames() {}

  /** One record: its flag byte and its envelope bytes. */
  public record Frame(int flags, byte[] bytes) {
    /** The index, below {@code senders}, of the peer that sends this record. */
    public int sender(int senders) {
      return (flags & 0x7f) % senders;
    }

    /** Whether bit 7 of the flag is set. */
    public boolean marked() {
      return (flags & 0x80) != 0;
    }

    /** The envelope, or null when the bytes do not parse as one. */
    public Envelope envelope() {
      try {
        return Envelope.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        return null;
      }
    }
  }

  /** Every record in {@code input}, in order. */
  public static List<Frame> read(byte[] input) {
    ByteBuffer in = ByteBuffer.wrap(input);
    List<Frame> frames = new ArrayList<>();
    while (in.remaining() >= 3) {
      int flags = in.get() & 0xff;
      byte[] frame = new byte[Math.min(in.getShort() & 0xffff, in.remaining())];
      in.get(frame);
      frames.add(new Frame(flags, frame));
    }
    return frames;
  }
}
