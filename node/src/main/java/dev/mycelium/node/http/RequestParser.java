package dev.mycelium.node.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.MemoryMarks;
import dev.mycelium.node.peer.FaultControl;
import dev.mycelium.node.search.SearchService;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.wire.NodeId;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Turns request bodies into checked requests, field by field, so that every rejection names the
 * field and says what is allowed. Reading a JSON tree and checking it by hand, rather than
 * binding to classes, is what makes those messages precise (a binder reports its own types).
 */
final class RequestParser {
  /** Most fragments in one batch. */
  static final int MAX_BATCH = 1000;

  /** Largest k of a search. */
  static final int MAX_K = 1000;

  /**
   * Longest query text, in characters. Embedding costs CPU in proportion to the text, and a
   * query is a question, not a document.
   */
  static final int MAX_QUERY_CHARS = 8192;

  /** Most metadata pairs a search filter may name; each is checked against every candidate. */
  static final int MAX_FILTER_PAIRS = 32;

  /** Most node IDs one fault-injection partition may list. */
  static final int MAX_PARTITION = 1024;

  /** Most hops any network search may ask for; the node's own limit may be lower. */
  static final int MAX_HOPS = SearchService.ABSOLUTE_MAX_HOPS;

  static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private static final Set<String> PUT_FIELDS = Set.of("text", "vector", "metadata",
      "visibility", "agent", "run", "expires_at");
  private static final Set<String> SEARCH_FIELDS = Set.of("text", "vector", "k", "filter", "scope",
      "hops");
  private static final Set<String> FILTER_FIELDS = Set.of("owner", "metadata", "from", "to",
      "agent", "run");

  /** Longest agent or run name. */
  static final int MAX_SCOPE_CHARS = 256;

  /** Most fragments a listing returns. */
  static final int MAX_LIST = 1000;

  /**
   * A checked search request.
   *
   * @param text query text, or null
   * @param vector query vector, or null
   * @param k hits wanted
   * @param filter restrictions
   * @param network whether other nodes are asked too ("scope": "network")
   * @param hops how far a network search travels
   */
  record SearchRequest(String text, float[] vector, int k, SearchFilter filter, boolean network,
      int hops) {}

  private final int dimension;

  RequestParser(int dimension) {
    this.dimension = dimension;
  }

  static JsonNode parse(byte[] body) {
    if (body.length == 0) {
      throw ApiException.badRequest(null, "the request has no body; send a JSON object");
    }
    JsonNode node;
    try {
      node = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest(null, "the body is not valid JSON: " + jsonProblem(e));
    } catch (IOException e) {
      throw ApiException.badRequest(null, "the body could not be read as JSON");
    }
    if (node == null || !node.isObject()) {
      throw ApiException.badRequest(null, "the body must be a JSON object");
    }
    return node;
  }

  /**
   * What is wrong with a JSON body, in the parser's words about the input but without its
   * notes about itself (source descriptions, feature names).
   */
  static String jsonProblem(JsonProcessingException e) {
    String m = String.valueOf(e.getOriginalMessage())
        .replaceAll("\\s*\\((start marker )?at \\[Source:[^\\]]*\\]\\)", "")
        .replaceAll("\\s*\\[Source:[^\\]]*\\]", "");
    if (m.length() > 300) {
      m = m.substring(0, 300) + "...";
    }
    com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
    return at == null ? m : m + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
  }

