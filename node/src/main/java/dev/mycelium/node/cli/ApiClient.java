package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A small client of the node's HTTP API (docs: API.md), shared by every CLI command that talks
 * to a running node. It turns every way of failing into a {@link CliException} with an exit code
 * and a message that says what to do, because a CLI user cannot act on a stack trace. It is
 * thread-safe and keeps connections alive (the JDK client pools them), so benchmarks can share
 * one instance across threads.
 */
public final class ApiClient {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(120);

  private final URI base;
  private final String apiKey;
  private final HttpClient http;
  private Duration requestTimeout = REQUEST_TIMEOUT;
  /** Set when the address came from api.json: where it was and the pid it names (or -1). */
  private Path apiJson;
  private long apiJsonPid = -1;

  /** A client of the API at {@code base} (e.g. {@code http://127.0.0.1:7947}); key may be null. */
  public ApiClient(URI base, String apiKey) {
    this.base = base;
    this.apiKey = apiKey;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build();
  }

  /**
   * Finds the node the way {@link ApiTarget} describes: an explicit {@code --api} wins, else
   * {@code <data>/api.json}; an explicit key wins, else {@code <data>/api.key} if it exists.
   *
   * @throws CliException exit 3 when no address can be found, exit 2 when one is malformed
   */
  public static ApiClient connect(ApiTarget target) {
    Path data = target.dataDir();
    URI base;
    JsonNode apiJson = null;
    if (target.api() != null && !target.api().isBlank()) {
      base = parseAddress(target.api());
    } else {
      apiJson = readApiJson(data);
      base = parseAddress(apiJson.get("url").asText());
    }
    String key = target.apiKey();
    if (key == null || key.isBlank()) {
      key = readApiKey(data);
    }
    ApiClient c = new ApiClient(base, key);
    if (apiJson != null) {
      c.apiJson = data.resolve("api.json");
      c.apiJsonPid = apiJson.path("pid").asLong(-1);
    }
    return c;
  }

  /** Parses {@code http://host:port}, {@code https://...} or a bare {@code host:port}. */
  static URI parseAddress(String address) {
    String a = address.trim();
    if (!a.contains("://")) {
      a = "http://" + a;
    }
    try {
      URI uri = new URI(a);
      if (uri.getHost() == null || !uri.getScheme().startsWith("http")) {
        throw new URISyntaxException(a, "needs a host and a port");
      }
      String s = uri.toString();
      return URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
    } catch (URISyntaxException | IllegalArgumentException e) {
      throw new CliException(
          ExitCodes.USAGE,
          "--api '" + address + "' is not an address; use http://HOST:PORT or HOST:PORT");
    }
  }

