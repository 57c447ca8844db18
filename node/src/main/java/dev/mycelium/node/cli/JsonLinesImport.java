package dev.mycelium.node.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Imports fragments from JSON lines (one API fragment object per line) through
 * {@code POST /v1/fragments/batch}, in batches, so that a large import costs one round trip per
 * batch, not per fragment. A bad line is reported with its line number and skipped: one typo in
 * a million lines should not throw away the rest of the import.
 */
public final class JsonLinesImport {
  /** What happened to one line that was not stored. */
  public record LineError(long line, String message) {}

  /** The import's outcome. */
  public record Result(long stored, long failed, List<LineError> errors) {}

  /** At most this many line errors are kept for the report; the counts stay exact. */
  static final int MAX_REPORTED = 100;

  private final ApiClient client;
  private final int batchSize;
  private final Map<String, String> defaultMeta;
  private final String defaultVisibility;

  /**
   * An importer.
   *
   * @param defaultMeta metadata added to every line (a line's own entries win)
   * @param defaultVisibility visibility of lines that give none (null: the node's default)
   */
  public JsonLinesImport(
      ApiClient client, int batchSize, Map<String, String> defaultMeta, String defaultVisibility) {
    this.client = client;
    this.batchSize = batchSize;
    this.defaultMeta = defaultMeta;
    this.defaultVisibility = defaultVisibility;
  }

  /** Reads every line, sends full batches as they fill, and reports progress. */
  public Result run(BufferedReader in, ProgressBar bar) {
    long stored = 0;
    long failed = 0;
    List<LineError> errors = new ArrayList<>();
    List<Long> lineNos = new ArrayList<>();
    ArrayNode batch = ApiClient.mapper().createArrayNode();
    long lineNo = 0;
    try {
      String line;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String problem;
        try {
          JsonNode n = ApiClient.mapper().readTree(line);
          problem = check(n);
          if (problem == null) {
            batch.add(withDefaults((ObjectNode) n));
            lineNos.add(lineNo);
          }
        } catch (JsonProcessingException e) {
          problem = "not valid JSON: " + e.getOriginalMessage();
        }
        if (problem != null) {
          failed++;
          record(errors, new LineError(lineNo, problem));
        }
        if (batch.size() >= batchSize) {
          long[] sf = sendOrExplain(batch, lineNos, errors, stored);
          stored += sf[0];
          failed += sf[1];
          batch = ApiClient.mapper().createArrayNode();
          lineNos.clear();
        }
        bar.update(stored + failed + batch.size(), failed, false);
      }
      if (batch.size() > 0) {
        long[] sf = sendOrExplain(batch, lineNos, errors, stored);
        stored += sf[0];
        failed += sf[1];
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    bar.update(stored + failed, failed, true);
    bar.finish();
    errors.sort(java.util.Comparator.comparingLong(LineError::line));
    return new Result(stored, failed, List.copyOf(errors));
  }

  private static String check(JsonNode n) {
    if (n == null || !n.isObject()) {
      return "expected a JSON object like {\"text\": \"...\"}";
    }
    JsonNode t = n.get("text");
    if (t == null || !t.isTextual()) {
      return "missing \"text\" (a string)";
    }
    return null;
  }

  private ObjectNode withDefaults(ObjectNode n) {
    if (!defaultMeta.isEmpty()) {
      JsonNode m = n.get("metadata");
      ObjectNode merged = ApiClient.mapper().createObjectNode();
      defaultMeta.forEach(merged::put);
      if (m != null && m.isObject()) {
        merged.setAll((ObjectNode) m);
      }
      if (m == null || m.isObject()) {
        n.set("metadata", merged);
      }
    }
    if (defaultVisibility != null && !n.has("visibility")) {
      n.put("visibility", defaultVisibility);
    }
    return n;
  }

  /** Sends a batch; if the node goes away, says how far the import got, so it can resume. */
  private long[] sendOrExplain(
      ArrayNode batch, List<Long> lineNos, List<LineError> errors, long storedSoFar) {
    try {
      return send(batch, lineNos, errors);
    } catch (CliException e) {
      throw new CliException(
          e.exitCode(),
          e.getMessage() + "; the import stopped at the batch starting at line "
              + lineNos.get(0) + " (" + storedSoFar + " lines stored before it)",
          e);
    }
  }

  private long[] send(ArrayNode batch, List<Long> lineNos, List<LineError> errors) {
    ObjectNode body = ApiClient.mapper().createObjectNode();
    body.set("fragments", batch);
    JsonNode r;
    try {
      r = client.post("/v1/fragments/batch", body);
    } catch (CliException e) {
      if (e.exitCode() == ExitCodes.USAGE) {
        // The node refused the whole batch (e.g. too large); count every line of it as failed.
        for (Long l : lineNos) {
          record(errors, new LineError(l, e.getMessage()));
        }
        return new long[] {0, batch.size()};
      }
      throw e;
    }
    long stored = 0;
    long failed = 0;
    JsonNode results = r.path("results");
    for (int i = 0; i < batch.size(); i++) {
      JsonNode res = results.get(i);
      if (res != null && res.hasNonNull("id") && !res.has("error")) {
        stored++;
      } else {
        failed++;
        String msg = res == null ? "no result from the node" : describe(res);
        record(errors, new LineError(lineNos.get(i), msg));
      }
    }
    return new long[] {stored, failed};
  }

  private static String describe(JsonNode res) {
    String message = res.hasNonNull("message") ? res.get("message").asText()
        : res.path("error").asText("failed");
    if (res.hasNonNull("field")) {
      message += " (field: " + res.get("field").asText() + ")";
    }
    return message;
  }

  private static void record(List<LineError> errors, LineError e) {
    if (errors.size() < MAX_REPORTED) {
      errors.add(e);
    }
  }
}