  PutRequest put(JsonNode body, String prefix) {
    if (!body.isObject()) {
      throw ApiException.badRequest(prefix.isEmpty() ? null : stripDot(prefix),
          "each fragment must be a JSON object");
    }
    checkFields(body, PUT_FIELDS, prefix);
    JsonNode text = body.get("text");
    if (text == null || text.isNull()) {
      throw ApiException.invalid(prefix + "text", "text is required");
    }
    if (!text.isTextual()) {
      throw ApiException.badRequest(prefix + "text", "text must be a string");
    }
    float[] vector = optionalVector(body.get("vector"), prefix + "vector");
    Map<String, String> metadata =
        new LinkedHashMap<>(stringMap(body.get("metadata"), prefix + "metadata"));
    scopeInto(body, metadata, prefix);
    JsonNode exp = body.get("expires_at");
    if (exp != null && !exp.isNull()) {
      if (!exp.isIntegralNumber() || !exp.canConvertToLong() || exp.asLong() <= 0) {
        throw ApiException.badRequest(prefix + "expires_at", "expires_at must be milliseconds "
            + "since the epoch, a positive whole number");
      }
      mergeReserved(metadata, MemoryMarks.EXPIRES_AT, Long.toString(exp.asLong()), prefix);
    }
    checkReserved(metadata, prefix);
    Visibility visibility = Visibility.PRIVATE;
    JsonNode vis = body.get("visibility");
    if (vis != null && !vis.isNull()) {
      if (!vis.isTextual()) {
        throw ApiException.badRequest(prefix + "visibility",
            "visibility must be the string \"private\" or \"shared\"");
      }
      switch (vis.asText()) {
        case "private" -> visibility = Visibility.PRIVATE;
        case "shared" -> visibility = Visibility.SHARED;
        default -> throw ApiException.invalid(prefix + "visibility",
            "visibility must be \"private\" or \"shared\", got \"" + vis.asText() + "\"");
      }
    }
    return new PutRequest(text.asText(), vector, metadata, visibility);
  }

  List<JsonNode> batch(JsonNode body) {
    checkFields(body, Set.of("fragments"), "");
    JsonNode list = body.get("fragments");
    if (list == null || list.isNull()) {
      throw ApiException.invalid("fragments", "fragments is required: a list of fragments");
    }
    if (!list.isArray()) {
      throw ApiException.badRequest("fragments", "fragments must be a list");
    }
    if (list.size() > MAX_BATCH) {
      throw ApiException.invalid("fragments",
          "a batch holds at most " + MAX_BATCH + " fragments, got " + list.size()
              + "; split it");
    }
    List<JsonNode> out = new ArrayList<>(list.size());
    list.forEach(out::add);
    return out;
  }

  SearchRequest search(JsonNode body) {
    checkFields(body, SEARCH_FIELDS, "");
    JsonNode textNode = body.get("text");
    String text = null;
    if (textNode != null && !textNode.isNull()) {
      if (!textNode.isTextual()) {
        throw ApiException.badRequest("text", "text must be a string");
      }
      text = textNode.asText();
      if (text.length() > MAX_QUERY_CHARS) {
        throw ApiException.invalid("text", "a query text is at most " + MAX_QUERY_CHARS
            + " characters, got " + text.length() + "; ask with its gist, or send a vector");
      }
    }
    float[] vector = optionalVector(body.get("vector"), "vector");
    if ((text == null) == (vector == null)) {
      throw ApiException.invalid(text == null ? "text" : "vector",
          "give exactly one of text and vector");
    }
    int k = 10;
    JsonNode kNode = body.get("k");
    if (kNode != null && !kNode.isNull()) {
      if (!kNode.isIntegralNumber()) {
        throw ApiException.badRequest("k", "k must be a whole number from 1 to " + MAX_K);
      }
      if (!kNode.canConvertToLong() || kNode.asLong() < 1 || kNode.asLong() > MAX_K) {
        throw ApiException.invalid("k", "k must be from 1 to " + MAX_K + ", got " + kNode);
      }
      k = kNode.asInt();
    }
    boolean network = false;
    JsonNode scope = body.get("scope");
    if (scope != null && !scope.isNull()) {
      if (!scope.isTextual()) {
        throw ApiException.badRequest("scope", "scope must be the string \"local\" or \"network\"");
      }
      switch (scope.asText()) {
        case "local" -> network = false;
        case "network" -> network = true;
        default -> throw ApiException.invalid("scope",
            "scope must be \"local\" or \"network\", got \"" + scope.asText() + "\"");
      }
    }
    int hops = 1;
    JsonNode hopsNode = body.get("hops");
    if (hopsNode != null && !hopsNode.isNull()) {
      if (!network) {
        throw ApiException.invalid("hops", "hops applies to \"scope\": \"network\" only");
      }
      if (!hopsNode.isIntegralNumber()) {
        throw ApiException.badRequest("hops", "hops must be a whole number from 1 to " + MAX_HOPS);
      }
      if (!hopsNode.canConvertToInt() || hopsNode.asInt() < 1 || hopsNode.asInt() > MAX_HOPS) {
        throw ApiException.invalid("hops", "hops must be from 1 to " + MAX_HOPS + ", got "
            + hopsNode);
      }
      hops = hopsNode.asInt();
    }
    return new SearchRequest(text, vector, k, filter(body.get("filter")), network, hops);
  }

