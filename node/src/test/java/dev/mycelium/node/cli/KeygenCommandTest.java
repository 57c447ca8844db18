package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.peer.NetworkKeyring;
import org.junit.jupiter.api.Test;

class KeygenCommandTest {
  @Test
  void printsAFreshKeyThatTheKeyringAccepts() throws Exception {
    CliRun first = CliRun.of("keygen");
    CliRun second = CliRun.of("keygen", "--format", "json");
    assertThat(first.exit()).isZero();
    assertThat(second.exit()).isZero();
    String a = first.out().trim();
    String b = new ObjectMapper().readTree(second.out()).path("network_key").asText();
    assertThat(NetworkKeyring.parse(a)).hasSize(32);
    assertThat(NetworkKeyring.parse(b)).hasSize(32);
    assertThat(a).isNotEqualTo(b);
  }
}
