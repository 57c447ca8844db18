package dev.mycelium.overlay;

import dev.mycelium.wire.NodeId;

/**
 * Checks an origin's signature on a broadcast. Pluggable so the cores stay free of key
 * handling: the daemon plugs in Ed25519 keyed by node ID, the simulator a cheap deterministic
 * check. A broadcast that fails it is neither delivered nor relayed, and costs its sender score.
 */
@FunctionalInterface
public interface Verifier {
  boolean verify(NodeId origin, byte[] signedBytes, byte[] signature);
}