  private SearchFilter filter(JsonNode f) {
    if (f == null || f.isNull()) {
      return SearchFilter.NONE;
    }
    if (!f.isObject()) {
      throw ApiException.badRequest("filter", "filter must be a JSON object");
    }
    checkFields(f, FILTER_FIELDS, "filter.");
    Optional<NodeId> owner = Optional.empty();
    JsonNode o = f.get("owner");
    if (o != null && !o.isNull()) {
      if (!o.isTextual()) {
        throw ApiException.badRequest("filter.owner", "filter.owner must be a node ID string");
      }
      try {
        owner = Optional.of(NodeId.parse(o.asText()));
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid("filter.owner", "filter.owner: " + e.getMessage());
      }
    }
    JsonNode md = f.get("metadata");
    if (md != null && md.size() > MAX_FILTER_PAIRS) {
      throw ApiException.invalid("filter.metadata", "filter.metadata names at most "
          + MAX_FILTER_PAIRS + " pairs, got " + md.size());
    }
    Map<String, String> metadata = new LinkedHashMap<>(stringMap(md, "filter.metadata"));
    scopeInto(f, metadata, "filter.");
    Optional<Long> from = millis(f.get("from"), "filter.from");
    Optional<Long> to = millis(f.get("to"), "filter.to");
    if (from.isPresent() && to.isPresent() && from.get() > to.get()) {
      throw ApiException.invalid("filter.to", "filter.to must not be before filter.from");
    }
    return new SearchFilter(owner, metadata, from, to);
  }

  /**
   * Puts the first-class scope fields ({@code agent}, {@code run}) into the metadata under
   * their own keys, which is where they are signed, stored and filtered on.
   */
  private static void scopeInto(JsonNode body, Map<String, String> metadata, String prefix) {
    for (String key : List.of(MemoryMarks.AGENT, MemoryMarks.RUN)) {
      JsonNode n = body.get(key);
      if (n == null || n.isNull()) {
        continue;
      }
      if (!n.isTextual()) {
        throw ApiException.badRequest(prefix + key, prefix + key + " must be a string");
      }
      String v = n.asText();
      if (v.isBlank() || v.length() > MAX_SCOPE_CHARS) {
        throw ApiException.invalid(prefix + key, prefix + key + " must be 1 to "
            + MAX_SCOPE_CHARS + " characters, not blank");
      }
      mergeReserved(metadata, key, v, prefix);
    }
  }

  private static void mergeReserved(Map<String, String> metadata, String key, String value,
      String prefix) {
    String before = metadata.put(key, value);
    if (before != null && !before.equals(value)) {
      throw ApiException.invalid(prefix + key, prefix + key + " is \"" + value
          + "\" but metadata." + key + " says \"" + before + "\"; give it once");
    }
  }

  /**
   * Reserved metadata keys must hold what their readers expect, whether they came as fields or
   * in metadata (as in an export read back by {@code mycelium put --file}).
   */
  private static void checkReserved(Map<String, String> metadata, String prefix) {
    String exp = metadata.get(MemoryMarks.EXPIRES_AT);
    if (exp != null && !exp.matches("[0-9]{1,19}")) {
      throw ApiException.invalid(prefix + "metadata." + MemoryMarks.EXPIRES_AT,
          "metadata.expires_at must be milliseconds since the epoch in decimal, got \"" + exp
              + "\"");
    }
    String sup = metadata.get(MemoryMarks.SUPERSEDES);
    if (sup != null) {
      try {
        FragmentId.parse(sup);
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid(prefix + "metadata." + MemoryMarks.SUPERSEDES,
            "metadata.supersedes must be a fragment ID: " + e.getMessage());
      }
    }
  }

  /**
   * A checked listing request.
   *
   * @param filter restrictions
   * @param limit most fragments returned
   * @param includeHidden whether superseded and expired fragments are listed too
   * @param states the states listed (PRESENT only unless the request names others)
   */
  record ListRequest(SearchFilter filter, int limit, boolean includeHidden,
      Set<dev.mycelium.model.FragmentState> states) {}

