package dev.mycelium.overlay;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import java.util.Objects;

/**
 * Where a peer can be reached. Views keep addresses, not only IDs, because a passive peer is
 * worth something only if we can later open a link to it.
 *
 * <p>Addresses arrive from peers, so {@link #fromProto} takes only what a dialer can use: an
 * IPv4 literal, an IPv6 literal or a DNS name, and a port in 1..65535. Checking the syntax here
 * keeps a peer from handing the driver strings (empty, control characters, URLs, 64 KiB of
 * text) that would be logged, persisted to {@code peers.json} and passed to a resolver.
 */
public record PeerAddress(NodeId id, String host, int port) {
  /** The longest host name DNS allows (RFC 1035), in characters. */
  public static final int MAX_HOST_LENGTH = 253;

  public PeerAddress {
    Objects.requireNonNull(id, "peer address needs a node ID");
    Objects.requireNonNull(host, "peer address needs a host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be in 0..65535, got " + port);
    }
  }

  /** Decodes a wire address; a malformed one raises IllegalArgumentException. */
  public static PeerAddress fromProto(dev.mycelium.wire.proto.PeerAddress p) {
    if (p.getPort() < 1 || p.getPort() > 65535) {
      throw new IllegalArgumentException("a peer's port must be in 1..65535, got "
          + Integer.toUnsignedString(p.getPort()));
    }
    String host = p.getHost();
    if (!isValidHost(host)) {
      throw new IllegalArgumentException("not a host name or IP literal: '"
          + (host.length() > 40 ? host.substring(0, 40) + "..." : host) + "'");
    }
    return new PeerAddress(NodeId.of(p.getNodeId().toByteArray()), host, p.getPort());
  }

  public dev.mycelium.wire.proto.PeerAddress toProto() {
    return dev.mycelium.wire.proto.PeerAddress.newBuilder()
        .setNodeId(ByteString.copyFrom(id.toBytes()))
        .setHost(host)
        .setPort(port)
        .build();
  }

  /** Whether the host is an IP literal, so that dialing it needs no name lookup. */
  public boolean isIpLiteral() {
    return isIpv4(host) || isIpv6(host);
  }

  /** An IPv4 literal, an IPv6 literal (bare or in brackets) or a DNS host name. */
  public static boolean isValidHost(String host) {
    if (host == null || host.isEmpty() || host.length() > MAX_HOST_LENGTH) {
      return false;
    }
    return isIpv4(host) || isIpv6(host) || isHostName(host);
  }

  static boolean isIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String part : parts) {
      if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')
          || Integer.parseInt(part) > 255 || (part.length() > 1 && part.charAt(0) == '0')) {
        return false;
      }
    }
    return true;
  }

  static boolean isIpv6(String s) {
    String body = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
    if (body.length() < 2 || body.indexOf(':') < 0) {
      return false;
    }
    int dbl = body.indexOf("::");
    if (dbl >= 0 && body.indexOf("::", dbl + 1) >= 0) {
      return false;
    }
    String[] groups = body.split(":", -1);
    int words = 0;
    for (int i = 0; i < groups.length; i++) {
      String g = groups[i];
      if (g.isEmpty()) {
        // Empty groups are allowed only as part of the one "::".
        if (dbl < 0) {
          return false;
        }
        continue;
      }
      if (i == groups.length - 1 && g.indexOf('.') >= 0) {
        if (!isIpv4(g)) {
          return false;
        }
        words += 2;
        continue;
      }
      if (g.length() > 4 || !g.chars().allMatch(c -> Character.digit(c, 16) >= 0 && c < 128)) {
        return false;
      }
      words++;
    }
    return dbl >= 0 ? words < 8 : words == 8;
  }

  static boolean isHostName(String s) {
    String name = s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    if (name.isEmpty()) {
      return false;
    }
    for (String label : name.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63 || label.startsWith("-")
          || label.endsWith("-")) {
        return false;
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_';
        if (!ok) {
          return false;
        }
      }
    }
    // A name of digits and dots only would be a malformed IPv4 literal, not a name.
    return !name.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.');
  }
}
