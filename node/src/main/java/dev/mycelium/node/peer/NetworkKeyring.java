package dev.mycelium.node.peer;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The network keys a node accepts and the one it presents, so that a private network admits
 * only nodes that hold its key.
 *
 * <p>Why a keyring and not one key: rotating a key across a running network must not split it.
 * An operator {@link #install}s the new key on every node (old and new are now both accepted),
 * then {@link #use}s it everywhere (nodes now present the new one), then {@link #remove}s the
 * old one. At every step any two nodes share an accepted key.
 *
 * <p>The key itself never crosses the wire: a Hello carries the network ID, the first 16 bytes
 * of HMAC-SHA256(key, "mycelium-network-id") in hex. The ID is only an admission ticket; the
 * link's confidentiality and the peer's identity come from TLS and the certificate check.
 * Thread-safe: an operator may rotate keys while links are being opened.
 */
public final class NetworkKeyring {
  /** Bytes in a network key, as made by {@code mycelium keygen}. */
  public static final int KEY_BYTES = 32;

  private static final byte[] LABEL = "mycelium-network-id".getBytes(StandardCharsets.US_ASCII);
  private static final int ID_BYTES = 16;

  private final List<byte[]> installed = new ArrayList<>();
  private byte[] inUse;

  private NetworkKeyring(byte[] key) {
    install(key);
    inUse = key.clone();
  }

  /** A keyring that accepts and presents this one key. */
  public static NetworkKeyring of(byte[] key) {
    return new NetworkKeyring(check(key));
  }

  /**
   * Decodes a base64 network key.
   *
   * @throws IllegalArgumentException saying what is wrong with the text
   */
  public static byte[] parse(String base64) {
    if (base64 == null || base64.isBlank()) {
      throw new IllegalArgumentException("network key is empty; make one with mycelium keygen");
    }
    byte[] key;
    try {
      key = Base64.getDecoder().decode(base64.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("network key is not valid base64: " + e.getMessage());
    }
    return check(key);
  }

  /** The network ID that a node holding this key sends in its Hello. */
  public static String networkId(byte[] key) {
    check(key);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return HexFormat.of().formatHex(Arrays.copyOf(mac.doFinal(LABEL), ID_BYTES));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has HmacSHA256", e);
    }
  }

  /** The ID to send given an optional keyring: the empty string for an open network. */
  public static String sentId(Optional<NetworkKeyring> ring) {
    return ring.map(NetworkKeyring::sentId).orElse("");
  }

  /** Whether a peer's network ID is admitted given an optional keyring. */
  public static boolean accepts(Optional<NetworkKeyring> ring, String peerId) {
    return ring.map(r -> r.accepts(peerId)).orElse(peerId.isEmpty());
  }

  /** Accepts peers that present this key, in addition to those already accepted. */
  public synchronized void install(byte[] key) {
    check(key);
    if (!contains(key)) {
      installed.add(key.clone());
    }
  }

  /** Presents this key from now on (installing it if needed). */
  public synchronized void use(byte[] key) {
    install(key);
    inUse = key.clone();
  }

  /**
   * Stops accepting this key.
   *
   * @throws IllegalStateException when it is the key in use
   */
  public synchronized void remove(byte[] key) {
    check(key);
    if (Arrays.equals(key, inUse)) {
      throw new IllegalStateException("this network key is in use; use another key first");
    }
    installed.removeIf(k -> Arrays.equals(k, key));
  }

  /** The network ID this node sends. */
  public synchronized String sentId() {
    return networkId(inUse);
  }

  /** Whether a peer presenting this network ID is one of ours. */
  public synchronized boolean accepts(String peerId) {
    for (byte[] k : installed) {
      if (networkId(k).equals(peerId)) {
        return true;
      }
    }
    return false;
  }

  /** Every accepted key (copies), in the order they were installed. */
  public synchronized List<byte[]> keys() {
    List<byte[]> out = new ArrayList<>(installed.size());
    for (byte[] k : installed) {
      out.add(k.clone());
    }
    return out;
  }

  /** The key this node presents (a copy). */
  public synchronized byte[] keyInUse() {
    return inUse.clone();
  }

  /** How many keys are accepted. */
  public synchronized int size() {
    return installed.size();
  }

  private boolean contains(byte[] key) {
    return installed.stream().anyMatch(k -> Arrays.equals(k, key));
  }

  private static byte[] check(byte[] key) {
    if (key == null || key.length != KEY_BYTES) {
      throw new IllegalArgumentException("a network key is " + KEY_BYTES + " bytes, got "
          + (key == null ? "none" : key.length) + "; make one with mycelium keygen");
    }
    return key;
  }
}
