package dev.mycelium.node.peer;

/**
 * Makes text that a peer supplied fit to log: capped in length and with every character that
 * could forge or hide a log line escaped.
 *
 * <p>Why: a log line is read by people and by tools. Peer-supplied text (a host name, a parse
 * error that quotes input, an announcement) could otherwise be megabytes long, carry a line
 * break that starts a fake log line, or terminal escape codes. Printable ASCII passes through
 * unchanged except the backslash; everything else becomes {@code \n}, {@code \r}, {@code \t}
 * or {@code \\uXXXX}. Longer text is cut and marked with the number of characters left out.
 */
public final class LogSafe {
  /** Characters kept by {@link #of(Object)}. */
  public static final int DEFAULT_MAX_CHARS = 200;

  private LogSafe() {}

  /** The text of a value, capped at {@link #DEFAULT_MAX_CHARS} and escaped. */
  public static String of(Object value) {
    return of(value, DEFAULT_MAX_CHARS);
  }

  /**
   * The text of a value, capped at {@code maxChars} characters of input and escaped; {@code
   * "null"} for null.
   */
  public static String of(Object value, int maxChars) {
    if (maxChars < 0) {
      throw new IllegalArgumentException("maxChars must be >= 0, got " + maxChars);
    }
    String s = String.valueOf(value);
    int n = Math.min(s.length(), maxChars);
    StringBuilder b = new StringBuilder(n + 16);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c >= 0x20 && c < 0x7f) {
            b.append(c);
          } else {
            b.append(String.format("\\u%04x", (int) c));
          }
        }
      }
    }
    if (s.length() > n) {
      b.append("...(").append(s.length() - n).append(" more chars)");
    }
    return b.toString();
  }
}
