package dev.mycelium.overlay;

/** Signs this node's own broadcasts; the counterpart of {@link Verifier}. */
@FunctionalInterface
public interface Signer {
  byte[] sign(byte[] signedBytes);
}
