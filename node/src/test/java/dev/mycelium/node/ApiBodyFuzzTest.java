package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.node.http.ApiKey;
import dev.mycelium.node.http.ApiResponse;
import dev.mycelium.node.http.ApiRoutes;
import dev.mycelium.node.http.StubBackend;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import java.util.Arrays;

/**
 * JSON bodies (and paths) of every route that reads one, through the real routes and a real
 * fragment service on in-memory doubles: whatever the bytes, the answer is JSON with a status
 * below 500 (507 and 503 are the node's own limits), never the 500 of an unexpected exception.
 * Input: one byte choosing the route, then the body; for the per-ID route, the body is the path.
 */
class ApiBodyFuzzTest {
  private static final int DIM = 4;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[][] ROUTES = {
      {"POST", "/v1/fragments"},
      {"POST", "/v1/fragments/batch"},
      {"POST", "/v1/search"},
      {"PUT", "/v1/debug/faults"},
      {"POST", "/v1/keyring"},
      {"POST", "/v1/repair/run"},
      {"GET", "/v1/fragments/"},
      {"DELETE", "/v1/fragments/"},
  };

  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final Identity me = Identity.of(OwnerKeys.fromSeed(new byte[32]));
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec);
  private final FragmentService service = new FragmentService(me, codec, store,
      new ExactVectorIndex(DIM), new HashEmbedder(DIM), 4, 10, new NodeMetrics(() -> null),
      () -> 1_700_000_000_000L);
  private final ApiRoutes routes = new ApiRoutes(new StubBackend(service) {
    @Override
    public boolean faultInjectionEnabled() {
      return true;
    }
  }, ApiKey.of("k"), DIM);

  @FuzzTest
  void body(byte[] input) throws Exception {
    if (input.length == 0) {
      return;
    }
    String[] route = ROUTES[(input[0] & 0xff) % ROUTES.length];
    byte[] body = Arrays.copyOfRange(input, 1, input.length);
    String path = route[1];
    if (path.endsWith("/")) {
      path = path + new String(body, java.nio.charset.StandardCharsets.UTF_8);
      body = new byte[0];
    }
    ApiResponse r = routes.handle(route[0], path, "Bearer k", body);
    String text = new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(r.status()).as(text).isNotEqualTo(500);
    if (r.contentType().startsWith("application/json")) {
      JsonNode j = JSON.readTree(r.body());
      assertThat(j).isNotNull();
    }
  }
}
