package dev.mycelium.node.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LogSafeTest {
  @Test
  void printableAsciiPassesUnchanged() {
    assertThat(LogSafe.of("node 10.0.0.1:7946 said \"hi\"")).isEqualTo(
        "node 10.0.0.1:7946 said \"hi\"");
  }

  @Test
  void lineBreaksAndControlCharactersCannotForgeOrHideALogLine() {
    String forged = "x\n2026-12-04T00:00:00Z INFO fake line\r\u001b[2Jgone\t\u0000";
    String safe = LogSafe.of(forged);
    assertThat(safe).doesNotContain("\n", "\r", "\u001b", "\u0000", "\t");
    assertThat(safe).isEqualTo(
        "x\\n2026-12-04T00:00:00Z INFO fake line\\r\\u001b[2Jgone\\t\\u0000");
  }

  @Test
  void backslashesAreEscapedSoAnEscapeCannotBeFaked() {
    assertThat(LogSafe.of("a\\nb")).isEqualTo("a\\\\nb");
  }

  @Test
  void nonAsciiIsEscapedSoLookalikesShowUp() {
    // A Cyrillic 'а' in place of a Latin 'a', and a right-to-left override.
    assertThat(LogSafe.of("p\u0430yload\u202e")).isEqualTo("p\\u0430yload\\u202e");
  }

  @Test
  void longTextIsCappedAndSaysHowMuchWasLeftOut() {
    String huge = "A".repeat(4 * 1024 * 1024);
    String safe = LogSafe.of(huge);
    assertThat(safe).hasSizeLessThan(LogSafe.DEFAULT_MAX_CHARS + 40)
        .startsWith("AAAA").endsWith("...(" + (huge.length() - LogSafe.DEFAULT_MAX_CHARS)
            + " more chars)");
    assertThat(LogSafe.of("abcdef", 3)).isEqualTo("abc...(3 more chars)");
  }

  @Test
  void nullAndBadLimits() {
    assertThat(LogSafe.of(null)).isEqualTo("null");
    assertThatThrownBy(() -> LogSafe.of("x", -1)).isInstanceOf(IllegalArgumentException.class);
  }
}
