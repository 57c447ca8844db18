package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.http.ApiKey;
import dev.mycelium.node.http.ApiResponse;
import dev.mycelium.node.http.ApiRoutes;
import dev.mycelium.node.http.StubBackend;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Which reads the API answers at once, on the connection's event loop, and which it leaves to a
 * worker: only a GET of a readable fragment with the right key is answered at once, and with
 * the same bytes a worker would give; anything that may wait or that a worker must answer and
 * audit is left to it.
 */
class ReadAtOnceTest {
  private static final int DIM = 4;
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec);
  private final FragmentService service = new FragmentService(
      Identity.of(OwnerKeys.generate(new SecureRandom())), codec, store,
      new ExactVectorIndex(DIM), new HashEmbedder(DIM), 4, 10, new NodeMetrics(() -> null),
      System::currentTimeMillis);
  private final ApiRoutes routes = new ApiRoutes(new StubBackend(service) {}, ApiKey.of("k"),
      DIM);

  private FragmentId put(String text) {
    return service.put(new PutRequest(text, new float[] {1, 0, 0, 0}, Map.of(),
        Visibility.PRIVATE)).id();
  }

  private static String path(FragmentId id) {
    return "/v1/fragments/" + id;
  }

  @Test
  void aReadableFragmentIsAnsweredAtOnceWithTheWorkersBytes() {
    FragmentId id = put("answered on the event loop");
    Optional<ApiResponse> atOnce = routes.answerAtOnce("GET", path(id), "Bearer k");
    ApiResponse byWorker = routes.handle("GET", path(id), "Bearer k", new byte[0]);
    assertThat(atOnce).isPresent();
    assertThat(atOnce.get().status()).isEqualTo(200);
    assertThat(atOnce.get().route()).isEqualTo(byWorker.route());
    assertThat(new String(atOnce.get().body(), StandardCharsets.UTF_8))
        .contains("answered on the event loop")
        .isEqualTo(new String(byWorker.body(), StandardCharsets.UTF_8));
  }

  @Test
  void whatMayWaitOrMustBeAuditedIsLeftToAWorker() {
    FragmentId id = put("a readable fragment");
    // A wrong or missing key: the worker answers 401 and writes the audit line.
    assertThat(routes.answerAtOnce("GET", path(id), "Bearer wrong")).isEmpty();
    assertThat(routes.answerAtOnce("GET", path(id), null)).isEmpty();
    // Other methods and routes.
    assertThat(routes.answerAtOnce("DELETE", path(id), "Bearer k")).isEmpty();
    assertThat(routes.answerAtOnce("GET", "/v1/status", "Bearer k")).isEmpty();
    assertThat(routes.answerAtOnce("GET", path(id) + "/history", "Bearer k")).isEmpty();
    // A malformed or unknown ID: the worker's 400 or 404 says what to fix.
    assertThat(routes.answerAtOnce("GET", "/v1/fragments/xyz", "Bearer k")).isEmpty();
    assertThat(routes.answerAtOnce("GET", "/v1/fragments/" + "a".repeat(64), "Bearer k"))
        .isEmpty();

    // A BLANK fragment may be asked of a holder, which waits.
    FragmentId blank = put("lost its bytes");
    store.markBlank(blank);
    assertThat(routes.answerAtOnce("GET", path(blank), "Bearer k")).isEmpty();

    // Bytes that rotted: this read finds it, the record turns BLANK, and a worker takes it.
    FragmentId rotten = put("rotted on disk");
    store.corruptForTest(rotten);
    assertThat(routes.answerAtOnce("GET", path(rotten), "Bearer k")).isEmpty();
    assertThat(store.get(rotten).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(routes.handle("GET", path(rotten), "Bearer k", new byte[0]).status())
        .isEqualTo(200);
  }
}
