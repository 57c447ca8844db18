package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PeerAddressTest {
  private static dev.mycelium.wire.proto.PeerAddress wire(String host, int port) {
    return dev.mycelium.wire.proto.PeerAddress.newBuilder()
        .setNodeId(ByteString.copyFrom(TestCrypto.id(1).toBytes())).setHost(host).setPort(port)
        .build();
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.1", "0.0.0.0", "::1", "[::1]", "fe80::1:2", "2001:db8::8:800:200c:417a",
      "::ffff:192.0.2.1", "1:2:3:4:5:6:7:8", "node-1.example.org", "localhost", "sim", "a.b.c.",
      "_svc.example"})
  void acceptsLiteralsAndNames(String host) {
    assertThat(PeerAddress.fromProto(wire(host, 7000)).host()).isEqualTo(host);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "10.0.0.256", "10.0.0", "01.2.3.4", "1.2.3.4.5", "1:2:3:4:5:6:7:8:9",
      "1::2::3", ":::", "fe80::1%eth0", "-bad.example", "bad-.example", "a..b", "http://x.org",
      "host:7000", "x y", "evil\nlog", "ex\u00e4mple.org", "..", "."})
  void refusesAnythingElse(String host) {
    assertThatThrownBy(() -> PeerAddress.fromProto(wire(host, 7000)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void refusesLongHostsAndBadPorts() {
    assertThatThrownBy(() -> PeerAddress.fromProto(wire("a".repeat(64) + ".org", 7000)))
        .isInstanceOf(IllegalArgumentException.class);
    String longName = ("a".repeat(60) + ".").repeat(5);
    assertThatThrownBy(() -> PeerAddress.fromProto(wire(longName, 7000)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PeerAddress.fromProto(wire("10.0.0.1", 0)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PeerAddress.fromProto(wire("10.0.0.1", 65536)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PeerAddress.fromProto(wire("10.0.0.1", -1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void knowsWhichHostsNeedNoLookup() {
    assertThat(new PeerAddress(TestCrypto.id(1), "10.0.0.1", 1).isIpLiteral()).isTrue();
    assertThat(new PeerAddress(TestCrypto.id(1), "::1", 1).isIpLiteral()).isTrue();
    assertThat(new PeerAddress(TestCrypto.id(1), "node.example", 1).isIpLiteral()).isFalse();
  }
}