  ListRequest list(JsonNode body) {
    checkFields(body, Set.of("filter", "limit", "include_superseded", "states"), "");
    int limit = 100;
    JsonNode l = body.get("limit");
    if (l != null && !l.isNull()) {
      if (!l.isIntegralNumber() || !l.canConvertToInt() || l.asInt() < 1
          || l.asInt() > MAX_LIST) {
        throw ApiException.invalid("limit", "limit must be a whole number from 1 to " + MAX_LIST
            + ", got " + l);
      }
      limit = l.asInt();
    }
    return new ListRequest(filter(body.get("filter")), limit,
        bool(body.get("include_superseded"), "include_superseded", false),
        states(body.get("states")));
  }

  /** {@code states}: absent (PRESENT only) or a non-empty array of state names. */
  private static Set<dev.mycelium.model.FragmentState> states(JsonNode n) {
    if (n == null || n.isNull()) {
      return Set.of(dev.mycelium.model.FragmentState.PRESENT);
    }
    String names = "PRESENT, BLANK, LOST or DELETED";
    if (!n.isArray() || n.isEmpty() || n.size() > 4) {
      throw ApiException.invalid("states", "states must be a non-empty array of " + names
          + ", got " + n);
    }
    java.util.EnumSet<dev.mycelium.model.FragmentState> out =
        java.util.EnumSet.noneOf(dev.mycelium.model.FragmentState.class);
    for (JsonNode e : n) {
      try {
        out.add(dev.mycelium.model.FragmentState.valueOf(e.isTextual() ? e.asText() : ""));
      } catch (IllegalArgumentException ex) {
        throw ApiException.invalid("states", "each state must be one of " + names + ", got "
            + e);
      }
    }
    return out;
  }

  /**
   * A checked delete by filter.
   *
   * @param filter what to delete (never empty)
   * @param dryRun only count
   * @param expect the count the caller saw in its dry run (-1 on a dry run)
   */
  record ForgetRequest(SearchFilter filter, boolean dryRun, long expect) {}

  ForgetRequest forget(JsonNode body) {
    checkFields(body, Set.of("filter", "dry_run", "expect"), "");
    SearchFilter filter = filter(body.get("filter"));
    if (filter.metadata().isEmpty() && filter.fromMillis().isEmpty()
        && filter.toMillis().isEmpty()) {
      throw ApiException.invalid("filter", "give a filter (agent, run, metadata, from or to) "
          + "that names what to delete; to delete everything, filter on from: 0");
    }
    boolean dryRun = bool(body.get("dry_run"), "dry_run", true);
    long expect = -1;
    JsonNode e = body.get("expect");
    if (!dryRun) {
      if (e == null || e.isNull()) {
        throw ApiException.invalid("expect", "dry_run false needs expect: the count a dry run "
            + "returned, so that what is deleted is what was counted");
      }
      if (!e.isIntegralNumber() || !e.canConvertToLong() || e.asLong() < 0) {
        throw ApiException.badRequest("expect", "expect must be a whole number, got " + e);
      }
      expect = e.asLong();
    }
    return new ForgetRequest(filter, dryRun, expect);
  }

