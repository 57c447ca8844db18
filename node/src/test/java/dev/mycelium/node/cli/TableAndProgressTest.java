package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import org.junit.jupiter.api.Test;

class TableAndProgressTest {
  @Test
  void columnsAlignAndNumbersAlignRight() {
    String t = new Table("NAME", ">COUNT").row("a", 5).row("longer", 12345).render();
    assertThat(t).isEqualTo("NAME    COUNT\na           5\nlonger  12345\n");
  }

  @Test
  void excerptIsOneLineAndCut() {
    assertThat(Table.excerpt("a\n\n b   c", 60)).isEqualTo("a b c");
    assertThat(Table.excerpt("abcdefghij", 5)).isEqualTo("abcd…");
  }

  @Test
  void progressBarShowsFractionAndFailures() {
    ProgressBar bar = new ProgressBar(new PrintWriter(new StringWriter()), 200, true);
    String s = bar.render(50, 2, 2.0);
    assertThat(s).startsWith("[########......................] 50/200  25%")
        .contains("25/s").contains("2 failed");
    assertThat(new ProgressBar(null, 0, false).render(7, 0, 1.0)).startsWith("7 done");
  }

  @Test
  void disabledBarPrintsNothing() {
    StringWriter w = new StringWriter();
    ProgressBar bar = new ProgressBar(new PrintWriter(w), 10, false);
    bar.update(5, 0, true);
    bar.finish();
    assertThat(w.toString()).isEmpty();
  }

  @Test
  void addressesParseWithOrWithoutScheme() {
    assertThat(ApiClient.parseAddress("127.0.0.1:7947")).isEqualTo(
        URI.create("http://127.0.0.1:7947"));
    assertThat(ApiClient.parseAddress("http://localhost:1/")).isEqualTo(
        URI.create("http://localhost:1"));
    assertThatThrownBy(() -> ApiClient.parseAddress("ftp://x:1"))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("HOST:PORT");
  }

  @Test
  void timesParseAsMillisOrIsoInstants() {
    InstantMillisConverter c = new InstantMillisConverter();
    assertThat(c.convert("42")).isEqualTo(42L);
    assertThat(c.convert("1970-01-01T00:00:01Z")).isEqualTo(1000L);
  }
}
