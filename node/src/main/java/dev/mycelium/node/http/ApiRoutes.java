package dev.mycelium.node.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.node.FragmentService;
import dev.mycelium.node.FragmentService.PutResult;
import dev.mycelium.node.FragmentService.SearchHit;
import dev.mycelium.node.NotOwnerException;
import dev.mycelium.node.NotReadyException;
import dev.mycelium.node.http.RequestParser.SearchRequest;
import dev.mycelium.node.peer.FaultControl;
import dev.mycelium.node.replica.RepairControl;
import dev.mycelium.node.search.SearchService;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API v1 as a plain function from (method, path, authorization, body) to a response:
 * routing, authentication, request checks and the mapping of every failure to the error body
 * of the contract. Kept free of Netty so that it runs on worker threads and is tested directly.
 */
public final class ApiRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(ApiRoutes.class);
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final String FRAGMENTS = "/v1/fragments";
  private static final String FAULTS = "/v1/debug/faults";
  private static final String EXPORT = "/v1/export";
  private static final String HISTORY = "/history";

  private final ApiBackend backend;
  private final ApiKey apiKey;
  private final RequestParser parser;
  private final boolean metricsNeedKey;
  private final SearchService searches;

  /** Routes for a node whose vectors have the given dimension; {@code /metrics} wants the key. */
  public ApiRoutes(ApiBackend backend, ApiKey apiKey, int dimension) {
    this(backend, apiKey, dimension, true);
  }

  /**
   * Routes for a node whose vectors have the given dimension.
   *
   * @param metricsNeedKey whether {@code /metrics} wants the API key (api.metrics-need-key)
   */
  public ApiRoutes(ApiBackend backend, ApiKey apiKey, int dimension, boolean metricsNeedKey) {
    this.backend = backend;
    this.searches = new SearchService(backend::fragments, backend::networkSearch);
    this.apiKey = apiKey;
    this.parser = new RequestParser(dimension);
    this.metricsNeedKey = metricsNeedKey;
  }

  /** The path of a request URI: no query, no trailing slash. */
  static String pathOf(String uri) {
    String path = uri;
    int q = path.indexOf('?');
    if (q >= 0) {
      path = path.substring(0, q);
    }
    if (path.length() > 1 && path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return path;
  }

  /**
   * Whether a path is served without the API key: liveness, readiness, the dashboard's files
   * (which hold no data), and {@code /metrics} when configured so.
   */
  boolean open(String path) {
    return path.equals("/health") || path.equals("/ready") || Dashboard.owns(path)
        || (path.equals("/metrics") && !metricsNeedKey);
  }

  /** Whether an {@code Authorization} header value carries the API key. */
  boolean authorized(String authorization) {
    return apiKey.matchesHeader(authorization);
  }

  /**
   * The answer to a request that needs no worker, or empty: {@code GET /health}, so that a
   * liveness probe is answered on the connection's event loop even when every worker is busy.
   * Everything else goes to {@link #respond} on a worker. (A GET of a readable fragment was
   * answered here too for a while; it made no difference to wrk's rate on two cores, so it goes
   * to a worker like the rest: docs/BENCHMARKS.md, "The laptop table".)
   */
  public Optional<ApiResponse> answerAtOnce(String method, String uri) {
    String path = pathOf(uri);
    return method.equals("GET") && path.equals("/health")
        ? Optional.of(health(routeOf(path))) : Optional.empty();
  }

  private static ApiResponse health(String route) {
    return json(route, 200, F.objectNode().put("status", "up"));
  }

  /** Answers one request, waiting for a deferred answer if there is one; never throws. */
  public ApiResponse handle(String method, String uri, String authorization, byte[] body) {
    return respond(method, uri, authorization, body).join();
  }

  /**
   * Answers one request. The answer is complete at once except for a put that waits for
   * replicas, which completes when the holders confirm or the write timeout passes, so that
   * the wait holds no thread. The future never completes exceptionally.
   */
  public CompletableFuture<ApiResponse> respond(String method, String uri,
      String authorization, byte[] body) {
    String path = pathOf(uri);
    String route = routeOf(path);
    try {
      if (route.equals(FRAGMENTS) && method.equals("POST") && apiKey.matchesHeader(authorization)) {
        return put(route, body).exceptionally(e -> failure(method, path, route,
            e instanceof CompletionException && e.getCause() != null ? e.getCause() : e));
      }
      return CompletableFuture.completedFuture(
          dispatch(method, path, route, authorization, body));
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(failure(method, path, route, e));
    }
  }

  /** The error answer for what a request threw: the contract's code, never the internals. */
  private static ApiResponse failure(String method, String path, String route, Throwable t) {
    if (t instanceof ApiException e) {
      return error(route, e.status(), e.code(), e.getMessage(), e.field());
    } else if (t instanceof InvalidFragmentException e) {
      return error(route, 400, "invalid_field", e.getMessage(), e.field());
    } else if (t instanceof StoreFullException e) {
      return error(route, 507, "store_full", e.getMessage(), null);
    } else if (t instanceof NotReadyException e) {
      return error(route, 503, "unavailable", e.getMessage(), null);
    } else if (t instanceof NotOwnerException e) {
      return error(route, 403, "forbidden", e.getMessage(), "id");
    }
    String ref = newRef();
    LOG.error("internal error on {} {} (ref {})", method, path, ref, t);
    return error(ref, route, 500, "internal", "internal error; the node's log has the details "
        + "under ref " + ref, null);
  }

  private ApiResponse dispatch(
      String method, String path, String route, String authorization, byte[] body) {
    switch (path) {
      case "/health":
        requireMethod(method, "GET");
        return health(route);
      case "/ready":
        {
          requireMethod(method, "GET");
          List<String> reasons = backend.notReadyReasons();
          if (reasons.isEmpty()) {
            return json(route, 200, F.objectNode().put("ready", true));
          }
          ObjectNode n = F.objectNode().put("ready", false);
          ArrayNode r = n.putArray("reasons");
          reasons.forEach(r::add);
          return json(route, 503, n);
        }
      default:
        break;
    }
    if (Dashboard.owns(path)) {
      // The dashboard's files hold no data; its API calls carry the key like any client's.
      requireMethod(method, "GET");
      return Dashboard.serve(path).orElseThrow(() ->
          new ApiException(404, "not_found", "no such dashboard file: " + path, null));
    }
    if (!open(path) && !apiKey.matchesHeader(authorization)) {
      throw unauthorized();
    }
    switch (route) {
      case "/metrics":
        requireMethod(method, "GET");
        return new ApiResponse(
            200, backend.metrics().contentType(), backend.metrics().scrape(), route);
      case FRAGMENTS:
        requireMethod(method, "POST");
        return put(route, body).join();
      case FRAGMENTS + "/batch":
        requireMethod(method, "POST");
        return batch(route, body);
      case FRAGMENTS + "/list":
        requireMethod(method, "POST");
        return list(route, body);
      case FRAGMENTS + "/forget":
        requireMethod(method, "POST");
        return forget(route, body);
      case FRAGMENTS + "/{id}/history":
        {
          requireMethod(method, "GET");
          String rest = path.substring(FRAGMENTS.length() + 1);
          return history(route, RequestParser.id(rest.substring(0, rest.indexOf('/'))));
        }
      case EXPORT:
        requireMethod(method, "GET");
        return export(route);
      case FRAGMENTS + "/{id}":
        {
          FragmentId id = RequestParser.id(path.substring(FRAGMENTS.length() + 1));
          if (method.equals("GET")) {
            return get(route, id);
          }
          if (method.equals("DELETE")) {
            return delete(route, id);
          }
          throw notAllowed(method, "GET, DELETE");
        }
      case "/v1/search":
        requireMethod(method, "POST");
        return search(route, body);
      case "/v1/status":
        requireMethod(method, "GET");
        return json(route, 200, RequestParser.JSON.valueToTree(backend.status()));
      case "/v1/peers":
        requireMethod(method, "GET");
        return json(route, 200, RequestParser.JSON.valueToTree(Map.of("peers", backend.peers())));
      case "/v1/repair":
        requireMethod(method, "GET");
        return json(route, 200, RequestParser.JSON.valueToTree(repairControl().status().toJson()));
      case "/v1/repair/run":
        {
          requireMethod(method, "POST");
          RepairControl control = repairControl();
          boolean started = control.runNow();
          ObjectNode n = F.objectNode().put("started", started);
          if (!started) {
            n.put("message", "a repair cycle is already running; it covers this request");
          }
          n.set("status", RequestParser.JSON.valueToTree(control.status().toJson()));
          return json(route, 202, n);
        }
      case "/v1/keyring":
        return keyring(method, route, body);
      case FAULTS:
        return faults(method, route, body);
      default:
        throw new ApiException(404, "not_found", "no such endpoint: " + path, null);
    }
  }

  private RepairControl repairControl() {
    return backend.repair().orElseThrow(() -> new ApiException(503, "unavailable",
        "this node runs no replication, so it repairs nothing; replication needs the peer "
            + "service (mycelium.peer.enabled = true)", null));
  }

  /** GET lists the network keyring; POST {"action", "key"} changes it. */
  private ApiResponse keyring(String method, String route, byte[] body) {
    try {
      if (method.equals("GET")) {
        return json(route, 200, RequestParser.JSON.valueToTree(backend.keyring()));
      }
      if (!method.equals("POST")) {
        throw notAllowed(method, "GET, POST");
      }
      JsonNode req;
      try {
        req = RequestParser.JSON.readTree(body);
      } catch (JsonProcessingException e) {
        throw ApiException.badRequest(null, "the body is not JSON: "
            + RequestParser.jsonProblem(e));
      } catch (java.io.IOException e) {
        throw ApiException.badRequest(null, "the body could not be read as JSON");
      }
      if (req == null || !req.isObject()) {
        throw ApiException.badRequest(null, "send {\"action\": \"install\"|\"use\"|\"remove\", "
            + "\"key\": \"<base64 network key>\"}");
      }
      JsonNode action = req.get("action");
      if (action == null || !action.isTextual()
          || !List.of("install", "use", "remove").contains(action.asText())) {
        throw ApiException.invalid("action", "action must be \"install\", \"use\" or "
            + "\"remove\"");
      }
      JsonNode key = req.get("key");
      if (key == null || !key.isTextual()) {
        throw ApiException.badRequest("key", "key must be a string: the base64 network key");
      }
      byte[] raw;
      try {
        raw = dev.mycelium.node.peer.NetworkKeyring.parse(key.asText());
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid("key", e.getMessage());
      }
      return json(route, 200, RequestParser.JSON.valueToTree(
          backend.changeKeyring(action.asText(), raw)));
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid("key", e.getMessage());
    } catch (IllegalStateException e) {
      throw new ApiException(409, "conflict", e.getMessage(), null);
    }
  }

  /**
   * GET shows the injected faults, PUT {"partition", "loss", "seed"} changes them; both only
   * with {@code mycelium.debug.fault-injection} on (test networks), else 404.
   */
  private ApiResponse faults(String method, String route, byte[] body) {
    if (!backend.faultInjectionEnabled()) {
      throw new ApiException(404, "fault_injection_disabled", "fault injection is off on this "
          + "node; on a test network (never a real one) set mycelium.debug.fault-injection = "
          + "true in its configuration and restart it", null);
    }
    FaultControl.State state;
    if (method.equals("GET")) {
      state = faultControl().state();
    } else if (method.equals("PUT")) {
      FaultControl.Change change = RequestParser.faults(RequestParser.parse(body));
      try {
        state = faultControl().apply(change);
      } catch (IllegalArgumentException e) {
        // The loss was checked above, so what is left to refuse is the partition.
        throw ApiException.invalid("partition", e.getMessage());
      }
    } else {
      throw notAllowed(method, "GET, PUT");
    }
    ObjectNode n = F.objectNode().put("enabled", true);
    ArrayNode ids = n.putArray("partitioned");
    state.partitioned().stream().map(Object::toString).sorted().forEach(ids::add);
    n.put("loss", state.loss());
    n.put("seed", state.seed());
    n.put("dropped", state.dropped());
    return json(route, 200, n);
  }

  private FaultControl faultControl() {
    return backend.faults().orElseThrow(() -> new ApiException(503, "unavailable",
        "this node runs no peer service, so there are no peers to cut off or drop; fault "
            + "injection needs mycelium.peer.enabled = true", null));
  }

  /**
   * Every path template the API serves, spelled as docs/openapi.yaml spells them. A path that
   * is not one of these (or an instance of a template) is labelled "other" and answered 404,
   * so a route missing here is not served at all; OpenApiIT checks the document against it.
   */
  static final List<String> ROUTES = List.of("/health", "/ready", "/metrics", FRAGMENTS,
      FRAGMENTS + "/batch", FRAGMENTS + "/list", FRAGMENTS + "/forget", FRAGMENTS + "/{id}",
      FRAGMENTS + "/{id}/history", EXPORT, "/v1/search", "/v1/status", "/v1/peers",
      "/v1/keyring", "/v1/repair", "/v1/repair/run", FAULTS, Dashboard.ROUTE,
      Dashboard.ROUTE + "/{file}");

  private static final java.util.Set<String> FIXED_ROUTES = java.util.Set.copyOf(
      ROUTES.stream().filter(r -> !r.contains("{")).toList());

  /** The route template of a path, for metrics labels (every dashboard file is "/ui"). */
  static String routeOf(String path) {
    if (Dashboard.owns(path)) {
      return Dashboard.ROUTE;
    }
    if (FIXED_ROUTES.contains(path)) {
      return path;
    }
    if (path.startsWith(FRAGMENTS + "/") && path.endsWith(HISTORY)
        && path.indexOf('/', FRAGMENTS.length() + 1) == path.length() - HISTORY.length()) {
      return FRAGMENTS + "/{id}/history";
    }
    if (path.startsWith(FRAGMENTS + "/") && path.indexOf('/', FRAGMENTS.length() + 1) < 0) {
      return FRAGMENTS + "/{id}";
    }
    return "other";
  }

  /** The 401 of a request without the right key. */
  static ApiException unauthorized() {
    return new ApiException(401, "unauthorized",
        "send the API key as \"Authorization: Bearer <key>\"; it is in the node's "
            + "data directory, file " + ApiKey.FILE_NAME, null);
  }

  /** Most holders a put may wait for: more than any sensible replication factor. */
  static final int MAX_REPLICAS = 16;

  private CompletableFuture<ApiResponse> put(String route, byte[] body) {
    JsonNode tree = RequestParser.parse(body);
    int w = 0;
    if (tree instanceof ObjectNode obj && obj.has("replicas")) {
      JsonNode rep = obj.remove("replicas");
      if (!rep.isIntegralNumber() || rep.asLong() < 0 || rep.asLong() > MAX_REPLICAS) {
        throw ApiException.invalid("replicas", "replicas must be a whole number from 0 to "
            + MAX_REPLICAS + " (holders to wait for), got " + rep);
      }
      w = rep.asInt();
    }
    FragmentId supersedes = null;
    Double dedup = null;
    if (tree instanceof ObjectNode obj) {
      JsonNode sup = obj.remove("supersedes");
      if (sup != null && !sup.isNull()) {
        if (!sup.isTextual()) {
          throw ApiException.badRequest("supersedes", "supersedes must be a fragment ID string");
        }
        try {
          supersedes = FragmentId.parse(sup.asText());
        } catch (IllegalArgumentException e) {
          throw ApiException.invalid("supersedes", "supersedes: " + e.getMessage());
        }
        if (obj.path("metadata").has(dev.mycelium.node.MemoryMarks.SUPERSEDES)) {
          throw ApiException.invalid("metadata.supersedes", "give supersedes once, as a field");
        }
      }
      dedup = dedupThreshold(obj.remove("dedup"));
    }
    FragmentService.PutRequest request = parser.put(tree, "");
    FragmentService fragments = backend.fragments();
    if (w > 0 && !fragments.replicating()) {
      throw new ApiException(503, "unavailable", "this node runs no replication, so no holder "
          + "can confirm \"replicas\": " + w + "; nothing was stored (replication needs "
          + "mycelium.peer.enabled = true)", "replicas");
    }
    if (supersedes != null) {
      java.util.Map<String, String> md = new java.util.LinkedHashMap<>(request.metadata());
      md.put(dev.mycelium.node.MemoryMarks.SUPERSEDES, supersedes.toString());
      request = new FragmentService.PutRequest(request.text(), request.vector(), md,
          request.visibility());
    }
    if (dedup != null) {
      // The duplicate check needs the vector now; it is then stored with the fragment, which
      // makes the new fragment searchable at once instead of after the embedder's turn.
      float[] vector = fragments.queryVector(request.text(), request.vector());
      request = new FragmentService.PutRequest(request.text(), vector, request.metadata(),
          request.visibility());
      if (supersedes == null) {
        Optional<SearchHit> dup = fragments.nearDuplicate(vector, request.metadata(), dedup);
        if (dup.isPresent()) {
          SearchHit h = dup.get();
          ObjectNode n = F.objectNode();
          n.put("id", h.id().toString());
          n.put("state", h.state().name());
          n.put("created_at", h.fragment().orElseThrow().createdAtMillis());
          n.put("embedded", true);
          n.put("deduplicated", true);
          n.put("similarity", h.score());
          return CompletableFuture.completedFuture(json(route, 200, n));
        }
      }
    }
    PutResult r;
    if (supersedes != null) {
      try {
        r = fragments.update(request, supersedes);
      } catch (IllegalArgumentException e) {
        throw new ApiException(409, "conflict", e.getMessage(), "supersedes");
      }
    } else {
      r = fragments.put(request);
    }
    ObjectNode n = F.objectNode();
    if (dedup != null) {
      n.put("deduplicated", false);
    }
    if (supersedes != null) {
      n.put("supersedes", supersedes.toString());
    }
    n.put("id", r.id().toString());
    n.put("state", r.state().name());
    n.put("created_at", r.createdAtMillis());
    n.put("embedded", r.embedded());
    if (w > 0 && r.state() == FragmentState.PRESENT) {
      int wanted = w;
      return fragments.replicasLater(r.id(), w).thenApply(confirmed -> {
        ObjectNode rep = n.putObject("replicas");
        rep.put("wanted", wanted);
        ArrayNode ids = rep.putArray("confirmed");
        confirmed.stream().map(Object::toString).sorted().forEach(ids::add);
        rep.put("met", confirmed.size() >= wanted);
        return json(route, 201, n);
      });
    }
    return CompletableFuture.completedFuture(json(route, 201, n));
  }

  /** Similarity used when a put says {@code "dedup": true}. */
  static final double DEFAULT_DEDUP_SIMILARITY = 0.95;

  /** {@code dedup}: absent or false (no check), true (the default similarity) or 0 &lt; s ≤ 1. */
  private static Double dedupThreshold(JsonNode d) {
    if (d == null || d.isNull() || (d.isBoolean() && !d.asBoolean())) {
      return null;
    }
    if (d.isBoolean()) {
      return DEFAULT_DEDUP_SIMILARITY;
    }
    if (!d.isNumber() || !(d.asDouble() > 0 && d.asDouble() <= 1)) {
      throw ApiException.invalid("dedup", "dedup must be true, false, or a cosine similarity "
          + "above 0 and at most 1 (return an existing fragment at least this close), got " + d);
    }
    return d.asDouble();
  }

  private ApiResponse list(String route, byte[] body) {
    RequestParser.ListRequest req = parser.list(RequestParser.parse(body));
    FragmentService.Listing listing =
        backend.fragments().list(req.filter(), req.includeHidden(), req.states(), req.limit());
    ObjectNode out = F.objectNode();
    out.put("total", listing.total());
    ArrayNode items = out.putArray("fragments");
    for (StoredFragment sf : listing.fragments()) {
      ObjectNode n = withReplicas(fragmentNode(sf.id(), sf), sf);
      if (req.includeHidden()) {
        backend.fragments().supersededBy(sf.id()).ifPresent(next -> n.put("superseded_by",
            next.toString()));
      }
      items.add(n);
    }
    out.put("truncated", listing.total() > listing.fragments().size());
    return json(route, 200, out);
  }

  private ApiResponse forget(String route, byte[] body) {
    RequestParser.ForgetRequest req = parser.forget(RequestParser.parse(body));
    FragmentService.ForgetResult r;
    try {
      r = backend.fragments().forget(req.filter(), req.dryRun(), req.expect());
    } catch (IllegalStateException e) {
      throw new ApiException(409, "conflict", e.getMessage(), "expect");
    }
    ObjectNode out = F.objectNode();
    out.put("dry_run", req.dryRun());
    out.put("matched", r.matched());
    out.put("deleted", r.deleted());
    ArrayNode ids = out.putArray("ids");
    r.sample().forEach(id -> ids.add(id.toString()));
    return json(route, 200, out);
  }

  private ApiResponse history(String route, FragmentId id) {
    List<FragmentService.Version> versions = backend.fragments().history(id).orElseThrow(() ->
        new ApiException(404, "not_found", "no fragment " + id + " at this node", "id"));
    ObjectNode out = F.objectNode();
    out.put("id", id.toString());
    out.put("current", versions.get(versions.size() - 1).id().toString());
    ArrayNode items = out.putArray("versions");
    for (FragmentService.Version v : versions) {
      ObjectNode n = v.stored().map(sf -> withReplicas(fragmentNode(v.id(), sf), sf))
          .orElseGet(() -> F.objectNode().put("id", v.id().toString()).put("state", "UNKNOWN"));
      v.supersededBy().ifPresent(next -> n.put("superseded_by", next.toString()));
      items.add(n);
    }
    return json(route, 200, out);
  }

  /**
   * This node's own fragments as JSON lines, one {@code POST /v1/fragments} body per line
   * (text, vector when the client gave one, metadata, visibility), oldest first: what
   * {@code mycelium put --file} reads back. The order and the encoding depend only on the
   * fragments, so two nodes holding the same fragments export the same bytes.
   */
  private ApiResponse export(String route) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try {
      for (Fragment f : backend.fragments().ownFragments()) {
        ObjectNode n = F.objectNode();
        n.put("text", f.text());
        if (f.hasVector()) {
          ArrayNode v = n.putArray("vector");
          for (float x : f.vector()) {
            v.add(x);
          }
        }
        ObjectNode md = n.putObject("metadata");
        f.metadata().forEach(md::put);
        n.put("visibility", f.visibility().name().toLowerCase(Locale.ROOT));
        out.write(RequestParser.JSON.writeValueAsBytes(n));
        out.write('\n');
      }
    } catch (java.io.IOException e) {
      throw new IllegalStateException("writing to memory cannot fail", e);
    }
    return new ApiResponse(200, "application/x-ndjson", out.toByteArray(), route);
  }

  /**
   * Adds {@code "replicas": {"holders", "confirmed"}} to an own fragment's body when the node
   * runs replication (a fragment of another owner has no holders here, so no field).
   */
  private ObjectNode withReplicas(ObjectNode n, StoredFragment sf) {
    backend.fragments().replicas(sf.id(), sf.owner()).ifPresent(r -> {
      ObjectNode rep = n.putObject("replicas");
      ArrayNode holders = rep.putArray("holders");
      r.holders().forEach(h -> holders.add(h.toString()));
      ArrayNode confirmed = rep.putArray("confirmed");
      r.confirmed().stream().map(Object::toString).sorted().forEach(confirmed::add);
    });
    return n;
  }

  /** A fragment as {@code GET /v1/fragments/{id}} shows it. */
  private static ObjectNode fragmentNode(FragmentId id, StoredFragment sf) {
    ObjectNode n = F.objectNode();
    n.put("id", id.toString());
    n.put("state", sf.state().name());
    sf.owner().ifPresent(o -> n.put("owner", o.toString()));
    if (sf.state() == FragmentState.PRESENT && sf.fragment().isPresent()) {
      Fragment f = sf.fragment().get();
      n.put("owner", f.owner().toString());
      n.put("created_at", f.createdAtMillis());
      n.put("text", f.text());
      ObjectNode md = n.putObject("metadata");
      f.metadata().forEach(md::put);
      n.put("visibility", f.visibility().name().toLowerCase(Locale.ROOT));
      n.put("has_vector", f.hasVector());
    }
    return n;
  }

  private ApiResponse batch(String route, byte[] body) {
    List<JsonNode> items = parser.batch(RequestParser.parse(body));
    FragmentService fragments = backend.fragments();
    ObjectNode out = F.objectNode();
    ArrayNode results = out.putArray("results");
    int stored = 0;
    int failed = 0;
    for (int i = 0; i < items.size(); i++) {
      String prefix = "fragments[" + i + "].";
      try {
        PutResult r = fragments.put(parser.put(items.get(i), prefix));
        results.addObject().put("id", r.id().toString()).put("state", r.state().name());
        stored++;
      } catch (ApiException e) {
        results.add(errorNode(e.code(), e.getMessage(), e.field()));
        failed++;
      } catch (InvalidFragmentException e) {
        results.add(errorNode("invalid_field", e.getMessage(), prefix + e.field()));
        failed++;
      } catch (StoreFullException e) {
        results.add(errorNode("store_full", e.getMessage(), null));
        failed++;
      }
    }
    out.put("stored", stored);
    out.put("failed", failed);
    return json(route, 200, out);
  }

  private ApiResponse get(String route, FragmentId id) {
    Optional<StoredFragment> found = backend.fragments().get(id);
    if (found.isEmpty()) {
      throw new ApiException(404, "not_found", "no fragment " + id + " at this node", "id");
    }
    ObjectNode n = withReplicas(fragmentNode(id, found.get()), found.get());
    backend.fragments().supersededBy(id).ifPresent(next -> n.put("superseded_by",
        next.toString()));
    return json(route, 200, n);
  }

  private ApiResponse delete(String route, FragmentId id) {
    Optional<FragmentState> state = backend.fragments().delete(id);
    if (state.isEmpty()) {
      throw new ApiException(404, "not_found", "no fragment " + id + " at this node", "id");
    }
    return json(route, 200, F.objectNode().put("id", id.toString())
        .put("state", state.get().name()));
  }

  private ApiResponse search(String route, byte[] body) {
    SearchRequest req = parser.search(RequestParser.parse(body));
    FragmentService fragments = backend.fragments();
    ObjectNode out = F.objectNode();
    SearchService.Outcome outcome;
    if (!req.network()) {
      outcome = searches.local(req.text(), req.vector(), req.k(), req.filter());
    } else {
      int maxHops = searches.maxHops();
      if (req.hops() > maxHops) {
        throw ApiException.invalid("hops", "hops must be from 1 to " + maxHops
            + " on this node (search.max-hops), got " + req.hops());
      }
      outcome = searches.network(req.text(), req.vector(), req.k(), req.filter(), req.hops());
      SearchService.NetworkPart net = outcome.network().orElseThrow();
      out.put("scope", "network");
      out.put("hops", net.hops());
      out.put("asked", net.asked().size());
      ArrayNode unanswered = out.putArray("unanswered");
      net.unanswered().forEach(n -> unanswered.add(n.toString()));
      out.put("partial", !net.complete());
      if (!net.peerService()) {
        out.put("note", "this node runs without a peer service (peer.enabled = false): "
            + "local hits only");
      }
    }
    List<SearchHit> hits = outcome.hits();
    ArrayNode hitsNode = out.putArray("hits");
    for (SearchHit h : hits) {
      ObjectNode n = hitsNode.addObject();
      n.put("id", h.id().toString());
      n.put("score", h.score());
      n.put("state", h.state().name());
      n.put("node", h.node().toString());
      if (h.owner().isPresent()) {
        n.put("owner", h.owner().get().toString());
      } else {
        n.putNull("owner");
      }
      if (h.substituteFor().isPresent()) {
        n.put("substitute_for", h.substituteFor().get().toString());
      }
      if (h.fragment().isPresent()) {
        Fragment f = h.fragment().get();
        n.put("owner", f.owner().toString());
        n.put("text", f.text());
        ObjectNode md = n.putObject("metadata");
        f.metadata().forEach(md::put);
        n.put("created_at", f.createdAtMillis());
      } else {
        fragments.ownerOf(h.id()).ifPresentOrElse(o -> n.put("owner", o.toString()),
            () -> n.putNull("owner"));
        n.putNull("text");
        n.putNull("metadata");
        n.putNull("created_at");
      }
    }
    out.put("took_ms", outcome.tookMillis());
    return json(route, 200, out);
  }

  private static void requireMethod(String method, String allowed) {
    if (!method.equals(allowed)) {
      throw notAllowed(method, allowed);
    }
  }

  private static ApiException notAllowed(String method, String allowed) {
    return new ApiException(405, "method_not_allowed",
        method + " is not allowed here; use " + allowed, null);
  }

  /**
   * The error body of the contract, as a response, with a fresh reference that is logged with
   * it (at WARN for 5xx, DEBUG otherwise) so that an operator can find what a client saw.
   */
  public static ApiResponse error(String route, int status, String code, String message,
      String field) {
    return error(newRef(), route, status, code, message, field);
  }

  /** The error body with a given reference, for a failure already logged under it. */
  static ApiResponse error(String ref, String route, int status, String code, String message,
      String field) {
    if (status >= 500) {
      LOG.warn("API answered {} {} on {} (ref {}): {}", status, code, route, ref, message);
    } else {
      LOG.debug("API answered {} {} on {} (ref {}): {}", status, code, route, ref, message);
    }
    ObjectNode n = errorNode(code, message, field);
    n.put("ref", ref);
    return json(route, status, n);
  }

  /**
   * A short random reference for one error answer. Not a secret, only unlikely to repeat
   * within one log.
   */
  static String newRef() {
    long v = java.util.concurrent.ThreadLocalRandom.current().nextLong();
    return String.format("%012x", v & 0xFFFF_FFFF_FFFFL);
  }

  private static ObjectNode errorNode(String code, String message, String field) {
    ObjectNode n = F.objectNode();
    n.put("error", code);
    n.put("message", message);
    if (field == null) {
      n.putNull("field");
    } else {
      n.put("field", field);
    }
    return n;
  }

  private static ApiResponse json(String route, int status, JsonNode body) {
    try {
      return new ApiResponse(status, ApiResponse.JSON, RequestParser.JSON.writeValueAsBytes(body),
          route);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serializes", e);
    }
  }
}
