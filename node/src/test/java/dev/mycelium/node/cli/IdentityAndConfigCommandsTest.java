package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.identity.Identity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityAndConfigCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void showWithoutAnIdentitySaysHowToGetOne() {
    CliRun r = CliRun.of("identity", "show", "--data", tmp.resolve("none").toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).contains("no identity").contains("mycelium run")
        .contains("identity import");
  }

  @Test
  void exportThenImportCarriesTheNodeIdToAnotherDataDir() throws IOException {
    Path a = tmp.resolve("a");
    String id = Identity.loadOrCreate(a).nodeId().toString();
    CliRun show = CliRun.of("identity", "show", "--data", a.toString(), "--format", "json");
    assertThat(show.exit()).isZero();
    assertThat(JSON.readTree(show.out()).get("node_id").asText()).isEqualTo(id);

    Path saved = tmp.resolve("saved.key");
    CliRun export = CliRun.of("identity", "export", "--data", a.toString(), saved.toString());
    assertThat(export.exit()).as(export.err()).isZero();
    assertThat(Files.getPosixFilePermissions(saved))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);
    CliRun again = CliRun.of("identity", "export", "--data", a.toString(), saved.toString());
    assertThat(again.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(again.err()).contains("--force");

    Path b = tmp.resolve("b");
    CliRun imp = CliRun.of("identity", "import", "--data", b.toString(), saved.toString());
    assertThat(imp.exit()).as(imp.err()).isZero();
    CliRun showB = CliRun.of("identity", "show", "--data", b.toString());
    assertThat(showB.out()).contains(id);

    Path c = tmp.resolve("c");
    String other = Identity.loadOrCreate(c).nodeId().toString();
    assertThat(other).isNotEqualTo(id);
    CliRun refused = CliRun.of("identity", "import", "--data", c.toString(), saved.toString());
    assertThat(refused.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(refused.err()).contains("--force");
    CliRun forced = CliRun.of("identity", "import", "--force", "--data", c.toString(),
        saved.toString());
    assertThat(forced.exit()).isZero();
    assertThat(Identity.loadOrCreate(c).nodeId().toString()).isEqualTo(id);
  }

  @Test
  void validateAcceptsAGoodFileAndNamesTheBadKey() throws IOException {
    Path good = tmp.resolve("good.conf");
    Files.writeString(good, "mycelium { api.port = 8000 }\n");
    CliRun ok = CliRun.of("config", "validate", good.toString());
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.out()).contains("valid");

    Path bad = tmp.resolve("bad.conf");
    Files.writeString(bad, "mycelium { api.prot = 8000 }\n");
    CliRun no = CliRun.of("config", "validate", bad.toString());
    assertThat(no.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(no.err()).contains("mycelium.api.prot");
    CliRun noJson = CliRun.of("config", "validate", "--format", "json", bad.toString());
    JsonNode j = JSON.readTree(noJson.out());
    assertThat(j.get("valid").asBoolean()).isFalse();
    assertThat(j.get("key").asText()).isEqualTo("mycelium.api.prot");

    Path exposed = tmp.resolve("exposed.conf");
    Files.writeString(exposed, "mycelium { api.host = \"0.0.0.0\" }\n");
    CliRun open = CliRun.of("config", "validate", "--format", "json", exposed.toString());
    assertThat(open.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(JSON.readTree(open.out()).get("key").asText()).isEqualTo("mycelium.api.host");
  }

  @Test
  void showResolvedNamesTheLayerOfEachValue() throws IOException {
    Path f = tmp.resolve("my.conf");
    Files.writeString(f, "mycelium { storage.capacity-entries = 1234 }\n");
    CliRun r = CliRun.of("config", "show", "--resolved", "--preset", "test", "--config",
        f.toString(), "--format", "json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode all = JSON.readTree(r.out());
    JsonNode cap = null;
    JsonNode port = null;
    for (JsonNode s : all) {
      if (s.get("key").asText().equals("mycelium.storage.capacity-entries")) {
        cap = s;
      }
      if (s.get("key").asText().equals("mycelium.api.port")) {
        port = s;
      }
    }
    assertThat(cap).isNotNull();
    assertThat(cap.get("value").asText()).isEqualTo("1234");
    assertThat(cap.get("origin").asText()).startsWith("file");
    assertThat(port.get("origin").asText()).startsWith("preset");
    CliRun text = CliRun.of("config", "show", "--resolved", "--preset", "test");
    assertThat(text.out()).containsPattern("mycelium\\.api\\.port\\s+0\\s+preset");
  }
}
