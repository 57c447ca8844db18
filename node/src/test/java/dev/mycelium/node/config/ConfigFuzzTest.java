package dev.mycelium.node.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A config file, a flag or an environment variable of any content either loads or stops the
 * start with {@link ConfigException} naming what is wrong: never another exception, which
 * {@code mycelium run} would report as a crash rather than as a configuration error.
 * Input: one byte choosing the layer (and for a flag or a variable, the key), then the text.
 */
class ConfigFuzzTest {
  private static final List<String> KEYS =
      ConfigLoader.leafKeys(new ConfigLoader().reference());

  @FuzzTest
  void load(byte[] input) throws IOException {
    if (input.length == 0) {
      return;
    }
    int choice = input[0] & 0xff;
    String text = new String(Arrays.copyOfRange(input, 1, input.length), StandardCharsets.UTF_8);
    ConfigLoader loader = new ConfigLoader();
    Path file = null;
    try {
      switch (choice % 3) {
        case 0 -> {
          file = Files.createTempFile("fuzz", ".conf");
          Files.writeString(file, text, StandardCharsets.UTF_8);
          loader.file(file);
        }
        case 1 -> loader.flag(KEYS.get((choice / 3) % KEYS.size()), text);
        default -> loader.env(Map.of(
            ConfigLoader.envName(KEYS.get((choice / 3) % KEYS.size())), text));
      }
      NodeConfig c = loader.load();
      assertThat(c).isNotNull();
      assertThat(loader.resolvedWithOrigins()).isNotEmpty();
    } catch (ConfigException e) {
      assertThat(e.getMessage()).isNotBlank();
    } finally {
      if (file != null) {
        Files.deleteIfExists(file);
      }
    }
  }
}
