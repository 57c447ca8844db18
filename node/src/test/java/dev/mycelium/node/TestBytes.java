package dev.mycelium.node;

/** Byte-array searches for tests that look for a value inside files or frames. */
public final class TestBytes {
  private TestBytes() {}

  /** Where {@code needle} first stands in {@code hay}, or -1. */
  public static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