  private static JsonNode readApiJson(Path data) {
    Path file = data.resolve("api.json");
    JsonNode json;
    try {
      json = MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      throw new CliException(
          ExitCodes.UNREACHABLE,
          "no node is running with data dir "
              + data.toAbsolutePath().normalize()
              + " (no api.json); start one with `mycelium run`, or pass --data DIR or --api URL");
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.UNREACHABLE, "cannot read " + file + ": " + e.getMessage(), e);
    }
    JsonNode url = json == null ? null : json.get("url");
    if (url == null || !url.isTextual()) {
      throw new CliException(
          ExitCodes.UNREACHABLE,
          file + " has no \"url\"; restart the node, or pass --api URL");
    }
    return json;
  }

  private static String readApiKey(Path data) {
    Path file = data.resolve("api.key");
    try {
      return Files.readString(file, StandardCharsets.UTF_8).trim();
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Sets how long one request may take before it fails (default 120 s), for callers that poll
   * many nodes and must not hang on one that is paused.
   */
  public ApiClient timeout(Duration timeout) {
    this.requestTimeout = timeout;
    return this;
  }

  /** The API's base address. */
  public URI base() {
    return base;
  }

  /** GET with the API key; throws on any non-2xx answer. */
  public JsonNode get(String path) {
    return checked(send(request(path).GET()));
  }

  /** DELETE with the API key; throws on any non-2xx answer. */
  public JsonNode delete(String path) {
    return checked(send(request(path).DELETE()));
  }

  /** POST of a JSON body with the API key; throws on any non-2xx answer. */
  public JsonNode post(String path, Object body) {
    return checked(send(request(path).POST(jsonBody(body))));
  }

  /** PUT of a JSON body with the API key; throws on any non-2xx answer. */
  public JsonNode put(String path, Object body) {
    return checked(send(request(path).PUT(jsonBody(body))));
  }

  /** POST that returns the answer whatever its status; still throws when the node is gone. */
  public Answer postAnyStatus(String path, Object body) {
    return send(request(path).POST(jsonBody(body)));
  }

  /**
   * GET that returns the answer whatever its status (for {@code /ready}, whose 503 carries the
   * reasons); still throws when the node cannot be reached.
   */
  public Answer getAnyStatus(String path) {
    return send(request(path).GET());
  }

  /** A status code and a parsed JSON body ({@link NullNode} when the body is empty or not JSON). */
  public record Answer(int status, JsonNode body) {}

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(requestTimeout)
            .header("Accept", "application/json");
    if (apiKey != null && !apiKey.isBlank()) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    return b;
  }

  private static HttpRequest.BodyPublisher jsonBody(Object body) {
    try {
      return HttpRequest.BodyPublishers.ofByteArray(MAPPER.writeValueAsBytes(body));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * GET of a body that is not one JSON value (the export's JSON lines), as bytes; throws on any
   * non-2xx answer.
   */
  public byte[] getBytes(String path) {
    HttpResponse<byte[]> resp = sendRaw(request(path).GET());
    if (resp.statusCode() >= 200 && resp.statusCode() < 300) {
      return resp.body();
    }
    throw errorOf(new Answer(resp.statusCode(), parse(resp.body())));
  }

  private Answer send(HttpRequest.Builder builder) {
    HttpResponse<byte[]> resp = sendRaw(builder);
    return new Answer(resp.statusCode(), parse(resp.body()));
  }

  private HttpResponse<byte[]> sendRaw(HttpRequest.Builder builder) {
    HttpRequest req = builder.header("Content-Type", "application/json; charset=utf-8").build();
    HttpResponse<byte[]> resp;
    try {
      resp = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpConnectTimeoutException e) {
      throw unreachable("connection timed out");
    } catch (HttpTimeoutException e) {
      throw new CliException(
          ExitCodes.UNREACHABLE,
          "the node at " + base + " did not answer within " + requestTimeout.toMillis() + " ms");
    } catch (ConnectException e) {
      throw unreachable("connection refused");
    } catch (IOException e) {
      throw unreachable(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.FAILURE, "interrupted");
    }
    return resp;
  }

  private CliException unreachable(String why) {
    if (apiJson != null && apiJsonPid > 0
        && !ProcessHandle.of(apiJsonPid).map(ProcessHandle::isAlive).orElse(false)) {
      // A node killed without a clean stop leaves its api.json behind.
      return new CliException(
          ExitCodes.UNREACHABLE,
          "no node is running with data dir "
              + apiJson.getParent().toAbsolutePath().normalize()
              + ": " + apiJson.getFileName() + " names pid " + apiJsonPid
              + ", which is not running (the node did not stop cleanly); start one with"
              + " `mycelium run`");
    }
    return new CliException(
        ExitCodes.UNREACHABLE,
        "cannot reach the node at "
            + base
            + " ("
            + why
            + "); is it running? Start one with `mycelium run`, or check --data/--api");
  }

  private static JsonNode parse(byte[] body) {
    if (body.length == 0) {
      return NullNode.getInstance();
    }
    try {
      JsonNode n = MAPPER.readTree(body);
      return n == null ? NullNode.getInstance() : n;
    } catch (IOException e) {
      return NullNode.getInstance();
    }
  }

  private JsonNode checked(Answer a) {
    if (a.status() >= 200 && a.status() < 300) {
      return a.body();
    }
    throw errorOf(a);
  }

  /** The exception for an error answer, with the API's message and field (see API.md). */
  CliException errorOf(Answer a) {
    JsonNode body = a.body();
    String code = text(body, "error");
    String message = text(body, "message");
    String field = text(body, "field");
    StringBuilder sb = new StringBuilder();
    if (a.status() == 401) {
      sb.append("unauthorized: ")
          .append(message != null ? message : "the node refused the API key")
          .append(" (pass --api-key KEY, or --data DIR of the node to use its api.key)");
      return new CliException(ExitCodes.UNAUTHORIZED, sb.toString());
    }
    sb.append(message != null ? message : code != null ? code : "HTTP " + a.status());
    if (field != null) {
      sb.append(" (field: ").append(field).append(')');
    }
    boolean badInput = a.status() == 400 || a.status() == 413 || a.status() == 422;
    return new CliException(badInput ? ExitCodes.USAGE : ExitCodes.FAILURE, sb.toString());
  }

  private static String text(JsonNode body, String name) {
    JsonNode n = body == null ? null : body.get(name);
    return n == null || n.isNull() ? null : n.asText();
  }

  /** The shared JSON mapper. */
  public static ObjectMapper mapper() {
    return MAPPER;
  }
}
