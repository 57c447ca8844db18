package dev.mycelium.model;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * A fragment's content address: the SHA-256 of its canonical body encoding. Printed as 64
 * lower-case hex characters.
 */
public final class FragmentId implements Comparable<FragmentId> {
  /** Bytes in an ID. */
  public static final int LENGTH = 32;

  private static final HexFormat HEX = HexFormat.of();
  private final byte[] bytes;
  private final int hash;

  private FragmentId(byte[] bytes) {
    this.bytes = bytes;
    this.hash = Arrays.hashCode(bytes);
  }

  /** Wraps 32 raw bytes (copied). */
  public static FragmentId of(byte[] bytes) {
    if (bytes == null || bytes.length != LENGTH) {
      throw new IllegalArgumentException(
          "a fragment ID is " + LENGTH + " bytes, got " + (bytes == null ? "none" : bytes.length));
    }
    return new FragmentId(bytes.clone());
  }

  /**
   * Parses 64 hex characters.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static FragmentId parse(String text) {
    if (text == null || text.length() != LENGTH * 2) {
      throw new IllegalArgumentException(
          "a fragment ID is " + LENGTH * 2 + " hex characters, got "
              + (text == null ? "none" : text.length()));
    }
    try {
      return new FragmentId(HEX.parseHex(text.toLowerCase(java.util.Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a fragment ID has only the characters 0-9 and a-f");
    }
  }

  /** A copy of the raw bytes. */
  public byte[] toBytes() {
    return bytes.clone();
  }

  /** The first byte, for bucketing by prefix. */
  public int prefixByte() {
    return bytes[0] & 0xff;
  }

  @Override
  public String toString() {
    return HEX.formatHex(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FragmentId other && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public int compareTo(FragmentId o) {
    return Arrays.compareUnsigned(bytes, o.bytes);
  }
}
