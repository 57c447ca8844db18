package dev.mycelium.node.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A canned HTTP API on a loopback port, so that the CLI's client side can be tested without a
 * node: each route answers a fixed status and body, and every request is recorded.
 */
final class FakeApi implements AutoCloseable {
  record Request(String method, String path, String auth, String body) {}

  record Reply(int status, String body) {}

  final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Map<String, Function<Request, Reply>> routes = new ConcurrentHashMap<>();
  private final HttpServer server;
  private final ExecutorService pool = Executors.newFixedThreadPool(4);

  FakeApi() {
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext(
        "/",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          Request r =
              new Request(
                  ex.getRequestMethod(),
                  ex.getRequestURI().getPath(),
                  ex.getRequestHeaders().getFirst("Authorization"),
                  body);
          requests.add(r);
          String key = r.method() + " " + r.path();
          Function<Request, Reply> h = routes.get(key);
          if (h == null) {
            for (Map.Entry<String, Function<Request, Reply>> e : routes.entrySet()) {
              String k = e.getKey();
              if (k.endsWith("*") && key.startsWith(k.substring(0, k.length() - 1))) {
                h = e.getValue();
              }
            }
          }
          Reply reply =
              h == null
                  ? new Reply(404, "{\"error\":\"not_found\",\"message\":\"no such thing\","
                      + "\"field\":null}")
                  : h.apply(r);
          byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
          ex.sendResponseHeaders(reply.status(), out.length == 0 ? -1 : out.length);
          if (out.length > 0) {
            ex.getResponseBody().write(out);
          }
          ex.close();
        });
    server.setExecutor(pool);
    server.start();
  }

  FakeApi on(String methodAndPath, int status, String body) {
    routes.put(methodAndPath, r -> new Reply(status, body));
    return this;
  }

  FakeApi on(String methodAndPath, Function<Request, Reply> handler) {
    routes.put(methodAndPath, handler);
    return this;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Writes api.json and api.key into a data dir, as a running node would. */
  void writeDataDir(Path data, String key) throws IOException {
    Files.createDirectories(data);
    Files.writeString(data.resolve("api.json"), "{\"url\":\"" + url() + "\",\"pid\":1}");
    Files.writeString(data.resolve("api.key"), key + "\n");
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
