package dev.mycelium.node.peer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
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
 * <p>The key never crosses the wire, and neither does anything fixed that stands for it: a
 * fixed token would be an admission ticket that anyone who saw it once could replay. Instead
 * each side of a link proves the key with {@link #prove}: an HMAC-SHA256 under the key over
 * its role, both TLS certificate keys and fresh nonces from both sides, checked by {@link
 * #verify} against every installed key. A proof is worth nothing on any other link, and a
 * node answers a stranger's challenge only after the stranger's own proof checked (see
 * {@link PeerTransport} and docs/adr/0008-network-key-proof.md).
 *
 * <p>{@link #networkId} is a fingerprint of a key for operators (keyring listings, the audit
 * log); it is never sent to peers and admits nobody. Thread-safe: an operator may rotate keys
 * while links are being opened.
 */
public final class NetworkKeyring {
  /** Bytes in a network key, as made by {@code mycelium keygen}. */
  public static final int KEY_BYTES = 32;

  private static final byte[] LABEL = "mycelium-network-id".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PROOF_LABEL =
      "mycelium-key-proof-v2".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] LAN_LABEL = "mycelium-lan-tag-v2".getBytes(StandardCharsets.US_ASCII);
  private static final int ID_BYTES = 16;
  private static final int LAN_TAG_BYTES = 16;

  /** Which end of a link a proof speaks for; part of the MAC so a proof cannot be reflected. */
  public enum Role {
    /** The node that opened the TCP connection. */
    DIALER,
    /** The node that accepted it. */
    LISTENER
  }

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

  /**
   * The fingerprint of a key shown to operators (never sent to peers): the first 16 bytes of
   * HMAC-SHA256(key, "mycelium-network-id") in hex.
   */
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

  /**
   * The proof of the network key this node sends on one link: HMAC-SHA256 under the key in
   * use over (label, role, this node's certificate key, the peer's certificate key, this
   * node's nonce, the peer's nonce), each length-prefixed. Empty for an open network.
   *
   * @param role this node's end of the link
   */
  public static byte[] prove(Optional<NetworkKeyring> ring, Role role, byte[] ownCertKey,
      byte[] peerCertKey, byte[] ownNonce, byte[] peerNonce) {
    return ring.map(r -> mac(r.keyInUse(), proofInput(role, ownCertKey, peerCertKey, ownNonce,
        peerNonce))).orElse(new byte[0]);
  }

  /**
   * Whether a peer's proof checks. With a keyring it must be the MAC, under one of the
   * installed keys, of the peer's role, the peer's certificate key then ours, the peer's nonce
   * then ours; with none it must be empty (an open node refuses a private one, and the other
   * way round). Compared in constant time.
   *
   * @param peerRole the peer's end of the link (the opposite of ours)
   */
  public static boolean verify(Optional<NetworkKeyring> ring, Role peerRole, byte[] peerCertKey,
      byte[] ownCertKey, byte[] peerNonce, byte[] ownNonce, byte[] peerMac) {
    if (ring.isEmpty()) {
      return peerMac.length == 0;
    }
    if (peerMac.length == 0) {
      return false;
    }
    byte[] input = proofInput(peerRole, peerCertKey, ownCertKey, peerNonce, ownNonce);
    boolean ok = false;
    for (byte[] k : ring.get().keys()) {
      // No early exit: the time taken does not say which key matched.
      ok |= MessageDigest.isEqual(mac(k, input), peerMac);
    }
    return ok;
  }

  /**
   * The tag of a LAN announcement: 16 bytes of HMAC-SHA256 under the key in use over the
   * announced text, in hex; empty for an open network. It tells nodes of this network which
   * announcements come from one of them, without telling anyone else anything reusable: it is
   * bound to the announced node and address, and the peer handshake never accepts it.
   */
  public static String lanTag(Optional<NetworkKeyring> ring, String announced) {
    return ring.map(r -> HexFormat.of().formatHex(Arrays.copyOf(
        mac(r.keyInUse(), lanInput(announced)), LAN_TAG_BYTES))).orElse("");
  }

  /** Whether a LAN announcement's tag comes from a key this node accepts (or both are open). */
  public static boolean acceptsLanTag(Optional<NetworkKeyring> ring, String announced,
      String tag) {
    if (ring.isEmpty()) {
      return tag.isEmpty();
    }
    byte[] given;
    try {
      given = HexFormat.of().parseHex(tag);
    } catch (IllegalArgumentException e) {
      return false;
    }
    if (given.length != LAN_TAG_BYTES) {
      return false;
    }
    boolean ok = false;
    for (byte[] k : ring.get().keys()) {
      ok |= MessageDigest.isEqual(Arrays.copyOf(mac(k, lanInput(announced)), LAN_TAG_BYTES),
          given);
    }
    return ok;
  }

  private static byte[] proofInput(Role role, byte[] senderCertKey, byte[] receiverCertKey,
      byte[] senderNonce, byte[] receiverNonce) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(160);
    lengthPrefixed(out, PROOF_LABEL);
    out.write(role == Role.DIALER ? 1 : 2);
    lengthPrefixed(out, senderCertKey);
    lengthPrefixed(out, receiverCertKey);
    lengthPrefixed(out, senderNonce);
    lengthPrefixed(out, receiverNonce);
    return out.toByteArray();
  }

  private static byte[] lanInput(String announced) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128);
    lengthPrefixed(out, LAN_LABEL);
    lengthPrefixed(out, announced.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static void lengthPrefixed(ByteArrayOutputStream out, byte[] bytes) {
    int n = bytes.length;
    out.write(n >>> 24);
    out.write(n >>> 16);
    out.write(n >>> 8);
    out.write(n);
    out.writeBytes(bytes);
  }

  private static byte[] mac(byte[] key, byte[] input) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(input);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has HmacSHA256", e);
    }
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

  /** Whether a key with this fingerprint ({@link #networkId}) is installed. */
  public synchronized boolean accepts(String networkId) {
    for (byte[] k : installed) {
      if (networkId(k).equals(networkId)) {
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
