package dev.mycelium.node.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigValue;
import dev.mycelium.node.config.ConfigLoader.ResolvedSetting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path tmp;

  @Test
  void referenceDefaultsBuildTheDocumentedValues() {
    NodeConfig c = new ConfigLoader().load();
    assertThat(c.api().host()).isEqualTo("127.0.0.1");
    assertThat(c.api().port()).isEqualTo(7947);
    assertThat(c.peer().listenPort()).isEqualTo(7946);
    assertThat(c.peer().seeds()).isEmpty();
    assertThat(c.peer().enabled()).isTrue();
    assertThat(c.peer().listenHost()).isEqualTo("127.0.0.1");
    assertThat(c.peer().advertiseHost()).isEmpty();
    assertThat(c.peer().networkKey()).isEmpty();
    assertThat(c.peer().profile()).isEqualTo("lan");
    assertThat(c.storage().maxTextBytes()).isEqualTo(65536);
    assertThat(c.storage().dimension()).isEqualTo(384);
    assertThat(c.embedder().name()).isEqualTo("minilm-q");
    assertThat(c.embedder().threads()).isEqualTo(2);
    assertThat(c.node().shutdownGrace()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.node().dataDir().isAbsolute()).isTrue();
    assertThat(c.node().dataDir().getFileName().toString()).isEqualTo("data");
  }

  @Test
  void everyPresetLoadsAndTestUsesTheHashEmbedder() {
    for (String p : ConfigLoader.PRESETS) {
      assertThat(new ConfigLoader().preset(p).load()).as(p).isNotNull();
    }
    NodeConfig test = new ConfigLoader().preset("test").load();
    assertThat(test.embedder().name()).isEqualTo("hash");
    assertThat(test.api().port()).isZero();
    assertThat(test.storage().capacityEntries()).isLessThan(100_000);
    assertThat(test.peer().enabled()).isTrue();
    assertThat(test.peer().listenHost()).isEqualTo("127.0.0.1");
    assertThat(test.peer().listenPort()).isZero();
    assertThat(test.peer().profile()).isEqualTo("test");
  }

  @Test
  void unknownPresetIsRejectedListingTheKnownOnes() {
    assertThatThrownBy(() -> new ConfigLoader().preset("fast"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("fast")
        .hasMessageContaining("local, lan, wan, test");
  }

  @Test
  void unknownKeyInFileIsRejectedNamingIt() throws Exception {
    Path f = tmp.resolve("my.conf");
    Files.writeString(f, "mycelium.api.prot = 8000\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.api.prot")
        .hasMessageContaining("port")
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo("mycelium.api.prot"));
  }

  @Test
  void unknownTopLevelKeyIsRejected() throws Exception {
    Path f = tmp.resolve("my.conf");
    Files.writeString(f, "api { port = 8000 }\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("api.port");
  }

  @Test
  void objectWhereAValueBelongsIsRejected() throws Exception {
    Path f = tmp.resolve("my.conf");
    Files.writeString(f, "mycelium.api.port { value = 1 }\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.api.port");
  }

  @Test
  void badValuesAreRejectedNamingTheKeyAndTheAllowedRange() throws Exception {
    Path f = tmp.resolve("my.conf");
    Files.writeString(f, "mycelium.api.port = 70000\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.api.port")
        .hasMessageContaining("0 to 65535");

    Files.writeString(f, "mycelium.api.port = 80.5\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.api.port")
        .hasMessageContaining("whole number");

    Files.writeString(f, "mycelium.storage.capacity-entries = lots\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.storage.capacity-entries")
        .hasMessageContaining("whole number");

    Files.writeString(f, "mycelium.embedder.name = bert\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.embedder.name")
        .hasMessageContaining("minilm, minilm-q, hash");

    Files.writeString(f, "mycelium.node.shutdown-grace = soon\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.node.shutdown-grace")
        .hasMessageContaining("duration");

    Files.writeString(f, "mycelium.peer.seeds = [\"nohost\"]\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.peer.seeds")
        .hasMessageContaining("host:port");

    Files.writeString(f, "mycelium.peer.enabled = maybe\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.peer.enabled")
        .hasMessageContaining("true or false");

    Files.writeString(f, "mycelium.peer.network-key = \"c2hvcnQ=\"\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.peer.network-key");

    Files.writeString(f, "mycelium.peer.profile = moon\n");
    assertThatThrownBy(() -> new ConfigLoader().file(f).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.peer.profile")
        .hasMessageContaining("local, lan, wan, test");
  }

  @Test
  void malformedFileIsRejectedNamingTheFile() throws Exception {
    Path f = tmp.resolve("broken.conf");
    Files.writeString(f, "mycelium { api { port = \n");
    assertThatThrownBy(() -> new ConfigLoader().file(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("broken.conf");
    assertThatThrownBy(() -> new ConfigLoader().file(tmp.resolve("missing.conf")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("missing.conf");
  }

  @Test
  void environmentOverridesFileAndFlagsOverrideEnvironment() throws Exception {
    Path f = tmp.resolve("my.conf");
    Files.writeString(f, "mycelium.api.port = 8001\nmycelium.api.max-body-bytes = 2048\n");
    Map<String, String> env =
        Map.of(
            "MYCELIUM_API_PORT", "8002",
            "MYCELIUM_PEER_SEEDS", "a.example:7946, b.example:7946",
            "MYCELIUM_JAVA_OPTS", "-Xmx1g",
            "HOME", "/home/x");
    ConfigLoader loader = new ConfigLoader().preset("local").file(f).env(env);
    NodeConfig c = loader.load();
    assertThat(c.api().port()).isEqualTo(8002);
    assertThat(c.api().maxBodyBytes()).isEqualTo(2048);
    assertThat(c.peer().seeds()).containsExactly("a.example:7946", "b.example:7946");

    loader.flag("mycelium.api.port", "8003");
    assertThat(loader.load().api().port()).isEqualTo(8003);

    Map<String, ResolvedSetting> byKey = new java.util.HashMap<>();
    loader.resolvedWithOrigins().forEach(s -> byKey.put(s.key(), s));
    assertThat(byKey.get("mycelium.api.port").origin()).isEqualTo("flag");
    assertThat(byKey.get("mycelium.api.port").value()).isEqualTo("8003");
    assertThat(byKey.get("mycelium.peer.seeds").origin()).isEqualTo("env");
    assertThat(byKey.get("mycelium.api.max-body-bytes").origin()).isEqualTo("file");
    assertThat(byKey.get("mycelium.storage.capacity-entries").origin()).isEqualTo("preset");
    assertThat(byKey.get("mycelium.storage.dimension").origin()).isEqualTo("default");
    assertThat(byKey.get("mycelium.storage.dimension").value()).isEqualTo("384");
  }

  @Test
  void badEnvironmentValueNamesTheKey() {
    assertThatThrownBy(
            () -> new ConfigLoader().env(Map.of("MYCELIUM_API_PORT", "http")).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.api.port");
  }

  @Test
  void unknownFlagKeyIsRejected() {
    assertThatThrownBy(() -> new ConfigLoader().flag("mycelium.api.hots", "x"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.api.hots");
  }

  @Test
  void envNamesAreUpperSnakeOfThePath() {
    assertThat(ConfigLoader.envName("mycelium.api.max-body-bytes"))
        .isEqualTo("MYCELIUM_API_MAX_BODY_BYTES");
  }

  /**
   * No dead and no undocumented keys: every key of the reference file is read by NodeConfig,
   * every key NodeConfig reads is in the reference file, and each has a comment that states its
   * default.
   */
  @Test
  void everyKeyIsReadAndDocumented() {
    ConfigLoader loader = new ConfigLoader();
    ConfigReader reader = new ConfigReader(loader.merged());
    NodeConfig.from(reader);
    Set<String> documented = new TreeSet<>(ConfigLoader.leafKeys(loader.reference()));
    assertThat(new TreeSet<>(reader.keysRead())).isEqualTo(documented);
    for (String key : documented) {
      ConfigValue v = loader.reference().getValue(key);
      List<String> comments = v.origin().comments();
      assertThat(String.join(" ", comments))
          .as("comment of %s", key)
          .isNotBlank()
          .contains("Default");
    }
  }
}