  private static boolean bool(JsonNode n, String field, boolean fallback) {
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isBoolean()) {
      throw ApiException.badRequest(field, field + " must be true or false, got " + n);
    }
    return n.asBoolean();
  }

  static FragmentId id(String text) {
    try {
      return FragmentId.parse(text);
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid("id", e.getMessage());
    }
  }

  private static Optional<Long> millis(JsonNode n, String field) {
    if (n == null || n.isNull()) {
      return Optional.empty();
    }
    if (!n.isIntegralNumber() || !n.canConvertToLong()) {
      throw ApiException.badRequest(field, field + " must be milliseconds since the epoch, "
          + "a whole number");
    }
    return Optional.of(n.asLong());
  }

  private float[] optionalVector(JsonNode n, String field) {
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isArray()) {
      throw ApiException.badRequest(field, field + " must be a list of numbers");
    }
    if (n.size() != dimension) {
      throw ApiException.invalid(field, field + " has " + n.size()
          + " dimensions; this node uses " + dimension + " (storage.dimension)");
    }
    float[] v = new float[n.size()];
    for (int i = 0; i < v.length; i++) {
      JsonNode e = n.get(i);
      if (!e.isNumber()) {
        throw ApiException.badRequest(field, field + "[" + i + "] is not a number");
      }
      v[i] = (float) e.doubleValue();
      if (!Float.isFinite(v[i])) {
        throw ApiException.invalid(field, field + "[" + i + "] is outside the float range");
      }
    }
    boolean zero = true;
    for (float x : v) {
      zero &= x == 0;
    }
    if (zero) {
      throw ApiException.invalid(field, field + " is all zeros (or too small for a float); "
          + "similarity is by direction, so it needs one");
    }
    return v;
  }

  private static Map<String, String> stringMap(JsonNode n, String field) {
    if (n == null || n.isNull()) {
      return Map.of();
    }
    if (!n.isObject()) {
      throw ApiException.badRequest(field, field + " must be an object of strings");
    }
    Map<String, String> out = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = n.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw ApiException.badRequest(field,
            field + "." + e.getKey() + " must be a string");
      }
      if (e.getKey().isEmpty()) {
        throw ApiException.invalid(field, field + " keys must not be empty");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  private static final Set<String> FAULT_FIELDS = Set.of("partition", "loss", "seed");

  /**
   * The body of {@code PUT /v1/debug/faults}: {@code {"partition": ["<node id>", ...], "loss":
   * 0..1, "seed": n}}, every field optional (absent or null leaves that fault as it is).
   */
  static FaultControl.Change faults(JsonNode body) {
    checkFields(body, FAULT_FIELDS, "");
    Optional<Set<NodeId>> partition = Optional.empty();
    JsonNode p = body.get("partition");
    if (p != null && !p.isNull()) {
      if (!p.isArray()) {
        throw ApiException.badRequest("partition", "partition must be an array of node IDs "
            + "(as GET /v1/peers prints them); [] heals the partition");
      }
      if (p.size() > MAX_PARTITION) {
        throw ApiException.invalid("partition", "a partition lists at most " + MAX_PARTITION
            + " node IDs, got " + p.size());
      }
      Set<NodeId> ids = new java.util.LinkedHashSet<>();
      for (int i = 0; i < p.size(); i++) {
        JsonNode id = p.get(i);
        if (!id.isTextual()) {
          throw ApiException.badRequest("partition", "partition[" + i + "] must be a node ID "
              + "string, got " + id);
        }
        try {
          ids.add(NodeId.parse(id.asText()));
        } catch (IllegalArgumentException e) {
          throw ApiException.invalid("partition", "partition[" + i + "] \"" + id.asText()
              + "\" is not a node ID: " + e.getMessage());
        }
      }
      partition = Optional.of(Set.copyOf(ids));
    }
    OptionalDouble loss = OptionalDouble.empty();
    JsonNode l = body.get("loss");
    if (l != null && !l.isNull()) {
      if (!l.isNumber()) {
        throw ApiException.badRequest("loss", "loss must be a number from 0 to 1, got " + l);
      }
      double rate = l.asDouble();
      if (!(rate >= 0 && rate <= 1)) {
        throw ApiException.invalid("loss", "loss must be a probability from 0 to 1 (0 turns "
            + "loss off), got " + l);
      }
      loss = OptionalDouble.of(rate);
    }
    OptionalLong seed = OptionalLong.empty();
    JsonNode sd = body.get("seed");
    if (sd != null && !sd.isNull()) {
      if (!sd.isIntegralNumber() || !sd.canConvertToLong()) {
        throw ApiException.badRequest("seed", "seed must be a whole number (64-bit), got " + sd);
      }
      seed = OptionalLong.of(sd.asLong());
    }
    return new FaultControl.Change(partition, loss, seed);
  }

  private static void checkFields(JsonNode body, Set<String> allowed, String prefix) {
    Iterator<String> names = body.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw ApiException.invalid(prefix + name, "unknown field \"" + prefix + name
            + "\"; allowed are " + String.join(", ", new java.util.TreeSet<>(allowed)));
      }
    }
  }

  private static String stripDot(String prefix) {
    return prefix.endsWith(".") ? prefix.substring(0, prefix.length() - 1) : prefix;
  }
}
