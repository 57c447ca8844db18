package dev.mycelium.wire;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;

/**
 * A node's identity on the network: the SHA-256 of its public key.
 *
 * <p>Shown to people as RFC 4648 base32 (no padding) followed by one Luhn mod 32 check
 * character, as Syncthing does for device IDs, so that a mistyped ID is caught before it is
 * used. Parsing accepts lower case and ignores dashes and spaces.
 */
public final class NodeId implements Comparable<NodeId> {
  /** Bytes in a node ID (a SHA-256 digest). */
  public static final int LENGTH = 32;

  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  private static final int BASE32_CHARS = 52; // ceil(256 / 5)

  // The 32 bytes as four big-endian words held in the object itself: node IDs are compared
  // on every message path (map keys), and with tens of thousands of simulated nodes following
  // a pointer to a separate byte array per comparison was a cache miss each time.
  private final long w0;
  private final long w1;
  private final long w2;
  private final long w3;
  private final int hash;

  private NodeId(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    this.w0 = b.getLong();
    this.w1 = b.getLong();
    this.w2 = b.getLong();
    this.w3 = b.getLong();
    this.hash = Arrays.hashCode(bytes);
  }

  private byte[] bytes() {
    return ByteBuffer.allocate(LENGTH).putLong(w0).putLong(w1).putLong(w2).putLong(w3).array();
  }

  /** Wraps 32 raw bytes. */
  public static NodeId of(byte[] bytes) {
    if (bytes == null || bytes.length != LENGTH) {
      throw new IllegalArgumentException(
          "a node ID is " + LENGTH + " bytes, got " + (bytes == null ? "none" : bytes.length));
    }
    return new NodeId(bytes);
  }

  /** The node ID that belongs to an encoded public key. */
  public static NodeId fromPublicKey(byte[] publicKey) {
    return new NodeId(sha256(publicKey));
  }

  /**
   * Parses the printed form.
   *
   * @throws IllegalArgumentException saying what is wrong with the text
   */
  public static NodeId parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("node ID is missing");
    }
    String s = text.replace("-", "").replace(" ", "").toUpperCase(Locale.ROOT);
    if (s.length() != BASE32_CHARS + 1) {
      throw new IllegalArgumentException(
          "a node ID has " + (BASE32_CHARS + 1) + " base32 characters, got " + s.length());
    }
    for (int i = 0; i < s.length(); i++) {
      if (ALPHABET.indexOf(s.charAt(i)) < 0) {
        throw new IllegalArgumentException(
            "a node ID has only A-Z and 2-7, found '" + s.charAt(i) + "' at " + i);
      }
    }
    String body = s.substring(0, BASE32_CHARS);
    if (luhn32(body) != s.charAt(BASE32_CHARS)) {
      throw new IllegalArgumentException("node ID check character does not match: mistyped?");
    }
    return new NodeId(base32Decode(body));
  }

  /** A copy of the 32 raw bytes. */
  public byte[] toBytes() {
    return bytes();
  }

  /** The first eight characters, for logs and tables. */
  public String shortString() {
    return toString().substring(0, 8);
  }

  @Override
  public String toString() {
    String body = base32Encode(bytes());
    return body + luhn32(body);
  }

  @Override
  public boolean equals(Object o) {
    return o == this
        || (o instanceof NodeId other && hash == other.hash && w0 == other.w0
            && w1 == other.w1 && w2 == other.w2 && w3 == other.w3);
  }

  @Override
  public int hashCode() {
    // Node IDs are map keys on every message path; hashing 32 bytes each time showed up.
    return hash;
  }

  @Override
  public int compareTo(NodeId o) {
    int c = Long.compareUnsigned(w0, o.w0);
    if (c == 0) {
      c = Long.compareUnsigned(w1, o.w1);
    }
    if (c == 0) {
      c = Long.compareUnsigned(w2, o.w2);
    }
    return c != 0 ? c : Long.compareUnsigned(w3, o.w3);
  }

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  private static String base32Encode(byte[] data) {
    StringBuilder out = new StringBuilder(BASE32_CHARS);
    int buffer = 0;
    int bits = 0;
    for (byte b : data) {
      buffer = (buffer << 8) | (b & 0xff);
      bits += 8;
      while (bits >= 5) {
        out.append(ALPHABET.charAt((buffer >> (bits - 5)) & 31));
        bits -= 5;
      }
    }
    if (bits > 0) {
      out.append(ALPHABET.charAt((buffer << (5 - bits)) & 31));
    }
    return out.toString();
  }

  private static byte[] base32Decode(String s) {
    byte[] out = new byte[LENGTH];
    int buffer = 0;
    int bits = 0;
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      buffer = (buffer << 5) | ALPHABET.indexOf(s.charAt(i));
      bits += 5;
      if (bits >= 8) {
        if (n < LENGTH) {
          out[n++] = (byte) (buffer >> (bits - 8));
        }
        bits -= 8;
      }
    }
    return out;
  }

  /** Luhn mod N algorithm over the base32 alphabet. */
  private static char luhn32(String s) {
    int factor = 1;
    int sum = 0;
    for (int i = 0; i < s.length(); i++) {
      int addend = factor * ALPHABET.indexOf(s.charAt(i));
      factor = factor == 2 ? 1 : 2;
      sum += addend / 32 + addend % 32;
    }
    int check = (32 - sum % 32) % 32;
    return ALPHABET.charAt(check);
  }
}
