package dev.mycelium.node.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The API's door settings: safe defaults, and bad values refused naming the key. */
class ApiConfigTest {
  @Test
  void defaultsKeepTheApiLocalKeyedAndBounded() {
    NodeConfig.Api api = new ConfigLoader().load().api();
    assertThat(api.metricsNeedKey()).isTrue();
    assertThat(api.allowInsecureRemote()).isFalse();
    assertThat(api.tls()).isFalse();
    assertThat(api.allowedHosts()).isEmpty();
    assertThat(api.maxConnections()).isEqualTo(64);
    assertThat(api.maxQueuedRequests()).isEqualTo(64);
    assertThat(api.requestTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(api.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void allowedHostsAreNormalisedAndAPortIsRefused() {
    NodeConfig.Api api = new ConfigLoader()
        .flag("mycelium.api.allowed-hosts", "Mycelium.LAN,[fd00::1],10.0.0.5").load().api();
    assertThat(api.allowedHosts()).containsExactly("mycelium.lan", "fd00::1", "10.0.0.5");
    for (String bad : new String[] {"host.example/x", "host.example:7947"}) {
      assertThatThrownBy(() -> new ConfigLoader()
          .flag("mycelium.api.allowed-hosts", bad).load())
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("mycelium.api.allowed-hosts");
    }
  }

  @Test
  void halfATlsSetUpIsRefusedNamingTheMissingFile() {
    assertThatThrownBy(() -> new ConfigLoader()
        .flag("mycelium.api.tls.cert-file", "/etc/mycelium/api.pem").load())
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).key())
            .isEqualTo("mycelium.api.tls.key-file"));
  }

  @Test
  void limitsOutOfRangeAreRefused() {
    assertThatThrownBy(() -> new ConfigLoader().flag("mycelium.api.max-connections", "0").load())
        .isInstanceOf(ConfigException.class).hasMessageContaining("mycelium.api.max-connections");
    assertThatThrownBy(() -> new ConfigLoader().flag("mycelium.api.request-timeout", "1ms")
        .load()).isInstanceOf(ConfigException.class)
        .hasMessageContaining("mycelium.api.request-timeout");
  }
}
