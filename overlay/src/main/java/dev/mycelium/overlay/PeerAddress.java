package dev.mycelium.overlay;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import java.util.Objects;

/**
 * Where a peer can be reached. Views keep addresses, not only IDs, because a passive peer is
 * worth something only if we can later open a link to it.
 */
public record PeerAddress(NodeId id, String host, int port) {
  public PeerAddress {
    Objects.requireNonNull(id, "peer address needs a node ID");
    Objects.requireNonNull(host, "peer address needs a host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be in 0..65535, got " + port);
    }
  }

  /** Decodes a wire address; a malformed one raises IllegalArgumentException. */
  public static PeerAddress fromProto(dev.mycelium.wire.proto.PeerAddress p) {
    return new PeerAddress(NodeId.of(p.getNodeId().toByteArray()), p.getHost(), p.getPort());
  }

  public dev.mycelium.wire.proto.PeerAddress toProto() {
    return dev.mycelium.wire.proto.PeerAddress.newBuilder()
        .setNodeId(ByteString.copyFrom(id.toBytes()))
        .setHost(host)
        .setPort(port)
        .build();
  }
}
