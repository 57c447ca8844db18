package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import dev.mycelium.node.replica.RepairControl;
import dev.mycelium.node.replica.RepairLedger;
import dev.mycelium.node.replica.RepairStatus;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@code GET /v1/repair} and {@code POST /v1/repair/run}. */
class RepairRoutesTest {
  private static final String AUTH = "Bearer k";
  private final RepairLedger ledger = new RepairLedger();
  private final AtomicInteger runs = new AtomicInteger();
  private final RepairControl control = new RepairControl() {
    @Override
    public RepairStatus status() {
      return ledger.status(
          new StoreStats(Map.of(FragmentState.PRESENT, 4L, FragmentState.BLANK, 2L), 6, 10, 2),
          new StoreStats(Map.of(FragmentState.PRESENT, 3L), 3, 10, 0));
    }

    @Override
    public boolean runNow() {
      runs.incrementAndGet();
      boolean wasRunning = ledger.running();
      ledger.running(true);
      return !wasRunning;
    }
  };

  private ApiRoutes routes(Optional<RepairControl> repair) {
    return new ApiRoutes(new StubBackend() {
      @Override
      public Optional<RepairControl> repair() {
        return repair;
      }
    }, ApiKey.of("k"), 4);
  }

  private static JsonNode json(ApiResponse r) throws Exception {
    return RequestParser.JSON.readTree(r.body());
  }

  @Test
  void statusReportsCountsQueueAndLastCycle() throws Exception {
    ledger.failed(dev.mycelium.model.FragmentId.of(new byte[32]), null, "no holder");
    ledger.cycleFinished(new RepairStatus.Cycle("schedule", 1_000, 1_020, 0, 1));
    ledger.queue(2);
    ApiResponse r = routes(Optional.of(control)).handle("GET", "/v1/repair", AUTH, new byte[0]);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.route()).isEqualTo("/v1/repair");
    JsonNode n = json(r);
    assertThat(n.path("fragments").path("BLANK").asLong()).isEqualTo(2);
    assertThat(n.path("held").path("PRESENT").asLong()).isEqualTo(3);
    assertThat(n.path("queue").asLong()).isEqualTo(2);
    assertThat(n.path("repairs_failed").asLong()).isEqualTo(1);
    assertThat(n.path("last_cycle").path("trigger").asText()).isEqualTo("schedule");
    assertThat(n.path("last_cycle").path("duration_ms").asLong()).isEqualTo(20);
  }

  @Test
  void runStartsOneCycleAndSaysWhenOneIsAlreadyRunning() throws Exception {
    ApiRoutes routes = routes(Optional.of(control));
    ApiResponse first = routes.handle("POST", "/v1/repair/run", AUTH, new byte[0]);
    assertThat(first.status()).isEqualTo(202);
    assertThat(json(first).path("started").asBoolean()).isTrue();
    assertThat(json(first).path("status").path("running").asBoolean()).isTrue();
    ApiResponse second = routes.handle("POST", "/v1/repair/run", AUTH, new byte[0]);
    assertThat(second.status()).isEqualTo(202);
    assertThat(json(second).path("started").asBoolean()).isFalse();
    assertThat(json(second).path("message").asText()).contains("already running");
    assertThat(runs).hasValue(2);
  }

  @Test
  void aNodeWithoutReplicationAnswers503NamingTheSetting() throws Exception {
    ApiResponse r = routes(Optional.empty()).handle("GET", "/v1/repair", AUTH, new byte[0]);
    assertThat(r.status()).isEqualTo(503);
    assertThat(json(r).path("message").asText()).contains("mycelium.peer.enabled");
  }

  @Test
  void wrongMethodsAndMissingKeysAreRefused() {
    ApiRoutes routes = routes(Optional.of(control));
    assertThat(routes.handle("GET", "/v1/repair/run", AUTH, new byte[0]).status())
        .isEqualTo(405);
    assertThat(routes.handle("POST", "/v1/repair", AUTH, new byte[0]).status()).isEqualTo(405);
    assertThat(routes.handle("GET", "/v1/repair", null, new byte[0]).status()).isEqualTo(401);
    assertThat(runs).hasValue(0);
  }
}
