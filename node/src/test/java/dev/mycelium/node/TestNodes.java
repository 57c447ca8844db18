package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.config.ConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Whole nodes started in-process by an integration test, by name: each in its own data
 * directory under the test's temporary directory, on the daemon's own backends, all stopped
 * after each test; and the calls the test makes on their HTTP APIs. Registered as an extension:
 * {@code @RegisterExtension final TestNodes nodes = new TestNodes(() -> tmp);}.
 */
final class TestNodes implements AfterEachCallback {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Supplier<Path> dir;
  private final Map<String, Node> running = new LinkedHashMap<>();
  private final Map<String, Integer> peerPorts = new HashMap<>();
  private final HttpClient http = HttpClient.newHttpClient();

  /**
   * Nodes whose data directories are {@code <dir>/<name>}; {@code dir} is read when a node
   * starts, so it may name a {@code @TempDir} field that JUnit has not filled yet.
   */
  TestNodes(Supplier<Path> dir) {
    this.dir = dir;
  }

  /** The test preset, the node's data directory and its seed ({@code null}: none). */
  ConfigLoader config(String name, String seed) {
    ConfigLoader loader = new ConfigLoader()
        .preset("test")
        .flag("mycelium.node.data-dir", dataDir(name).toString());
    if (seed != null) {
      loader.flag("mycelium.peer.seeds", seed);
    }
    return loader;
  }

  /**
   * As {@link #config}, with a peer port chosen at the first start and kept, so that a restarted
   * node has the address its peers know ({@link #seedOf}).
   */
  ConfigLoader configWithFixedPort(String name, String seed) {
    if (!peerPorts.containsKey(name)) {
      try (ServerSocket s = new ServerSocket(0)) {
        peerPorts.put(name, s.getLocalPort());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return config(name, seed)
        .flag("mycelium.peer.listen-port", Integer.toString(peerPorts.get(name)));
  }

  /** The seed address of a node started with {@link #configWithFixedPort}. */
  String seedOf(String name) {
    return "127.0.0.1:" + peerPorts.get(name);
  }

  /** The node's data directory. */
  Path dataDir(String name) {
    return dir.get().resolve(name);
  }

  /** Starts (or restarts) a node whose peer port stays the same ({@link #configWithFixedPort}). */
  Node startWithFixedPort(String name, String seed) {
    return start(name, configWithFixedPort(name, seed));
  }

  /** Starts a node under {@code name} with the given configuration. */
  Node start(String name, ConfigLoader config) {
    Node node = Node.start(config.load(), NodeBackendsForTests.backends());
    running.put(name, node);
    return node;
  }

  /** Stops the node started under {@code name}. */
  void stop(String name) {
    running.remove(name).close();
  }

  /**
   * Stops a node and deletes its data directory but for its identity key, as when a disk is
   * lost and the key kept: started again, the node is the same node with nothing stored.
   */
  void stopAndLoseData(String name) throws IOException {
    stop(name);
    try (var files = Files.list(dataDir(name))) {
      for (Path p : files.toList()) {
        if (!p.getFileName().toString().equals("identity.key")) {
          deleteTree(p);
        }
      }
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p)) {
      try (var s = Files.list(p)) {
        for (Path c : s.toList()) {
          deleteTree(c);
        }
      }
    }
    Files.delete(p);
  }

  /** The running nodes by name, in start order. */
  Map<String, Node> running() {
    return Collections.unmodifiableMap(running);
  }

  /** The running nodes, in start order. */
  Collection<Node> nodes() {
    return running().values();
  }

  /** Sends a request with the node's API key; {@code body} (JSON) may be null. */
  HttpResponse<String> send(Node node, String method, String path, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.apiUrl() + path))
        .header("Authorization", "Bearer " + node.apiKey().value())
        .header("Content-Type", "application/json");
    b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
        : b.method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The JSON answer to a request, which must have the given status. */
  JsonNode call(Node node, String method, String path, String body, int status)
      throws IOException, InterruptedException {
    HttpResponse<String> r = send(node, method, path, body);
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isEqualTo(status);
    return JSON.readTree(r.body());
  }

  /** The JSON answer to a request, which must succeed (any 2xx). */
  JsonNode call(Node node, String method, String path, String body)
      throws IOException, InterruptedException {
    HttpResponse<String> r = send(node, method, path, body);
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 299);
    return JSON.readTree(r.body());
  }

  /** Stops every node still running, before JUnit deletes the temporary directory. */
  @Override
  public void afterEach(ExtensionContext context) {
    running.values().forEach(Node::close);
    running.clear();
  }
}
