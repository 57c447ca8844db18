package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.NonValidationKeyword;
import dev.mycelium.node.Node;
import dev.mycelium.node.StandardBackends;
import dev.mycelium.node.config.ConfigLoader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/openapi.yaml against running nodes: the document names exactly the routes the node
 * serves, with exactly the methods it serves on them, and real answers of the main operations
 * (successes and errors) are valid against the schemas the document gives for their status,
 * with every field they carry declared there.
 * Two nodes run, so that the peer listing and a network search have something to show.
 */
@Timeout(180)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String DOC_IRI = "https://mycelium.invalid/openapi.yaml";
  private static final List<String> METHODS =
      List.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");
  private static final Duration WAIT = Duration.ofSeconds(30);

  private Path tmp;
  private JsonNode doc;
  private SchemaRegistry schemas;
  private SchemaRegistry closedSchemas;
  private Node node;
  private Node other;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private record Reply(int status, String contentType, String body,
      Map<String, List<String>> headers) {
    Reply(int status, String contentType, String body) {
      this(status, contentType, body, Map.of());
    }

    JsonNode json() throws Exception {
      return JSON.readTree(body);
    }
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tmp = dir;
    Path file = document();
    String yaml = Files.readString(file);
    doc = new YAMLMapper().readTree(yaml);
    // The document's root is read as a schema too when a pointer into it is resolved; its
    // OpenAPI fields are declared as annotations so that the validator does not warn of them.
    Dialect.Builder dialect = Dialect.builder(Dialects.getOpenApi31());
    doc.fieldNames().forEachRemaining(f -> dialect.keyword(new NonValidationKeyword(f)));
    schemas = SchemaRegistry.withDefaultDialect(dialect.build(),
        b -> b.schemas(Map.of(DOC_IRI, yaml)));
    JsonNode closed = doc.deepCopy();
    close(closed, false);
    String closedText = JSON.writeValueAsString(closed);
    closedSchemas = SchemaRegistry.withDefaultDialect(dialect.build(),
        b -> b.schemas(Map.of(DOC_IRI, closedText)));
    node = start("a", null);
    String seed = call(node, "GET", "/v1/status", null, true).json().get("peer").asText();
    other = start("b", seed);
    await().atMost(WAIT).until(() -> call(node, "GET", "/v1/peers", null, true).json()
        .get("peers").size() > 0);
  }

  @AfterAll
  void stop() {
    if (other != null) {
      other.close();
    }
    if (node != null) {
      node.close();
    }
  }

  /**
   * Closes every object schema that lists its properties (and says nothing of others), so that
   * an answer with a field the document does not declare fails: the document is to be complete
   * enough to generate clients from. The condition of an if/then stays open, or it would no
   * longer match and its then would be skipped.
   */
  private static void close(JsonNode n, boolean condition) {
    if (n instanceof ObjectNode o) {
      if (!condition && o.get("properties") instanceof ObjectNode
          && !o.has("additionalProperties") && !o.has("unevaluatedProperties")) {
        o.put("unevaluatedProperties", false);
      }
      o.fields().forEachRemaining(e -> close(e.getValue(), e.getKey().equals("if")));
    } else if (n.isArray()) {
      n.forEach(e -> close(e, false));
    }
  }

  /** docs/openapi.yaml, found from the module's directory (tests run in node/). */
  private static Path document() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("docs/openapi.yaml"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("docs/openapi.yaml above " + Path.of("").toAbsolutePath()).isNotNull();
    return dir.resolve("docs/openapi.yaml");
  }

  private Node start(String name, String seed) {
    ConfigLoader loader = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve(name).toString())
        .flag("mycelium.debug.fault-injection", "true");
    if (seed != null) {
      loader.flag("mycelium.peer.seeds", seed);
    }
    Node n = Node.start(loader.load(), new StandardBackends());
    await().atMost(WAIT).until(() -> call(n, "GET", "/ready", null, false).status() == 200);
    return n;
  }

  private Reply call(Node n, String method, String path, String body, boolean key)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(n.apiUrl() + path))
        .timeout(Duration.ofSeconds(20))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (key) {
      b.header("Authorization", "Bearer " + n.apiKey().value());
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""),
        r.body(), r.headers().map());
  }

  /**
   * A request with the key to the first node. A body the node accepted (2xx) must be valid
   * against the operation's request schema too: the document may not refuse what the node
   * takes.
   */
  private Reply call(String method, String path, String body) throws Exception {
    Reply r = call(node, method, path, body, true);
    JsonNode schema = doc.path("paths").path(ApiRoutes.routeOf(ApiRoutes.pathOf(path)))
        .path(method.toLowerCase(java.util.Locale.ROOT)).path("requestBody");
    if (body != null && r.status() / 100 == 2 && !schema.isMissingNode()) {
      String pointer = "/paths/" + escape(ApiRoutes.routeOf(ApiRoutes.pathOf(path))) + "/"
          + method.toLowerCase(java.util.Locale.ROOT)
          + "/requestBody/content/application~1json/schema";
      List<String> problems = new ArrayList<>();
      schemas.getSchema(SchemaLocation.of(DOC_IRI + "#" + pointer)).validate(JSON.readTree(body))
          .forEach(e -> problems.add(e.toString()));
      assertThat(problems).as("request the node took: " + method + " " + path + " " + body)
          .isEmpty();
    }
    return r;
  }

  // ---- the routes --------------------------------------------------------------------------

  /** The (method, path template) pairs the document describes. */
  private Set<String> documentedOperations() {
    Set<String> out = new TreeSet<>();
    doc.get("paths").fields().forEachRemaining(p -> {
      for (String m : METHODS) {
        if (p.getValue().has(m.toLowerCase(java.util.Locale.ROOT))) {
          out.add(m + " " + p.getKey());
        }
      }
    });
    return out;
  }

  /** A path that instantiates a template with things that exist on the node. */
  private String concrete(String template, String fragmentId) {
    return template.replace("{id}", fragmentId).replace("{file}", "app.js");
  }

  @Test
  void theDocumentNamesExactlyTheRoutesAndMethodsTheNodeServes() throws Exception {
    Set<String> paths = new TreeSet<>();
    doc.get("paths").fieldNames().forEachRemaining(paths::add);
    assertThat(paths).as("paths in docs/openapi.yaml vs ApiRoutes.ROUTES")
        .containsExactlyInAnyOrderElementsOf(ApiRoutes.ROUTES);

    Set<String> served = new TreeSet<>();
    for (String template : ApiRoutes.ROUTES) {
      for (String method : METHODS) {
        // A fragment of its own for each probe, since DELETE removes it.
        String id = put("{\"text\":\"probe " + method + " " + template + "\"}");
        String body = List.of("GET", "HEAD", "OPTIONS", "DELETE").contains(method)
            ? null : "{}";
        Reply r = call(method, concrete(template, id), body);
        if (r.status() != 404 && r.status() != 405) {
          served.add(method + " " + template);
        }
      }
    }
    assertThat(served).as("operations the node serves vs docs/openapi.yaml")
        .containsExactlyInAnyOrderElementsOf(documentedOperations());
  }

  @Test
  void operationsWithoutSecurityAreOpenAndTheOthersWantTheKey() throws Exception {
    String id = put("{\"text\":\"security probe\"}");
    for (String op : documentedOperations()) {
      String method = op.substring(0, op.indexOf(' '));
      String template = op.substring(op.indexOf(' ') + 1);
      JsonNode security = doc.get("paths").get(template).get(method.toLowerCase(
          java.util.Locale.ROOT)).get("security");
      if (security != null && security.size() > 1) {
        continue; // the key is optional by configuration (/metrics)
      }
      boolean open = security != null && security.isEmpty();
      Reply r = call(node, method, concrete(template, id), method.equals("GET") ? null : "{}",
          false);
      if (open) {
        assertThat(r.status()).as(op + " is documented as open").isNotEqualTo(401);
      } else {
        assertThat(r.status()).as(op + " is documented as wanting the key").isEqualTo(401);
        check("GET", "/v1/status", r); // any operation: 401 is on every secured one
      }
    }
  }

  // ---- the answers -------------------------------------------------------------------------

  /**
   * The schema the document gives for one answer: the operation must document the status, and
   * for JSON the body must validate against that status's schema.
   */
  private void check(String method, String template, Reply r) throws Exception {
    assertThat(problems(method, template, r.status(), r.json()))
        .as(method + " " + template + " -> " + r.status() + " " + r.body()).isEmpty();
    assertThat(problems(closedSchemas, method, template, r.status(), r.json()))
        .as("fields that docs/openapi.yaml does not declare, in " + method + " " + template
            + " -> " + r.status() + " " + r.body()).isEmpty();
    assertThat(r.contentType()).startsWith("application/json");
    JsonNode response = doc.path("paths").path(template)
        .path(method.toLowerCase(java.util.Locale.ROOT)).path("responses")
        .path(Integer.toString(r.status()));
    if (response.has("$ref")) {
      response = doc.at(response.get("$ref").asText().substring(1));
    }
    response.path("headers").fieldNames().forEachRemaining(h -> assertThat(
        r.headers().keySet().stream().anyMatch(k -> k.equalsIgnoreCase(h)))
        .as(method + " " + template + " -> " + r.status() + " carries " + h).isTrue());
  }

  private List<String> problems(String method, String template, int status, JsonNode body) {
    return problems(schemas, method, template, status, body);
  }

  private List<String> problems(SchemaRegistry registry, String method, String template,
      int status, JsonNode body) {
    JsonNode op = doc.path("paths").path(template).path(method.toLowerCase(java.util.Locale.ROOT));
    assertThat(op.isObject()).as(method + " " + template + " in the document").isTrue();
    JsonNode response = op.path("responses").path(Integer.toString(status));
    assertThat(response.isObject()).as(method + " " + template + " documents " + status)
        .isTrue();
    String pointer = "/paths/" + escape(template) + "/" + method.toLowerCase(java.util.Locale.ROOT)
        + "/responses/" + status;
    if (response.has("$ref")) {
      pointer = response.get("$ref").asText().substring(1);
      response = doc.at(pointer);
    }
    assertThat(response.path("content").has("application/json"))
        .as(pointer + " has a JSON schema").isTrue();
    Schema schema = registry.getSchema(SchemaLocation.of(DOC_IRI + "#" + pointer
        + "/content/application~1json/schema"));
    List<String> out = new ArrayList<>();
    for (Error e : schema.validate(body)) {
      out.add(e.toString());
    }
    return out;
  }

  private List<String> problemsWith(String componentSchema, JsonNode body) {
    Schema schema = closedSchemas.getSchema(SchemaLocation.of(DOC_IRI + "#/components/schemas/"
        + componentSchema));
    List<String> out = new ArrayList<>();
    for (Error e : schema.validate(body)) {
      out.add(e.toString());
    }
    return out;
  }

  /** A JSON pointer token, percent-encoded where a URI fragment needs it. */
  private static String escape(String token) {
    return token.replace("~", "~0").replace("/", "~1").replace("{", "%7B").replace("}", "%7D");
  }

  private String put(String body) throws Exception {
    Reply r = call("POST", "/v1/fragments", body);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("id").asText();
  }

  @Test
  void answersOfTheMainOperationsMatchTheirSchemas() throws Exception {
    Reply put = call("POST", "/v1/fragments", "{\"text\":\"the heron fishes at dawn\","
        + "\"metadata\":{\"topic\":\"birds\"},\"agent\":\"scout\",\"run\":\"r1\"}");
    check("POST", "/v1/fragments", put);
    String id = put.json().get("id").asText();

    Reply waited = call("POST", "/v1/fragments", "{\"text\":\"kingfishers dive\","
        + "\"replicas\":1}");
    check("POST", "/v1/fragments", waited);
    assertThat(waited.json().has("replicas")).isTrue();

    Reply fresh = call("POST", "/v1/fragments", "{\"text\":\"owls hunt at night\","
        + "\"agent\":\"scout\",\"dedup\":true}");
    check("POST", "/v1/fragments", fresh);
    Reply dup = call("POST", "/v1/fragments", "{\"text\":\"owls hunt at night\","
        + "\"agent\":\"scout\",\"dedup\":true}");
    assertThat(dup.status()).isEqualTo(200);
    check("POST", "/v1/fragments", dup);

    Reply updated = call("POST", "/v1/fragments", "{\"text\":\"the heron fishes at dusk\","
        + "\"agent\":\"scout\",\"run\":\"r1\",\"supersedes\":\"" + id + "\"}");
    check("POST", "/v1/fragments", updated);
    String newer = updated.json().get("id").asText();

    Reply got = call("GET", "/v1/fragments/" + id, null);
    check("GET", "/v1/fragments/{id}", got);
    assertThat(got.json().get("superseded_by").asText()).isEqualTo(newer);
    check("GET", "/v1/fragments/{id}/history",
        call("GET", "/v1/fragments/" + newer + "/history", null));

    check("POST", "/v1/fragments/batch", call("POST", "/v1/fragments/batch",
        "{\"fragments\":[{\"text\":\"a wren sings\"},{\"text\":\"a robin too\"}]}"));
    // A bad item fails alone in a 200 (so not through call(), which holds a 2xx request valid).
    Reply mixed = call(node, "POST", "/v1/fragments/batch",
        "{\"fragments\":[{\"text\":\"a wren sings\"},{\"text\":\"\",\"visibility\":\"odd\"}]}",
        true);
    check("POST", "/v1/fragments/batch", mixed);
    assertThat(mixed.json().get("failed").asInt()).isEqualTo(1);
    check("POST", "/v1/fragments/list", call("POST", "/v1/fragments/list",
        "{\"filter\":{\"agent\":\"scout\"},\"include_superseded\":true}"));

    await().atMost(WAIT).untilAsserted(() -> {
      Reply s = call("POST", "/v1/search", "{\"text\":\"heron\",\"k\":5}");
      check("POST", "/v1/search", s);
      assertThat(s.json().get("hits").size()).isPositive();
    });
    Reply network = call("POST", "/v1/search",
        "{\"text\":\"heron\",\"k\":5,\"scope\":\"network\"}");
    check("POST", "/v1/search", network);
    assertThat(network.json().get("scope").asText()).isEqualTo("network");

    Reply dry = call("POST", "/v1/fragments/forget", "{\"filter\":{\"agent\":\"scout\"}}");
    check("POST", "/v1/fragments/forget", dry);
    assertThat(dry.json().get("matched").asInt()).isPositive();

    check("GET", "/v1/status", call("GET", "/v1/status", null));
    Reply peers = call("GET", "/v1/peers", null);
    check("GET", "/v1/peers", peers);
    assertThat(peers.json().get("peers").size()).isPositive();
    check("GET", "/v1/repair", call("GET", "/v1/repair", null));
    check("POST", "/v1/repair/run", call("POST", "/v1/repair/run", null));
    check("GET", "/v1/keyring", call("GET", "/v1/keyring", null));
    check("GET", "/v1/debug/faults", call("GET", "/v1/debug/faults", null));
    check("PUT", "/v1/debug/faults", call("PUT", "/v1/debug/faults", "{\"loss\":0}"));
    check("GET", "/health", call(node, "GET", "/health", null, false));
    check("GET", "/ready", call(node, "GET", "/ready", null, false));

    String doomed = put("{\"text\":\"to be deleted\"}");
    check("DELETE", "/v1/fragments/{id}", call("DELETE", "/v1/fragments/" + doomed, null));
    Reply deleted = call("GET", "/v1/fragments/" + doomed, null);
    check("GET", "/v1/fragments/{id}", deleted);
    assertThat(deleted.json().get("state").asText()).isEqualTo("DELETED");
    Reply flagged = call("POST", "/v1/fragments/list", "{\"states\":[\"DELETED\"]}");
    check("POST", "/v1/fragments/list", flagged);
    assertThat(flagged.json().get("fragments").get(0).get("state").asText())
        .isEqualTo("DELETED");
    assertThat(got.json().has("replicas")).as("own fragment, replication on: " + got.body())
        .isTrue();

    Reply export = call("GET", "/v1/export", null);
    assertThat(export.status()).isEqualTo(200);
    assertThat(export.contentType()).startsWith("application/x-ndjson");
    for (String line : export.body().split("\n")) {
      assertThat(problemsWith("ExportLine", JSON.readTree(line))).as(line).isEmpty();
      assertThat(problemsWith("PutRequest", JSON.readTree(line))).as(line).isEmpty();
    }
  }

  @Test
  void errorAnswersMatchTheErrorSchema() throws Exception {
    String unknown = "ab".repeat(32);
    Reply notFound = call("GET", "/v1/fragments/" + unknown, null);
    assertThat(notFound.status()).isEqualTo(404);
    check("GET", "/v1/fragments/{id}", notFound);
    check("GET", "/v1/fragments/{id}", call("GET", "/v1/fragments/not-an-id", null));
    Reply bad = call("POST", "/v1/search", "{\"text\":\"x\",\"k\":0}");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().get("field").asText()).isEqualTo("k");
    check("POST", "/v1/search", bad);
    check("POST", "/v1/fragments", call("POST", "/v1/fragments", "not json"));
    check("POST", "/v1/fragments", call("POST", "/v1/fragments",
        "{\"text\":\"x\",\"supersedes\":\"" + unknown + "\"}"));
    Reply conflict = call("POST", "/v1/fragments/forget",
        "{\"filter\":{\"agent\":\"nobody\"},\"dry_run\":false,\"expect\":3}");
    assertThat(conflict.status()).isEqualTo(409);
    check("POST", "/v1/fragments/forget", conflict);
    Reply unauthorized = call(node, "GET", "/v1/status", null, false);
    assertThat(unauthorized.status()).isEqualTo(401);
    check("GET", "/v1/status", unauthorized);
  }

  /** One request over a plain socket, for what java.net.http will not send (a foreign Host). */
  private static Reply raw(Node n, String request) throws Exception {
    URI api = URI.create(n.apiUrl());
    try (java.net.Socket socket = new java.net.Socket(api.getHost(), api.getPort())) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      String answer = new String(socket.getInputStream().readAllBytes(),
          java.nio.charset.StandardCharsets.UTF_8);
      int headEnd = answer.indexOf("\r\n\r\n");
      String[] head = answer.substring(0, headEnd).split("\r\n");
      Map<String, List<String>> headers = new java.util.HashMap<>();
      for (int i = 1; i < head.length; i++) {
        int colon = head[i].indexOf(':');
        headers.put(head[i].substring(0, colon).trim(), List.of(head[i].substring(colon + 1)
            .trim()));
      }
      String contentType = headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase("Content-Type"))
          .map(e -> e.getValue().get(0)).findFirst().orElse("");
      return new Reply(Integer.parseInt(head[0].split(" ")[1]), contentType,
          answer.substring(headEnd + 4), headers);
    }
  }

  @Test
  void refusalsAtTheDoorMatchTheDocument() throws Exception {
    // A node without a peer service, a small body limit and a short request timeout.
    ConfigLoader loader = new ConfigLoader().preset("test")
        .flag("mycelium.node.data-dir", tmp.resolve("c").toString())
        .flag("mycelium.peer.enabled", "false")
        .flag("mycelium.api.max-body-bytes", "1024")
        .flag("mycelium.api.request-timeout", "1s");
    try (Node lone = Node.start(loader.load(), new StandardBackends())) {
      await().atMost(WAIT).until(() -> call(lone, "GET", "/ready", null, false).status()
          == 200);
      Reply unavailable = call(lone, "GET", "/v1/repair", null, true);
      assertThat(unavailable.status()).isEqualTo(503);
      check("GET", "/v1/repair", unavailable);

      Reply tooLarge = call(lone, "POST", "/v1/fragments", "{\"text\":\"" + "x".repeat(2048)
          + "\"}", true);
      assertThat(tooLarge.status()).isEqualTo(413);
      check("POST", "/v1/fragments", tooLarge);

      String key = "Authorization: Bearer " + lone.apiKey().value() + "\r\n";
      Reply misdirected = raw(lone, "GET /v1/status HTTP/1.1\r\nHost: elsewhere.example\r\n"
          + key + "Connection: close\r\n\r\n");
      assertThat(misdirected.status()).isEqualTo(421);
      check("GET", "/v1/status", misdirected);

      // The body never comes whole: the node gives up after api.request-timeout.
      Reply timeout = raw(lone, "POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\n" + key
          + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\":");
      assertThat(timeout.status()).isEqualTo(408);
      check("POST", "/v1/search", timeout);
    }
  }

  @Test
  void theRequestSchemasRefuseWhatTheNodeRefuses() throws Exception {
    for (String bad : List.of("{\"text\":\"x\",\"colour\":\"red\"}", "{\"metadata\":{}}",
        "{\"text\":\"x\",\"replicas\":17}", "{\"text\":\"x\",\"visibility\":\"public\"}",
        "{\"text\":\"x\",\"agent\":\"\"}")) {
      assertThat(call(node, "POST", "/v1/fragments", bad, true).status()).as(bad).isEqualTo(400);
      Schema schema = schemas.getSchema(SchemaLocation.of(DOC_IRI
          + "#/components/schemas/PutRequest"));
      assertThat(schema.validate(JSON.readTree(bad))).as(bad).isNotEmpty();
    }
    for (String bad : List.of("{\"text\":\"x\",\"k\":0}", "{\"k\":3}",
        "{\"text\":\"x\",\"filter\":{\"colour\":\"red\"}}",
        "{\"text\":\"x\",\"scope\":\"everywhere\"}")) {
      assertThat(call(node, "POST", "/v1/search", bad, true).status()).as(bad).isEqualTo(400);
      Schema schema = schemas.getSchema(SchemaLocation.of(DOC_IRI
          + "#/components/schemas/SearchRequest"));
      assertThat(schema.validate(JSON.readTree(bad))).as(bad).isNotEmpty();
    }
  }

  @Test
  void theSchemasRefuseAnAnswerThatLacksARequiredField() throws Exception {
    // Guards against a validator that passes everything (an unresolved $ref, a wrong dialect).
    ObjectNode status = (ObjectNode) call("GET", "/v1/status", null).json();
    assertThat(problems("GET", "/v1/status", 200, status)).isEmpty();
    status.remove("node_id");
    assertThat(problems("GET", "/v1/status", 200, status)).isNotEmpty();

    String id = put("{\"text\":\"a required text\"}");
    ObjectNode fragment = (ObjectNode) call("GET", "/v1/fragments/" + id, null).json();
    assertThat(problems("GET", "/v1/fragments/{id}", 200, fragment)).isEmpty();
    fragment.remove("text");
    assertThat(problems("GET", "/v1/fragments/{id}", 200, fragment)).isNotEmpty();

    ObjectNode error = (ObjectNode) call("GET", "/v1/fragments/" + "cd".repeat(32), null)
        .json();
    assertThat(problems("GET", "/v1/fragments/{id}", 404, error)).isEmpty();
    error.remove("ref");
    assertThat(problems("GET", "/v1/fragments/{id}", 404, error)).isNotEmpty();

    ObjectNode surprising = (ObjectNode) call("GET", "/v1/peers", null).json();
    assertThat(problems(closedSchemas, "GET", "/v1/peers", 200, surprising)).isEmpty();
    ((ObjectNode) surprising.get("peers").get(0)).put("mood", "cheerful");
    assertThat(problems(closedSchemas, "GET", "/v1/peers", 200, surprising)).isNotEmpty();
    assertThat(problems("GET", "/v1/peers", 200, surprising)).isEmpty();

    ObjectNode hitless = (ObjectNode) call("POST", "/v1/search", "{\"text\":\"x\"}").json();
    hitless.put("took_ms", "soon");
    assertThat(problems("POST", "/v1/search", 200, hitless)).isNotEmpty();
  }
}
