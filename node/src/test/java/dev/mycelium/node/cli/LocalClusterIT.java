package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mycelium cluster}: real node processes on loopback that find each other. */
class LocalClusterIT {
  @TempDir Path tmp;

  @Test
  void threeProcessesJoinThroughTheFirstAndStopCleanly() throws Exception {
    List<LocalCluster.Member> members;
    try (LocalCluster cluster =
        LocalCluster.start(3, tmp, "test", Duration.ofSeconds(90))) {
      members = cluster.members();
      assertThat(members).hasSize(3);
      assertThat(members).extracting(LocalCluster.Member::nodeId).doesNotHaveDuplicates();
      assertThat(members).allSatisfy(m -> {
        assertThat(m.peer()).startsWith("127.0.0.1:");
        assertThat(m.process().isAlive()).isTrue();
      });
      // Every node sees another as an active, connected peer; together they know everyone.
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        Set<String> seen = new HashSet<>();
        for (LocalCluster.Member m : members) {
          JsonNode peers = ApiClient.connect(new ApiTarget(m.dataDir(), null, null))
              .get("/v1/peers").path("peers");
          boolean active = false;
          for (JsonNode p : peers) {
            if ("ACTIVE".equalsIgnoreCase(p.path("view").asText())
                && p.path("connected").asBoolean()) {
              active = true;
              seen.add(p.path("node_id").asText());
            }
          }
          assertThat(active).as("node %d has an active peer", m.index()).isTrue();
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(
            members.stream().map(LocalCluster.Member::nodeId).toList());
      });
    }
    for (LocalCluster.Member m : members) {
      assertThat(m.process().isAlive()).isFalse();
      assertThat(Files.exists(m.dataDir().resolve("fragments.clean")))
          .as("node %d stopped cleanly", m.index()).isTrue();
    }
  }

  @Test
  void aNodeThatCannotStartIsReportedWithItsLog() {
    assertThatThrownBy(() -> LocalCluster.start(1, tmp, "no-such-preset", Duration.ofSeconds(60)))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("node 1 exited with code 2")
        .hasMessageContaining("node.log");
  }

  @Test
  void theNodeCountIsChecked() {
    assertThatThrownBy(() -> LocalCluster.start(0, tmp, "test", Duration.ofSeconds(1)))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("--nodes must be from 1 to 64");
  }
}
