package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.node.peer.FaultControl;
import dev.mycelium.wire.NodeId;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code GET} and {@code PUT /v1/debug/faults}, against a fake fault control. */
class FaultRoutesTest {
  private static final String AUTH = "Bearer k";
  private static final String PATH = "/v1/debug/faults";
  private static final NodeId PEER = OwnerKeys.generate(new SecureRandom()).nodeId();

  private final List<FaultControl.Change> changes = new ArrayList<>();
  private FaultControl.State state = new FaultControl.State(Set.of(), 0, 0, 0);
  private final FaultControl control = new FaultControl() {
    @Override
    public State state() {
      return state;
    }

    @Override
    public State apply(Change change) {
      changes.add(change);
      state = new State(change.partition().orElse(state.partitioned()),
          change.loss().orElse(state.loss()), change.seed().orElse(state.seed()), 42);
      return state;
    }
  };

  private ApiRoutes routes(boolean enabled, Optional<FaultControl> faults) {
    return new ApiRoutes(new StubBackend() {
      @Override
      public boolean faultInjectionEnabled() {
        return enabled;
      }

      @Override
      public Optional<FaultControl> faults() {
        return faults;
      }
    }, ApiKey.of("k"), 4);
  }

  private ApiResponse put(ApiRoutes routes, String body) {
    return routes.handle("PUT", PATH, AUTH, body.getBytes(StandardCharsets.UTF_8));
  }

  private static JsonNode json(ApiResponse r) throws Exception {
    return RequestParser.JSON.readTree(r.body());
  }

  @Test
  void whenDisabledBothMethodsAnswer404WithTheCodeAndTheSetting() throws Exception {
    ApiRoutes routes = routes(false, Optional.of(control));
    for (ApiResponse r : List.of(routes.handle("GET", PATH, AUTH, new byte[0]),
        put(routes, "{\"loss\": 0.5}"))) {
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.route()).isEqualTo(PATH);
      assertThat(json(r).path("error").asText()).isEqualTo("fault_injection_disabled");
      assertThat(json(r).path("message").asText()).contains("debug.fault-injection = true")
          .contains("test network");
    }
    assertThat(changes).isEmpty();
  }

  @Test
  void aValidPutReachesTheBackendAndAnswersTheNewState() throws Exception {
    ApiRoutes routes = routes(true, Optional.of(control));
    ApiResponse r = put(routes, "{\"partition\": [\"" + PEER + "\"], \"loss\": 0.25, "
        + "\"seed\": 7}");
    assertThat(r.status()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    assertThat(changes).hasSize(1);
    FaultControl.Change c = changes.get(0);
    assertThat(c.partition()).contains(Set.of(PEER));
    assertThat(c.loss().getAsDouble()).isEqualTo(0.25);
    assertThat(c.seed().getAsLong()).isEqualTo(7);
    JsonNode n = json(r);
    assertThat(n.path("enabled").asBoolean()).isTrue();
    assertThat(n.path("partitioned").get(0).asText()).isEqualTo(PEER.toString());
    assertThat(n.path("loss").asDouble()).isEqualTo(0.25);
    assertThat(n.path("seed").asLong()).isEqualTo(7);
    assertThat(n.path("dropped").asLong()).isEqualTo(42);

    JsonNode got = json(routes.handle("GET", PATH, AUTH, new byte[0]));
    assertThat(got).isEqualTo(n);
  }

  @Test
  void absentFieldsStayUnchangedAndAnEmptyListHeals() {
    ApiRoutes routes = routes(true, Optional.of(control));
    assertThat(put(routes, "{\"loss\": 0.1}").status()).isEqualTo(200);
    assertThat(changes.get(0).partition()).isEmpty();
    assertThat(changes.get(0).seed()).isEmpty();
    assertThat(put(routes, "{\"partition\": []}").status()).isEqualTo(200);
    assertThat(changes.get(1).partition()).contains(Set.of());
    assertThat(changes.get(1).loss()).isEmpty();
  }

  @Test
  void badInputIs400NamingTheField() throws Exception {
    ApiRoutes routes = routes(true, Optional.of(control));
    assertBad(put(routes, "{\"loss\": 1.5}"), "loss");
    assertBad(put(routes, "{\"loss\": -0.1}"), "loss");
    assertBad(put(routes, "{\"loss\": \"half\"}"), "loss");
    assertBad(put(routes, "{\"partition\": [\"not-a-node-id\"]}"), "partition");
    assertBad(put(routes, "{\"partition\": \"" + PEER + "\"}"), "partition");
    assertBad(put(routes, "{\"seed\": 1.5}"), "seed");
    assertBad(put(routes, "{\"los\": 0.5}"), "los");
    ApiResponse malformed = put(routes, "{\"loss\": ");
    assertThat(malformed.status()).isEqualTo(400);
    assertThat(json(malformed).path("error").asText()).isEqualTo("bad_request");
    assertThat(changes).isEmpty();
  }

  @Test
  void aPartitionTheNodeRefusesIs400OnPartition() throws Exception {
    FaultControl refusing = new FaultControl() {
      @Override
      public State state() {
        return state;
      }

      @Override
      public State apply(Change change) {
        throw new IllegalArgumentException("the partition names this node itself");
      }
    };
    assertBad(put(routes(true, Optional.of(refusing)), "{\"partition\": [\"" + PEER + "\"]}"),
        "partition");
  }

  @Test
  void keyMethodAndPeerServiceAreChecked() throws Exception {
    ApiRoutes routes = routes(true, Optional.of(control));
    assertThat(routes.handle("GET", PATH, null, new byte[0]).status()).isEqualTo(401);
    assertThat(routes.handle("PUT", PATH, "Bearer wrong", "{}".getBytes(StandardCharsets.UTF_8))
        .status()).isEqualTo(401);
    assertThat(routes.handle("POST", PATH, AUTH, new byte[0]).status()).isEqualTo(405);
    ApiResponse none = routes(true, Optional.empty()).handle("GET", PATH, AUTH, new byte[0]);
    assertThat(none.status()).isEqualTo(503);
    assertThat(json(none).path("message").asText()).contains("mycelium.peer.enabled");
    assertThat(changes).isEmpty();
  }

  private static void assertBad(ApiResponse r, String field) throws Exception {
    assertThat(r.status()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(400);
    assertThat(json(r).path("field").asText()).isEqualTo(field);
  }
}
