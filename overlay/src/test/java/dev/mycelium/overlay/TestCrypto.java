package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/** A deterministic tag standing in for signatures in tests: SHA-256(origin || data). */
final class TestCrypto {
  private TestCrypto() {}

  static byte[] tag(NodeId origin, byte[] data) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(origin.toBytes());
      return sha.digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static Signer signer(NodeId self) {
    return data -> tag(self, data);
  }

  static Verifier verifier() {
    return (origin, data, sig) -> Arrays.equals(tag(origin, data), sig);
  }

  static NodeId id(int b) {
    byte[] x = new byte[32];
    x[0] = (byte) b;
    x[31] = (byte) (b * 7 + 1);
    return NodeId.of(x);
  }
}
