package dev.mycelium.storage.replica;

import dev.mycelium.model.FragmentState;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.NodeId;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The encoded value of one held replica. A fixed header (format, state, owner, time, the
 * SHA-256 of the content) followed by the content: the {@code SignedReplica} bytes when
 * PRESENT, the {@code SignedTombstone} bytes when DELETED, nothing when BLANK. The digest is
 * what a read checks: it finds rot in the content at the cost of one hash, where the owner's
 * signature (checked by the scrubber) would cost an Ed25519 verification.
 */
record ReplicaRecord(FragmentState state, NodeId owner, long storedAtMillis, byte[] content) {
  static final byte FORMAT = 1;
  static final int HEADER = 1 + 1 + NodeId.LENGTH + 8 + 32;
  private static final FragmentState[] STATES = FragmentState.values();

  byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(HEADER + content.length);
    b.put(FORMAT).put((byte) state.ordinal()).put(owner.toBytes()).putLong(storedAtMillis)
        .put(Canonical.sha256(content)).put(content);
    return b.array();
  }

  /** Why a raw value cannot be trusted, or null when its header parses and its digest checks. */
  static String problem(byte[] raw) {
    if (raw.length < HEADER) {
      return "the record is truncated";
    }
    if (raw[0] != FORMAT) {
      return "the record has an unknown format " + raw[0];
    }
    if (raw[1] < 0 || raw[1] >= STATES.length) {
      return "the record has an unknown state " + raw[1];
    }
    byte[] content = Arrays.copyOfRange(raw, HEADER, raw.length);
    if (!Arrays.equals(Canonical.sha256(content), Arrays.copyOfRange(raw, HEADER - 32, HEADER))) {
      return "the record's bytes do not match their hash";
    }
    return null;
  }

  /** Decodes a value whose {@link #problem} is null. */
  static ReplicaRecord decode(byte[] raw) {
    ByteBuffer b = ByteBuffer.wrap(raw);
    b.get();
    FragmentState state = STATES[b.get()];
    byte[] owner = new byte[NodeId.LENGTH];
    b.get(owner);
    long at = b.getLong();
    return new ReplicaRecord(state, NodeId.of(owner), at,
        Arrays.copyOfRange(raw, HEADER, raw.length));
  }

  /**
   * The owner and state of a raw value, trusting only its header: what survives when the
   * content is damaged. Null when even the header is unreadable.
   */
  static ReplicaRecord headerOf(byte[] raw) {
    if (raw.length < HEADER || raw[0] != FORMAT || raw[1] < 0 || raw[1] >= STATES.length) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(raw);
    b.get();
    FragmentState state = STATES[b.get()];
    byte[] owner = new byte[NodeId.LENGTH];
    b.get(owner);
    return new ReplicaRecord(state, NodeId.of(owner), b.getLong(), new byte[0]);
  }
}
