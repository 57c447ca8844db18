package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The one rule: protocol cores take time and randomness as arguments. A core that reads the
 * clock, draws global randomness, starts threads or opens sockets cannot be replayed by the
 * simulator, so this test fails the build when one does.
 */
class PurityTest {
  private static final List<String> BANNED = List.of(
      "Math.random", "ThreadLocalRandom", "System.currentTimeMillis", "System.nanoTime",
      "Instant.now", "Clock.system", "LocalDateTime.now", "new Random(", "new Thread",
      "Executors.", "java.net.Socket", "java.nio.channels", "io.netty", "org.jgroups");

  @Test
  void mainSourcesNeverReadClocksOrGlobalRandomnessOrTouchIo() throws IOException {
    Path main = Path.of("src/main/java");
    assertThat(main).isDirectory();
    List<String> offences = new ArrayList<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(main)) {
      files = walk.filter(p -> p.toString().endsWith(".java")).toList();
    }
    assertThat(files).hasSizeGreaterThan(5);
    for (Path file : files) {
      String text = Files.readString(file);
      for (String banned : BANNED) {
        if (text.contains(banned)) {
          offences.add(main.relativize(file) + " uses " + banned);
        }
      }
    }
    assertThat(offences).as("protocol cores must stay pure").isEmpty();
  }
}
