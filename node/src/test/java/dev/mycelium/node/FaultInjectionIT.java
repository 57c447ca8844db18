package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.peer.FaultControl;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/debug/faults} on whole nodes over loopback, as the simulator's real mode uses it:
 * a partition put on both sides through HTTP cuts two nodes apart, an empty one lets them find
 * each other again, and injected loss drops frames, counted where a test cannot fake it.
 */
@Timeout(90)
class FaultInjectionIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Duration POLL = Duration.ofMillis(200);
  private static final String FAULTS = "/v1/debug/faults";

  @TempDir Path tmp;
  @RegisterExtension final TestNodes fixture = new TestNodes(() -> tmp);

  private Node start(String name, String seed, boolean faults) {
    ConfigLoader loader = fixture.config(name, seed);
    if (faults) {
      loader.flag("mycelium.debug.fault-injection", "true");
    }
    return fixture.start(name, loader);
  }

  private JsonNode ok(Node node, String method, String path, String body) throws Exception {
    HttpResponse<String> r = fixture.send(node, method, path, body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private boolean active(Node observer, Node peer) throws Exception {
    for (JsonNode p : ok(observer, "GET", "/v1/peers", null).get("peers")) {
      if (p.get("view").asText().equals("ACTIVE")
          && p.get("node_id").asText().equals(peer.nodeId().toString())) {
        return true;
      }
    }
    return false;
  }

  private static String partition(Node... peers) {
    List<String> ids = new ArrayList<>();
    for (Node p : peers) {
      ids.add("\"" + p.nodeId() + "\"");
    }
    return "{\"partition\": [" + String.join(", ", ids) + "]}";
  }

  @Test
  void aPartitionPutThroughHttpCutsTwoNodesApartAndAnEmptyOneHealsIt() throws Exception {
    Node a = start("a", null, true);
    String seed = ok(a, "GET", "/v1/status", null).get("peer").asText();
    Node b = start("b", seed, true);
    Node c = start("c", seed, true);
    await().atMost(WAIT).pollInterval(POLL).until(() -> active(a, b) && active(b, a)
        && active(c, a) && active(c, b));

    JsonNode cut = ok(a, "PUT", FAULTS, partition(b));
    assertThat(cut.get("enabled").asBoolean()).isTrue();
    assertThat(cut.get("partitioned").get(0).asText()).isEqualTo(b.nodeId().toString());
    ok(b, "PUT", FAULTS, partition(a));
    // The cut holds for 2 s on end, while both stay linked to c.
    await().atMost(WAIT).during(Duration.ofSeconds(2)).pollInterval(POLL)
        .until(() -> !active(a, b) && !active(b, a));
    assertThat(ok(b, "GET", FAULTS, null).get("partitioned").get(0).asText())
        .isEqualTo(a.nodeId().toString());

    assertThat(ok(a, "PUT", FAULTS, "{\"partition\": []}").get("partitioned")).isEmpty();
    ok(b, "PUT", FAULTS, "{\"partition\": []}");
    await().atMost(WAIT).pollInterval(POLL).until(() -> active(a, b) && active(b, a));
  }

  @Test
  void totalLossDropsFramesAndCountsThem() throws Exception {
    Node a = start("a", null, true);
    String seed = ok(a, "GET", "/v1/status", null).get("peer").asText();
    Node b = start("b", seed, true);
    await().atMost(WAIT).pollInterval(POLL).until(() -> active(a, b) && active(b, a));
    assertThat(ok(a, "GET", FAULTS, null).get("dropped").asLong()).isZero();

    JsonNode lossy = ok(a, "PUT", FAULTS, "{\"loss\": 1.0, \"seed\": 7}");
    assertThat(lossy.get("loss").asDouble()).isEqualTo(1.0);
    assertThat(lossy.get("seed").asLong()).isEqualTo(7);
    // b's probes and gossip keep arriving at a and are all dropped there.
    await().atMost(WAIT).pollInterval(POLL)
        .until(() -> ok(a, "GET", FAULTS, null).get("dropped").asLong() >= 5);
    assertThat(ok(b, "GET", FAULTS, null).get("dropped").asLong())
        .as("loss is injected on a only").isZero();
    HttpResponse<String> metrics = fixture.send(a, "GET", "/metrics", null);
    assertThat(metrics.body()).containsPattern("mycelium_fault_dropped_frames_total [1-9]");

    HttpResponse<String> bad = fixture.send(a, "PUT", FAULTS, "{\"loss\": 2}");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(bad.body()).get("field").asText()).isEqualTo("loss");
    long dropped = ok(a, "PUT", FAULTS, "{\"loss\": 0}").get("dropped").asLong();
    assertThat(dropped).isPositive();

    // The service checks on its own too, for callers other than the HTTP API.
    FaultControl control = a.peerService().orElseThrow().faultControl();
    assertThatThrownBy(() -> control.apply(new FaultControl.Change(Optional.empty(),
        OptionalDouble.of(Double.NaN), OptionalLong.empty())))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("from 0 to 1");
    assertThatThrownBy(() -> control.apply(new FaultControl.Change(
        Optional.of(Set.of(a.nodeId())), OptionalDouble.empty(), OptionalLong.empty())))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("itself");
    assertThat(control.state().partitioned()).isEmpty();
  }

  @Test
  void aNodeWithTheDefaultConfigAnswers404AndHasNoFaultMetric() throws Exception {
    Node plain = start("plain", null, false);
    HttpResponse<String> r = fixture.send(plain, "PUT", FAULTS, "{\"partition\": []}");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(r.body()).get("error").asText())
        .isEqualTo("fault_injection_disabled");
    assertThat(fixture.send(plain, "GET", FAULTS, null).statusCode()).isEqualTo(404);
    assertThat(fixture.send(plain, "GET", "/metrics", null).body())
        .doesNotContain("mycelium_fault_");
  }
}
