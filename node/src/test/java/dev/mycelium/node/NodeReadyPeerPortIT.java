package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.node.config.ConfigLoader;
import dev.mycelium.node.config.NodeConfig;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.storage.replica.ReplicaStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code /ready} says 200 only once every door the node opens, the peer port included, is open. */
@Timeout(90)
class NodeReadyPeerPortIT {
  @TempDir Path tmp;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static boolean connects(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The daemon's backends, with the start held up (before the peer port opens) until released. */
  private static final class HeldBackends implements NodeBackends {
    final StandardBackends real = new StandardBackends();
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public FragmentStore openStore(NodeConfig config, FragmentCodec codec) {
      return real.openStore(config, codec);
    }

    @Override
    public ReplicaStore openReplicaStore(NodeConfig config, FragmentCodec codec) {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return real.openReplicaStore(config, codec);
    }

    @Override
    public VectorIndex openIndex(NodeConfig config) {
      return real.openIndex(config);
    }

    @Override
    public Embedder embedder(NodeConfig config) {
      return real.embedder(config);
    }
  }

  @Test
  void readyOnlyOnceThePeerPortListens() throws Exception {
    int apiPort = freePort();
    int peerPort = freePort();
    NodeConfig config = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve("n").toString())
        .flag("mycelium.api.port", Integer.toString(apiPort))
        .flag("mycelium.peer.listen-port", Integer.toString(peerPort))
        .load();
    HeldBackends backends = new HeldBackends();
    CompletableFuture<Node> started =
        CompletableFuture.supplyAsync(() -> Node.start(config, backends));
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest ready = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + apiPort + "/ready")).build();
    Node node = null;
    try {
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
          http.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode() == 503);
      HttpResponse<String> before = http.send(ready, HttpResponse.BodyHandlers.ofString());
      assertThat(before.statusCode()).isEqualTo(503);
      assertThat(before.body()).contains("peer port is not listening yet");
      assertThat(connects(peerPort)).isFalse();

      backends.release.countDown();
      node = started.get();
      await().atMost(Duration.ofSeconds(30)).until(() ->
          http.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
      assertThat(connects(peerPort)).isTrue();
    } finally {
      backends.release.countDown();
      if (node == null) {
        node = started.join();
      }
      node.close();
    }
    assertThatThrownBy(() -> http.send(ready, HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(IOException.class);
  }
}
