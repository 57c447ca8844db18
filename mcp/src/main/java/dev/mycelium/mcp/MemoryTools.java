package dev.mycelium.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory tools an agent sees, each a JSON schema, a description that says when to call it
 * and what comes back, and a handler that turns the call into requests to the node's HTTP API
 * (docs/API.md). Kept apart from the transport so that the handlers are tested with a stub API.
 *
 * <p>Every answer is JSON, as text content (which every client shows the model) and as
 * structured content. A failure is a tool error ({@code isError}) whose text says what to do,
 * never a protocol error: the model can read a tool error and try again, not a protocol one.
 */
public final class MemoryTools {
  private static final Logger LOG = LoggerFactory.getLogger(MemoryTools.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  /** The server's version, as the node's. */
  static final String VERSION =
      MemoryTools.class.getPackage().getImplementationVersion() == null
          ? "0.1.0-SNAPSHOT"
          : MemoryTools.class.getPackage().getImplementationVersion();

  /** What the server tells the model about itself at initialize. */
  static final String INSTRUCTIONS =
      "Long-term memory kept by a Mycelium node, a peer-to-peer store that replicates to "
          + "neighbouring nodes and repairs lost copies. Call recall before answering anything "
          + "that may depend on what you learned earlier; call remember when you learn a fact, "
          + "preference or decision worth keeping (one self-contained statement per memory); "
          + "call update, not remember, when a remembered fact changed; forget when the user "
          + "asks you to. Memories are scoped by agent and run (session).";

  /** Most hits recall returns. */
  static final int MAX_K = 50;

  /** Most memories list returns. */
  static final int MAX_LIST = 200;

  /**
   * The server's defaults, from its flags.
   *
   * @param agent the agent remembered for, or null
   * @param run the run (session), or null
   * @param dedupSimilarity the similarity at which remember returns an existing memory; 0 off
   */
  public record Defaults(String agent, String run, double dedupSimilarity) {}

  private final NodeApi api;
  private final Defaults defaults;

  /** Tools over {@code api}. */
  public MemoryTools(NodeApi api, Defaults defaults) {
    this.api = api;
    this.defaults = defaults;
  }

  /** The tool specifications, for the server builder. */
  public List<SyncToolSpecification> specifications(McpJsonMapper mapper) {
    List<SyncToolSpecification> out = new ArrayList<>();
    out.add(spec(mapper, "remember", REMEMBER_DESC, REMEMBER_SCHEMA, this::remember, false));
    out.add(spec(mapper, "recall", RECALL_DESC, RECALL_SCHEMA, this::recall, true));
    out.add(spec(mapper, "get", GET_DESC, ID_SCHEMA, this::get, true));
    out.add(spec(mapper, "list", LIST_DESC, LIST_SCHEMA, this::list, true));
    out.add(spec(mapper, "update", UPDATE_DESC, UPDATE_SCHEMA, this::update, false));
    out.add(spec(mapper, "history", HISTORY_DESC, ID_SCHEMA, this::history, true));
    out.add(spec(mapper, "forget", FORGET_DESC, FORGET_SCHEMA, this::forget, false));
    return out;
  }

  private static SyncToolSpecification spec(McpJsonMapper mapper, String name, String description,
      String schema, Function<JsonNode, JsonNode> handler, boolean readOnly) {
    McpSchema.Tool tool =
        McpSchema.Tool.builder()
            .name(name)
            .title(name.substring(0, 1).toUpperCase(Locale.ROOT) + name.substring(1)
                + " (Mycelium memory)")
            .description(description)
            .inputSchema(mapper, schema)
            .annotations(new McpSchema.ToolAnnotations(null, readOnly, name.equals("forget"),
                readOnly || name.equals("forget"), false, null))
            .build();
    return SyncToolSpecification.builder()
        .tool(tool)
        .callHandler((exchange, request) -> call(name, handler, request.arguments()))
        .build();
  }

  /** Runs one tool on its arguments; every failure becomes a tool error with its reason. */
  static CallToolResult call(String name, Function<JsonNode, JsonNode> handler,
      Map<String, Object> arguments) {
    try {
      JsonNode args = JSON.valueToTree(arguments == null ? Map.of() : arguments);
      JsonNode result = handler.apply(args);
      String text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result);
      return CallToolResult.builder()
          .addTextContent(text)
          .structuredContent(JSON.convertValue(result, Map.class))
          .isError(false)
          .build();
    } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      if (!(e instanceof IllegalArgumentException)
          && !(e instanceof dev.mycelium.node.cli.CliException)) {
        LOG.warn("tool {} failed", name, e);
      }
      return CallToolResult.builder()
          .addTextContent("error: " + message)
          .isError(true)
          .build();
    }
  }

  // ---- remember ---------------------------------------------------------------------------

  private static final String REMEMBER_DESC =
      "Store one memory: a fact, preference, decision or event worth keeping beyond this turn. "
          + "Write it as one self-contained statement (\"The user's dog is called Rex\"), not a "
          + "transcript. It is kept for the agent (scope \"agent\", the default: every later run "
          + "can recall it) or for this run only (scope \"run\"). If a memory of the same agent "
          + "and run already says nearly the same thing, nothing new is stored and the answer "
          + "has \"deduplicated\": true and the existing ID; to change a remembered fact, call "
          + "update with its ID instead. Give expires_at or ttl_seconds for something that "
          + "stops being true (a meeting time, a temporary password): it then disappears by "
          + "itself. Returns the memory's ID.";

  private static final String SCOPE_PROPS = """
      "agent": {"type": "string", "maxLength": 256,
        "description": "The agent the memory belongs to; default: the server's --agent."},
      "run": {"type": "string", "maxLength": 256,
        "description": "The run (session) the memory belongs to; default: the server's --run."},
      """;

  private static final String METADATA_PROP = """
      "metadata": {"type": "object", "additionalProperties": {"type": "string"},
        "description": "String labels, e.g. {\\"topic\\": \\"travel\\", \\"user\\": \\"ana\\"}."},
      """;

  private static final String EXPIRY_PROPS = """
      "expires_at": {"type": "string", "format": "date-time",
        "description": "When the memory stops being true, ISO-8601 (2026-05-01T09:00:00Z)."},
      "ttl_seconds": {"type": "integer", "minimum": 1,
        "description": "Or: how many seconds from now the memory stops being true."},
      """;

  private static final String REMEMBER_SCHEMA = "{\"type\": \"object\", \"properties\": {"
      + "\"text\": {\"type\": \"string\", \"minLength\": 1, \"description\": "
      + "\"The memory, one self-contained statement.\"},"
      + METADATA_PROP + SCOPE_PROPS + EXPIRY_PROPS
      + """
      "scope": {"type": "string", "enum": ["agent", "run"], "default": "agent",
        "description": "agent: every run of this agent can recall it; run: tagged with this run, for recall with scope run."},
      "visibility": {"type": "string", "enum": ["private", "shared"], "default": "private",
        "description": "private (sealed on other nodes, the default) or shared (other nodes may find it)."},
      "dedup": {"type": "boolean", "default": true,
        "description": "Return an existing near-identical memory instead of storing a copy."}
      }, "required": ["text"], "additionalProperties": false}
      """;

  JsonNode remember(JsonNode args) {
    String text = requiredText(args, "text");
    ObjectNode body = F.objectNode();
    body.put("text", text);
    ObjectNode metadata = stringMap(args, "metadata");
    if (!metadata.isEmpty()) {
      body.set("metadata", metadata);
    }
    String scope = enumText(args, "scope", "agent", "agent", "run");
    String agent = optText(args, "agent", defaults.agent());
    String run = optText(args, "run", defaults.run());
    if (agent != null) {
      body.put("agent", agent);
    }
    if (scope.equals("run")) {
      if (run == null) {
        throw new IllegalArgumentException("scope \"run\" needs a run: pass \"run\" or start the "
            + "server with --run ID");
      }
      body.put("run", run);
    }
    Long expires = expiry(args);
    if (expires != null) {
      body.put("expires_at", expires);
    }
    String visibility = enumText(args, "visibility", null, "private", "shared");
    if (visibility != null) {
      body.put("visibility", visibility);
    }
    boolean dedup = !args.has("dedup") || args.get("dedup").asBoolean(true);
    if (dedup && defaults.dedupSimilarity() > 0) {
      body.put("dedup", defaults.dedupSimilarity());
    }
    JsonNode r = api.post("/v1/fragments", body);
    ObjectNode out = F.objectNode();
    out.put("id", r.path("id").asText());
    boolean deduplicated = r.path("deduplicated").asBoolean(false);
    out.put("deduplicated", deduplicated);
    if (deduplicated) {
      out.put("similarity", r.path("similarity").asDouble());
      out.put("note", "a memory of the same scope already says this; nothing new was stored. "
          + "Call update with this ID to change it.");
    } else {
      out.put("stored", true);
    }
    out.put("state", r.path("state").asText());
    if (agent != null) {
      out.put("agent", agent);
    }
    if (scope.equals("run")) {
      out.put("run", run);
    }
    if (expires != null) {
      out.put("expires_at", Instant.ofEpochMilli(expires).toString());
    }
    return out;
  }

  // ---- recall -----------------------------------------------------------------------------

  private static final String RECALL_DESC =
      "Find the memories closest in meaning to a query, best first. Call it before answering "
          + "anything that may depend on earlier conversations. scope \"agent\" (the default) "
          + "searches every run of this agent, \"run\" only this run, \"all\" every memory on the "
          + "node. Each hit has its text, score (cosine, higher is closer), state, owner and "
          + "metadata. state PRESENT is a normal hit; BLANK or LOST means the memory's bytes are "
          + "being repaired from other nodes and its text is missing for now. A hit with "
          + "\"substitute_for\" is NOT the memory asked for: it is a surviving neighbour of a "
          + "lost one, shown in its place; treat it as related, not as the original. Superseded "
          + "and expired memories are never returned.";

  private static final String RECALL_SCHEMA = "{\"type\": \"object\", \"properties\": {"
      + "\"query\": {\"type\": \"string\", \"minLength\": 1, \"description\": "
      + "\"What to look for, in words.\"},"
      + "\"k\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": " + MAX_K
      + ", \"default\": 5, \"description\": \"How many hits at most.\"},"
      + METADATA_PROP.replace("String labels", "Only memories with all these labels")
      + SCOPE_PROPS
      + """
      "scope": {"type": "string", "enum": ["agent", "run", "all"], "default": "agent",
        "description": "agent: this agent's memories of every run; run: this run's only; all: everything on the node."},
      "network": {"type": "boolean", "default": false,
        "description": "Also ask other nodes for their shared memories."}
      }, "required": ["query"], "additionalProperties": false}
      """;

  JsonNode recall(JsonNode args) {
    String query = requiredText(args, "query");
    int k = intArg(args, "k", 5, 1, MAX_K);
    ObjectNode body = F.objectNode();
    body.put("text", query);
    body.put("k", k);
    ObjectNode filter = scopeFilter(args, "agent");
    if (!filter.isEmpty()) {
      body.set("filter", filter);
    }
    if (args.path("network").asBoolean(false)) {
      body.put("scope", "network");
    }
    JsonNode r = api.post("/v1/search", body);
    ObjectNode out = F.objectNode();
    out.put("query", query);
    ArrayNode hits = out.putArray("hits");
    for (JsonNode h : r.path("hits")) {
      ObjectNode hit = memory(h);
      hit.put("score", Math.round(h.path("score").asDouble() * 10000) / 10000.0);
      if (h.hasNonNull("substitute_for")) {
        hit.put("substitute_for", h.get("substitute_for").asText());
        hit.put("note", "stands in for memory " + h.get("substitute_for").asText()
            + ", which no node can supply right now; this is a related memory, not it");
      }
      hits.add(hit);
    }
    if (r.has("partial")) {
      out.put("partial", r.get("partial").asBoolean());
    }
    return out;
  }

  // ---- get --------------------------------------------------------------------------------

  private static final String GET_DESC =
      "Read one memory by its ID (from remember, recall or list): its text, metadata, agent, "
          + "run, state and owner. A BLANK or LOST state means its bytes are being repaired from "
          + "other nodes; DELETED means it was forgotten.";

  private static final String ID_SCHEMA = """
      {"type": "object", "properties": {
        "id": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
          "description": "The memory's ID, 64 hex characters."}
      }, "required": ["id"], "additionalProperties": false}
      """;

  JsonNode get(JsonNode args) {
    String id = idArg(args, "id");
    return memory(api.get("/v1/fragments/" + id));
  }

  // ---- list -------------------------------------------------------------------------------

  private static final String LIST_DESC =
      "List memories newest first, without a query: to review what is remembered, or to find "
          + "the ID to update or forget. Same scopes as recall. Superseded versions and expired "
          + "memories are left out unless include_superseded is true. total is the number that "
          + "match; at most limit are returned.";

  private static final String LIST_SCHEMA = "{\"type\": \"object\", \"properties\": {"
      + METADATA_PROP.replace("String labels", "Only memories with all these labels")
      + SCOPE_PROPS
      + "\"limit\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": " + MAX_LIST
      + ", \"default\": 20, \"description\": \"How many memories at most.\"},"
      + """
      "scope": {"type": "string", "enum": ["agent", "run", "all"], "default": "agent",
        "description": "agent: this agent's memories of every run; run: this run's only; all: everything on the node."},
      "include_superseded": {"type": "boolean", "default": false,
        "description": "Also list versions that an update replaced."}
      }, "additionalProperties": false}
      """;

  JsonNode list(JsonNode args) {
    ObjectNode body = F.objectNode();
    ObjectNode filter = scopeFilter(args, "agent");
    if (!filter.isEmpty()) {
      body.set("filter", filter);
    }
    body.put("limit", intArg(args, "limit", 20, 1, MAX_LIST));
    if (args.path("include_superseded").asBoolean(false)) {
      body.put("include_superseded", true);
    }
    JsonNode r = api.post("/v1/fragments/list", body);
    ObjectNode out = F.objectNode();
    out.put("total", r.path("total").asLong());
    ArrayNode items = out.putArray("memories");
    for (JsonNode m : r.path("fragments")) {
      items.add(memory(m));
    }
    return out;
  }

  // ---- update -----------------------------------------------------------------------------

  private static final String UPDATE_DESC =
      "Change a remembered fact: stores the new text as a new memory that supersedes the old "
          + "one (signed link to it). The old one stops appearing in recall and list, and "
          + "history shows both. Agent, run and metadata are carried over unless given. Update "
          + "the newest version: updating one that was already superseded fails and names the "
          + "newer ID. Returns the new ID.";

  private static final String UPDATE_SCHEMA = "{\"type\": \"object\", \"properties\": {"
      + "\"id\": {\"type\": \"string\", \"pattern\": \"^[0-9a-fA-F]{64}$\", \"description\": "
      + "\"The ID of the memory to change.\"},"
      + "\"text\": {\"type\": \"string\", \"minLength\": 1, \"description\": "
      + "\"The new statement, complete (it replaces the old text).\"},"
      + METADATA_PROP.replace("String labels", "Replaces the old labels when given")
      + EXPIRY_PROPS.substring(0, EXPIRY_PROPS.lastIndexOf(','))
      + "}, \"required\": [\"id\", \"text\"], \"additionalProperties\": false}";

  JsonNode update(JsonNode args) {
    String id = idArg(args, "id");
    String text = requiredText(args, "text");
    JsonNode old = api.get("/v1/fragments/" + id);
    if (!"PRESENT".equals(old.path("state").asText())) {
      throw new IllegalArgumentException("memory " + id + " is " + old.path("state").asText()
          + ", so it cannot be updated now; remember the new text instead");
    }
    ObjectNode body = F.objectNode();
    body.put("text", text);
    ObjectNode metadata = F.objectNode();
    if (args.has("metadata")) {
      metadata.setAll(stringMap(args, "metadata"));
    } else {
      old.path("metadata").fields().forEachRemaining(e -> {
        if (!RESERVED.contains(e.getKey())) {
          metadata.set(e.getKey(), e.getValue());
        }
      });
    }
    if (!metadata.isEmpty()) {
      body.set("metadata", metadata);
    }
    String agent = old.path("metadata").path("agent").asText(null);
    String run = old.path("metadata").path("run").asText(null);
    if (agent != null) {
      body.put("agent", agent);
    }
    if (run != null) {
      body.put("run", run);
    }
    Long expires = expiry(args);
    if (expires == null && old.path("metadata").has("expires_at")) {
      expires = Long.parseLong(old.path("metadata").path("expires_at").asText());
    }
    if (expires != null) {
      body.put("expires_at", expires);
    }
    body.put("visibility", old.path("visibility").asText("private"));
    body.put("supersedes", id);
    JsonNode r = api.post("/v1/fragments", body);
    ObjectNode out = F.objectNode();
    out.put("id", r.path("id").asText());
    out.put("supersedes", id);
    out.put("state", r.path("state").asText());
    return out;
  }

  /** Metadata keys the node sets from first-class fields; update passes them as fields. */
  private static final java.util.Set<String> RESERVED =
      java.util.Set.of("agent", "run", "expires_at", "supersedes");

  // ---- history ----------------------------------------------------------------------------

  private static final String HISTORY_DESC =
      "Every version of a memory, oldest first, from any of its IDs: what it said before each "
          + "update and when. The last version is the current one; superseded_by links each "
          + "version to the next.";

  JsonNode history(JsonNode args) {
    String id = idArg(args, "id");
    JsonNode r = api.get("/v1/fragments/" + id + "/history");
    ObjectNode out = F.objectNode();
    out.put("current", r.path("current").asText());
    ArrayNode versions = out.putArray("versions");
    for (JsonNode v : r.path("versions")) {
      ObjectNode m = memory(v);
      if (v.hasNonNull("superseded_by")) {
        m.put("superseded_by", v.get("superseded_by").asText());
      }
      versions.add(m);
    }
    return out;
  }

  // ---- forget -----------------------------------------------------------------------------

  private static final String FORGET_DESC =
      "Delete memories for good (signed tombstones, on this node and every node holding a "
          + "copy). Either one memory by id, with all its earlier versions, or every memory "
          + "matching a filter. A filter delete is two calls: first with dry_run true (the "
          + "default), which deletes nothing and returns the count that match; then with "
          + "dry_run false and expect set to that count, which deletes them (and refuses if the "
          + "count changed meanwhile). Only this node's own memories can be forgotten. Ask the "
          + "user before forgetting more than they named.";

  private static final String FORGET_SCHEMA = "{\"type\": \"object\", \"properties\": {"
      + "\"id\": {\"type\": \"string\", \"pattern\": \"^[0-9a-fA-F]{64}$\", \"description\": "
      + "\"Forget this memory and its earlier versions.\"},"
      + METADATA_PROP.replace("String labels", "Or: forget memories with all these labels")
      + SCOPE_PROPS
      + """
      "scope": {"type": "string", "enum": ["agent", "run", "all"], "default": "agent",
        "description": "With a filter: agent (this agent's memories), run (this run's) or all."},
      "dry_run": {"type": "boolean", "default": true,
        "description": "With a filter: only count what would be forgotten."},
      "expect": {"type": "integer", "minimum": 0,
        "description": "With dry_run false: the count from the dry run."}
      }, "additionalProperties": false}
      """;

  JsonNode forget(JsonNode args) {
    if (args.hasNonNull("id")) {
      String id = idArg(args, "id");
      JsonNode h = api.get("/v1/fragments/" + id + "/history");
      ObjectNode out = F.objectNode();
      ArrayNode deleted = out.putArray("forgotten");
      for (JsonNode v : h.path("versions")) {
        String vid = v.path("id").asText();
        String state = v.path("state").asText();
        // A version this node never had (UNKNOWN) has nothing here to delete.
        if (!state.equals("DELETED") && !state.equals("UNKNOWN")) {
          api.delete("/v1/fragments/" + vid);
          deleted.add(vid);
        }
      }
      out.put("count", deleted.size());
      return out;
    }
    ObjectNode filter = scopeFilter(args, "agent");
    if (filter.isEmpty()) {
      throw new IllegalArgumentException("give an id, or a filter (agent, run, metadata or "
          + "scope) that names what to forget; forgetting everything is not offered here");
    }
    boolean dryRun = !args.has("dry_run") || args.get("dry_run").asBoolean(true);
    ObjectNode body = F.objectNode();
    body.set("filter", filter);
    body.put("dry_run", dryRun);
    if (!dryRun) {
      if (!args.hasNonNull("expect") || !args.get("expect").canConvertToLong()) {
        throw new IllegalArgumentException("dry_run false needs expect: call forget with "
            + "dry_run true first and pass the count it returns");
      }
      body.put("expect", args.get("expect").asLong());
    }
    JsonNode r = api.post("/v1/fragments/forget", body);
    ObjectNode out = F.objectNode();
    out.put("dry_run", dryRun);
    out.put("matched", r.path("matched").asLong());
    out.put("forgotten", r.path("deleted").asLong());
    out.set("filter", filter);
    if (dryRun) {
      out.put("next", "nothing was deleted; to forget what matched, call forget again with "
          + "the same filter, dry_run false and expect " + r.path("matched").asLong());
    }
    return out;
  }

  // ---- shared -----------------------------------------------------------------------------

  /** The API filter for a scope: agent and run from the arguments or the server's defaults. */
  private ObjectNode scopeFilter(JsonNode args, String defaultScope) {
    String scope = enumText(args, "scope", defaultScope, "agent", "run", "all");
    ObjectNode filter = F.objectNode();
    String agent = optText(args, "agent", scope.equals("all") ? null : defaults.agent());
    String run = optText(args, "run", scope.equals("run") ? defaults.run() : null);
    if (scope.equals("run") && run == null) {
      throw new IllegalArgumentException("scope \"run\" needs a run: pass \"run\" or start the "
          + "server with --run ID");
    }
    if (agent != null) {
      filter.put("agent", agent);
    }
    if (run != null) {
      filter.put("run", run);
    }
    ObjectNode metadata = stringMap(args, "metadata");
    if (!metadata.isEmpty()) {
      filter.set("metadata", metadata);
    }
    return filter;
  }

  /** A memory as the tools show it, from an API fragment or hit. */
  private static ObjectNode memory(JsonNode f) {
    ObjectNode m = F.objectNode();
    m.put("id", f.path("id").asText());
    m.put("state", f.path("state").asText());
    if (f.hasNonNull("owner")) {
      m.put("owner", f.get("owner").asText());
    }
    if (f.hasNonNull("text")) {
      m.put("text", f.get("text").asText());
    } else if (!"DELETED".equals(f.path("state").asText())) {
      m.putNull("text");
      m.put("note", "the text is missing here for now (" + f.path("state").asText()
          + "): the node is repairing it from the nodes that hold copies");
    }
    JsonNode md = f.path("metadata");
    ObjectNode labels = F.objectNode();
    md.fields().forEachRemaining(e -> {
      switch (e.getKey()) {
        case "agent", "run", "supersedes" -> m.put(e.getKey(), e.getValue().asText());
        case "expires_at" -> m.put("expires_at", millisText(e.getValue().asText()));
        default -> labels.set(e.getKey(), e.getValue());
      }
    });
    if (!labels.isEmpty()) {
      m.set("metadata", labels);
    }
    if (f.hasNonNull("created_at")) {
      m.put("created_at", Instant.ofEpochMilli(f.get("created_at").asLong()).toString());
    }
    return m;
  }

  private static String millisText(String millis) {
    try {
      return Instant.ofEpochMilli(Long.parseLong(millis)).toString();
    } catch (NumberFormatException e) {
      return millis;
    }
  }

  private static Long expiry(JsonNode args) {
    boolean at = args.hasNonNull("expires_at");
    boolean ttl = args.hasNonNull("ttl_seconds");
    if (at && ttl) {
      throw new IllegalArgumentException("give expires_at or ttl_seconds, not both");
    }
    if (at) {
      try {
        return Instant.parse(args.get("expires_at").asText()).toEpochMilli();
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("expires_at must be an ISO-8601 time such as "
            + "2026-05-01T09:00:00Z, got \"" + args.get("expires_at").asText() + "\"");
      }
    }
    if (ttl) {
      JsonNode t = args.get("ttl_seconds");
      if (!t.canConvertToLong() || t.asLong() < 1 || t.asLong() > 100L * 365 * 86400) {
        throw new IllegalArgumentException("ttl_seconds must be a whole number of seconds from "
            + "1 to 100 years, got " + t);
      }
      return System.currentTimeMillis() + t.asLong() * 1000;
    }
    return null;
  }

  private static String requiredText(JsonNode args, String name) {
    JsonNode n = args.get(name);
    if (n == null || !n.isTextual() || n.asText().isBlank()) {
      throw new IllegalArgumentException(name + " is required: a non-empty string");
    }
    return n.asText();
  }

  private static String optText(JsonNode args, String name, String fallback) {
    JsonNode n = args.get(name);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isTextual() || n.asText().isBlank()) {
      throw new IllegalArgumentException(name + " must be a non-empty string");
    }
    return n.asText().trim();
  }

  private static String enumText(JsonNode args, String name, String fallback,
      String... allowed) {
    String v = optText(args, name, fallback);
    if (v == null || List.of(allowed).contains(v)) {
      return v;
    }
    throw new IllegalArgumentException(name + " must be one of " + String.join(", ", allowed)
        + ", got \"" + v + "\"");
  }

  private static int intArg(JsonNode args, String name, int fallback, int min, int max) {
    JsonNode n = args.get(name);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.canConvertToInt() || !n.isNumber() || n.asInt() < min || n.asInt() > max
        || n.asDouble() != n.asInt()) {
      throw new IllegalArgumentException(name + " must be a whole number from " + min + " to "
          + max + ", got " + n);
    }
    return n.asInt();
  }

  private static String idArg(JsonNode args, String name) {
    String id = requiredText(args, name).trim().toLowerCase(Locale.ROOT);
    if (!id.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(name + " must be a memory ID, 64 hex characters, got \""
          + args.get(name).asText() + "\"");
    }
    return URLEncoder.encode(id, StandardCharsets.UTF_8);
  }

  private static ObjectNode stringMap(JsonNode args, String name) {
    JsonNode n = args.get(name);
    ObjectNode out = F.objectNode();
    if (n == null || n.isNull()) {
      return out;
    }
    if (!n.isObject()) {
      throw new IllegalArgumentException(name + " must be an object of strings");
    }
    Map<String, String> sorted = new LinkedHashMap<>();
    n.fields().forEachRemaining(e -> {
      if (!e.getValue().isTextual()) {
        throw new IllegalArgumentException(name + "." + e.getKey() + " must be a string");
      }
      if (RESERVED.contains(e.getKey())) {
        throw new IllegalArgumentException(name + "." + e.getKey() + " is set by its own "
            + "argument (" + e.getKey() + "), not in " + name);
      }
      sorted.put(e.getKey(), e.getValue().asText());
    });
    sorted.forEach(out::put);
    return out;
  }
}
