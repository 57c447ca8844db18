package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.cli.MyceliumCli;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.peer.NetworkKeyring;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The network keyring of a whole node, changed through {@code mycelium keyring} (and so
 * {@code /v1/keyring}), saved in {@code network.keys} and read back at restart; and
 * {@code peers.json} written while the node runs, not only at a clean stop.
 */
class NodeKeyringIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<Node> running = new ArrayList<>();

  @TempDir Path tmp;

  @AfterEach
  void stopAll() {
    running.forEach(Node::close);
  }

  private Node start(String name, String... flags) {
    ConfigLoader loader = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve(name).toString());
    for (int i = 0; i < flags.length; i += 2) {
      loader.flag(flags[i], flags[i + 1]);
    }
    Node node = Node.start(loader.load(), NodeBackendsForTests.backends());
    running.add(node);
    return node;
  }

  private record Run(int code, String out, String err) {}

  private static Run cli(Node node, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = MyceliumCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--api", node.apiUrl(), "--api-key", node.apiKey().value()));
    int code = cli.execute(all.toArray(String[]::new));
    return new Run(code, out.toString(), err.toString());
  }

  private static String newKey() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    return Base64.getEncoder().encodeToString(k);
  }

  private static String id(String key) {
    return NetworkKeyring.networkId(NetworkKeyring.parse(key));
  }

  @Test
  void keysAreRotatedThroughTheCliSavedAndReadBackAtRestart() throws Exception {
    String oldKey = newKey();
    String newKey = newKey();
    Node node = start("n", "mycelium.peer.network-key", oldKey);
    Path keysFile = tmp.resolve("n").resolve(NetworkKeysFile.FILE_NAME);

    Run list = cli(node, "keyring", "list");
    assertThat(list.code()).as(list.err()).isZero();
    assertThat(list.out()).containsPattern(id(oldKey) + "\\s+yes");
    assertThat(Files.exists(keysFile)).isFalse();

    assertThat(cli(node, "keyring", "install", newKey).code()).isZero();
    Run both = cli(node, "keyring", "list", "--format", "json");
    JsonNode keys = JSON.readTree(both.out()).get("keys");
    assertThat(keys).hasSize(2);
    assertThat(keys.findValuesAsText("network_id")).containsExactly(id(oldKey), id(newKey));

    Run removeInUse = cli(node, "keyring", "remove", oldKey);
    assertThat(removeInUse.code()).isEqualTo(1);
    assertThat(removeInUse.err()).contains("in use");

    assertThat(cli(node, "keyring", "use", newKey).code()).isZero();
    Run removed = cli(node, "keyring", "remove", oldKey);
    assertThat(removed.code()).as(removed.err()).isZero();
    assertThat(removed.out()).containsPattern(id(newKey) + "\\s+yes")
        .doesNotContain(id(oldKey));
    assertThat(node.peerService().orElseThrow().keyring().orElseThrow()
        .accepts(id(oldKey))).isFalse();

    Run bad = cli(node, "keyring", "install", "not-a-key");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("base64");

    String saved = Files.readString(keysFile, StandardCharsets.UTF_8);
    assertThat(saved).startsWith("mycelium-network-keys-v1\n").contains("use " + newKey)
        .doesNotContain(oldKey);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keysFile)))
        .isEqualTo("rw-------");

    // At restart the file is the keyring; the configured (old) key is not accepted again.
    node.close();
    running.remove(node);
    Node again = start("n", "mycelium.peer.network-key", oldKey);
    Run after = cli(again, "keyring", "list", "--format", "json");
    JsonNode afterKeys = JSON.readTree(after.out()).get("keys");
    assertThat(afterKeys).hasSize(1);
    assertThat(afterKeys.get(0).get("network_id").asText()).isEqualTo(id(newKey));
    assertThat(afterKeys.get(0).get("in_use").asBoolean()).isTrue();
  }

  @Test
  void anOpenNetworkHasNoKeyringToChange() {
    Node node = start("open");
    Run list = cli(node, "keyring", "list");
    assertThat(list.code()).isZero();
    assertThat(list.out()).contains("Open network");
    Run install = cli(node, "keyring", "install", newKey());
    assertThat(install.code()).isEqualTo(1);
    assertThat(install.err()).contains("open network");
  }

  @Test
  void knownPeersAreSavedWhileTheNodeRunsWithRoundTripTimes() throws Exception {
    Node seed = start("seed");
    String seedAddress = seed.peerService().orElseThrow().self().host() + ":"
        + seed.peerService().orElseThrow().self().port();
    Node member = start("member", "mycelium.peer.seeds", seedAddress,
        "mycelium.peer.save-interval", "1s");
    Path peersJson = tmp.resolve("member").resolve(KnownPeersFile.FILE_NAME);
    // Not a clean stop: the file appears while the node runs.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
        .until(() -> KnownPeersFile.read(peersJson).stream()
            .anyMatch(p -> p.id().equals(seed.nodeId())));
    assertThat(member.peerService().orElseThrow().activeView()).contains(seed.nodeId());
    try (var dir = Files.list(peersJson.getParent())) {
      assertThat(dir.map(p -> p.getFileName().toString()))
          .noneMatch(n -> n.startsWith(".peers.json."));
    }
    // Probes measure the round trip to active peers.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
        .until(() -> member.peers().stream().anyMatch(p -> p.get("rtt_ms") instanceof Double));
    Run peers = cli(member, "peers");
    assertThat(peers.out()).containsPattern("RTT").containsPattern("\\d+\\.\\d ms");
  }
}
