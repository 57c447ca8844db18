package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.storage.VectorIndex;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /ready} says 200 only once the node has started every part it will run (store, index,
 * peer listener, replication): while the start is held half-way, readiness answers 503 with
 * "node starting", though the API already listens and answers {@code /health}.
 */
class NodeReadyIT {
  @TempDir Path tmp;

  @Test
  void readyOnlyOnceTheWholeNodeHasStarted() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CountDownLatch indexMayOpen = new CountDownLatch(1);
    StandardBackends standard = new StandardBackends();
    NodeBackends held = new NodeBackends() {
      @Override
      public dev.mycelium.model.FragmentStore openStore(NodeConfig c,
          dev.mycelium.model.FragmentCodec codec) {
        return standard.openStore(c, codec);
      }

      @Override
      public VectorIndex openIndex(NodeConfig c) {
        try {
          indexMayOpen.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return standard.openIndex(c);
      }

      @Override
      public dev.mycelium.storage.replica.ReplicaStore openReplicaStore(NodeConfig c,
          dev.mycelium.model.FragmentCodec codec) {
        return standard.openReplicaStore(c, codec);
      }

      @Override
      public dev.mycelium.storage.Embedder embedder(NodeConfig c) {
        return standard.embedder(c);
      }
    };
    NodeConfig config = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve("data").toString())
        .flag("mycelium.api.port", String.valueOf(port)).load();
    CompletableFuture<Node> starting = CompletableFuture.supplyAsync(
        () -> Node.start(config, held));
    HttpClient http = HttpClient.newHttpClient();
    URI ready = URI.create("http://127.0.0.1:" + port + "/ready");
    try {
      HttpResponse<String> r = await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
          .until(() -> http.send(HttpRequest.newBuilder(ready).build(),
              HttpResponse.BodyHandlers.ofString()), x -> x.body().contains("index loading"));
      // The store is open and the index is what holds the start here.
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).contains("node starting").doesNotContain("store opening");
      assertThat(starting).isNotDone();
    } finally {
      indexMayOpen.countDown();
    }
    Node node = starting.get(60, TimeUnit.SECONDS);
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> http.send(
          HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString())
          .statusCode() == 200);
      assertThat(node.notReadyReasons()).isEmpty();
    } finally {
      node.close();
    }
  }
}
