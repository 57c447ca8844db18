package dev.mycelium.sim.engine;

import dev.mycelium.overlay.Signer;
import dev.mycelium.overlay.Verifier;
import dev.mycelium.wire.NodeId;
import java.nio.ByteBuffer;

/**
 * A stand-in for broadcast signatures in the simulator: a deterministic 64-bit tag keyed by
 * the origin's node ID. It costs almost nothing, so the simulator measures the protocol and
 * not the cipher, and it is still checked, so forged broadcasts are caught. Not security: the
 * daemon plugs in Ed25519.
 */
public final class SimCrypto {
  private SimCrypto() {}

  public static byte[] tag(NodeId origin, byte[] data) {
    byte[] key = origin.toBytes();
    long h = 0x9E3779B97F4A7C15L;
    for (byte b : key) {
      h = (h ^ (b & 0xff)) * 0x100000001B3L;
    }
    for (byte b : data) {
      h = (h ^ (b & 0xff)) * 0x100000001B3L;
      h ^= h >>> 29;
    }
    return ByteBuffer.allocate(8).putLong(h).array();
  }

  public static Signer signer(NodeId self) {
    return data -> tag(self, data);
  }

  public static Verifier verifier() {
    return (origin, data, signature) -> java.util.Arrays.equals(tag(origin, data), signature);
  }
}
