package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.config.NodeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where each effective value comes from, as {@code config show --resolved} reports it: the
 * shipped default, the service's directory from systemd, a file (named by {@code --config},
 * {@code $MYCELIUM_CONFIG} or found in {@code $CONFIGURATION_DIRECTORY}), the environment, or
 * a flag of {@code run}.
 */
class ConfigOriginsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private static Map<String, ConfigLoader.ResolvedSetting> resolved(ConfigLoader loader) {
    Map<String, ConfigLoader.ResolvedSetting> byKey = new HashMap<>();
    loader.resolvedWithOrigins().forEach(s -> byKey.put(s.key(), s));
    return byKey;
  }

  @Test
  void showResolvedNamesFlagsAsTheOriginOfWhatTheySet() throws Exception {
    CliRun r = CliRun.of("config", "show", "--resolved", "--data", tmp.toString(),
        "--api", "127.0.0.1:8111", "--format", "json");
    assertThat(r.exit()).as(r.err()).isZero();
    Map<String, JsonNode> byKey = new HashMap<>();
    JSON.readTree(r.out()).forEach(s -> byKey.put(s.get("key").asText(), s));
    assertThat(byKey.get("mycelium.node.data-dir").get("origin").asText()).isEqualTo("flag");
    assertThat(byKey.get("mycelium.node.data-dir").get("value").asText())
        .contains(tmp.toString());
    assertThat(byKey.get("mycelium.api.port").get("value").asText()).isEqualTo("8111");
    assertThat(byKey.get("mycelium.api.port").get("origin").asText()).isEqualTo("flag");
    assertThat(byKey.get("mycelium.index.max-degree").get("origin").asText())
        .isEqualTo("default");

    CliRun text = CliRun.of("config", "show", "--resolved", "--api", "127.0.0.1:8111");
    assertThat(text.out()).containsPattern("mycelium\\.api\\.port\\s+8111\\s+flag");
  }

  @Test
  void underSystemdTheServiceDirectoriesAreDefaultsThatExplicitSettingsOverride()
      throws Exception {
    Path state = Files.createDirectories(tmp.resolve("state"));
    Path etc = Files.createDirectories(tmp.resolve("etc"));
    Files.writeString(etc.resolve("mycelium.conf"), "mycelium.api.port = 8222\n");
    Map<String, String> env = new HashMap<>(Map.of(
        "STATE_DIRECTORY", state + ":/var/lib/other",
        "CONFIGURATION_DIRECTORY", etc.toString()));

    Map<String, ConfigLoader.ResolvedSetting> s =
        resolved(RunCommand.loader(null, null, env, Map.of()));
    assertThat(s.get("mycelium.node.data-dir").origin()).isEqualTo("service");
    assertThat(s.get("mycelium.node.data-dir").value()).contains(state.toString());
    assertThat(s.get("mycelium.api.port").origin()).isEqualTo("file");
    assertThat(s.get("mycelium.api.port").value()).isEqualTo("8222");

    env.put("MYCELIUM_NODE_DATA_DIR", tmp.resolve("elsewhere").toString());
    s = resolved(RunCommand.loader(null, null, env, Map.of()));
    assertThat(s.get("mycelium.node.data-dir").origin()).isEqualTo("env");

    s = resolved(RunCommand.loader(null, null, env,
        Map.of("mycelium.node.data-dir", tmp.resolve("flagged").toString())));
    assertThat(s.get("mycelium.node.data-dir").origin()).isEqualTo("flag");

    // $MYCELIUM_CONFIG names a file explicitly, so it must exist.
    Path mine = tmp.resolve("mine.conf");
    Files.writeString(mine, "mycelium.api.port = 8333\n");
    env.put("MYCELIUM_CONFIG", mine.toString());
    NodeConfig c = RunCommand.loader(null, null, env, Map.of()).load();
    assertThat(c.api().port()).isEqualTo(8333);
    env.put("MYCELIUM_CONFIG", tmp.resolve("missing.conf").toString());
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> RunCommand.loader(null, null, env, Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("missing.conf");
  }

  @Test
  void aServiceWithoutAConfigFileRunsOnDefaults() throws Exception {
    Path etc = Files.createDirectories(tmp.resolve("empty-etc"));
    Map<String, ConfigLoader.ResolvedSetting> s = resolved(RunCommand.loader(null, null,
        Map.of("CONFIGURATION_DIRECTORY", etc.toString()), Map.of()));
    assertThat(s.get("mycelium.api.port").origin()).isEqualTo("default");
    assertThat(s.get("mycelium.node.data-dir").origin()).isEqualTo("default");
  }
}
