package dev.mycelium.wire;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import dev.mycelium.wire.proto.FragmentBody;
import dev.mycelium.wire.proto.MetadataEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The canonical encoding that content addresses rest on.
 *
 * <p>Protobuf promises nothing about byte-stable output in general; Mycelium pins it down:
 * deterministic serialization, metadata sorted by key with no duplicates, and the exact body
 * bytes kept beside the signature (see {@code SignedFragment}) so that a receiver hashes what
 * the owner hashed and never a re-encoding.
 */
public final class Canonical {
  private Canonical() {}

  /** The canonical form of a body: metadata sorted by key; duplicate keys rejected. */
  public static FragmentBody normalize(FragmentBody body) {
    List<MetadataEntry> entries = new ArrayList<>(body.getMetadataList());
    entries.sort(Comparator.comparing(MetadataEntry::getKey));
    for (int i = 1; i < entries.size(); i++) {
      if (entries.get(i).getKey().equals(entries.get(i - 1).getKey())) {
        throw new IllegalArgumentException(
            "metadata key '" + entries.get(i).getKey() + "' appears twice");
      }
    }
    return body.toBuilder().clearMetadata().addAllMetadata(entries).build();
  }

  /** Deterministic protobuf bytes of a message. */
  public static byte[] encode(MessageLite message) {
    byte[] out = new byte[message.getSerializedSize()];
    CodedOutputStream stream = CodedOutputStream.newInstance(out);
    stream.useDeterministicSerialization();
    try {
      message.writeTo(stream);
      stream.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException("encoding into an exact-size array cannot fail", e);
    }
    return out;
  }

  /** SHA-256 of the given bytes. */
  public static byte[] sha256(byte[] data) {
    return NodeId.sha256(data);
  }
}
