package dev.mycelium.node.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service defaults of {@link HostDefaults}, from environments given as maps. */
class HostDefaultsTest {
  @TempDir Path tmp;

  @Test
  void configFileComesFromMyceliumConfigThenFromTheServiceDirectoryWhenItHasOne()
      throws Exception {
    assertThat(HostDefaults.configFile(Map.of())).isEmpty();
    assertThat(HostDefaults.configFile(Map.of("CONFIGURATION_DIRECTORY", tmp.toString())))
        .isEmpty();
    Files.writeString(tmp.resolve("mycelium.conf"), "");
    assertThat(HostDefaults.configFile(Map.of("CONFIGURATION_DIRECTORY", tmp.toString())))
        .contains(tmp.resolve("mycelium.conf"));
    assertThat(HostDefaults.configFile(Map.of("CONFIGURATION_DIRECTORY", tmp.toString(),
        "MYCELIUM_CONFIG", "/x/y.conf"))).contains(Path.of("/x/y.conf"));
  }

  @Test
  void clientsFindTheDataDirectoryByEnvironmentThenService() throws Exception {
    Path service = tmp.resolve("service");
    assertThat(HostDefaults.clientDataDir(Map.of("MYCELIUM_NODE_DATA_DIR", "/a",
        "STATE_DIRECTORY", "/b"), service)).isEqualTo(Path.of("/a"));
    assertThat(HostDefaults.clientDataDir(Map.of("STATE_DIRECTORY", "/b:/c"), service))
        .isEqualTo(Path.of("/b"));
    // Tests run in the module directory, which has no ./data.
    assertThat(HostDefaults.clientDataDir(Map.of(), service)).isEqualTo(Path.of("data"));
    Files.createDirectories(service);
    Files.writeString(service.resolve("api.json"), "{}");
    assertThat(HostDefaults.clientDataDir(Map.of(), service)).isEqualTo(service);
  }

  @Test
  void theAuditLogGoesToTheLogsDirectoryElseTheDataDirectory() {
    Path data = Path.of("/srv/node");
    assertThat(HostDefaults.auditLog(Map.of(), data)).isEqualTo(data.resolve("audit.log"));
    assertThat(HostDefaults.auditLog(Map.of("LOGS_DIRECTORY", "/var/log/mycelium"), data))
        .isEqualTo(Path.of("/var/log/mycelium/audit.log"));
  }
}
