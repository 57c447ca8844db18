package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mycelium put}: stores one fragment (text from the argument or stdin), or imports many
 * from a JSON-lines file in batches.
 */
@Command(
    name = "put",
    description = {
      "Store a fragment: TEXT, or stdin when TEXT is not given; prints its ID.",
      "With --file, import JSON lines ({\"text\": ..., \"metadata\": {...}, \"vector\": [...],"
          + " \"visibility\": ...} per line) in batches; bad lines are reported and skipped."
    })
public final class PutCommand extends ApiCommand {
  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "TEXT",
      description = "The fragment's text; read from stdin when absent.")
  String text;

  @Option(
      names = "--meta",
      paramLabel = "KEY=VALUE",
      description = "A metadata entry (repeatable). With --file, added to every line.")
  Map<String, String> meta = new LinkedHashMap<>();

  @Option(
      names = "--agent",
      paramLabel = "NAME",
      description = "The agent the fragment belongs to (searches can filter on it).")
  String agent;

  @Option(
      names = "--run",
      paramLabel = "ID",
      description = "The run (session) the fragment belongs to (searches can filter on it).")
  String run;

  @Option(
      names = "--expires",
      paramLabel = "TIME",
      converter = InstantMillisConverter.class,
      description = "When the fragment expires (ISO-8601 time or epoch milliseconds): it then"
          + " leaves searches and is deleted.")
  Long expires;

  @Option(
      names = "--visibility",
      paramLabel = "private|shared",
      description = "private (the default) or shared.")
  String visibility;

  @Option(
      names = "--vector-file",
      paramLabel = "FILE",
      description = "The fragment's embedding: floats as a JSON array or separated by spaces,"
          + " commas or newlines. Without it the node embeds the text itself.")
  Path vectorFile;

  @Option(
      names = "--file",
      paramLabel = "FILE.jsonl",
      description = "Import fragments from JSON lines ('-' for stdin) through the batch API.")
  Path file;

  @Option(
      names = "--batch-size",
      paramLabel = "N",
      defaultValue = "500",
      description = "Fragments per batch request with --file (1..1000). Default: ${DEFAULT-VALUE}.")
  int batchSize = 500;

  @Option(
      names = "--no-progress",
      negatable = false,
      description = "With --file, draw no progress bar (it is drawn only on a terminal anyway).")
  boolean noProgress;

  @Option(
      names = "--progress",
      hidden = true,
      description = "Draw the progress bar even when stderr is not a terminal.")
  boolean forceProgress;

  @Override
  protected int run() {
    String vis = visibility();
    if (file != null) {
      if (text != null) {
        throw new CliException(ExitCodes.USAGE, "give either TEXT or --file, not both");
      }
      if (vectorFile != null) {
        throw new CliException(
            ExitCodes.USAGE, "--vector-file applies to one fragment; put vectors in the lines");
      }
      return importLines(vis);
    }
    if (text == null && System.console() != null) {
      throw new CliException(
          ExitCodes.USAGE, "give the text as an argument, pipe it on stdin, or use --file");
    }
    String body = text != null ? text : readStdin();
    if (body.isEmpty()) {
      throw new CliException(
          ExitCodes.USAGE, "the text is empty; give TEXT or pipe it on stdin");
    }
    ObjectNode req = ApiClient.mapper().createObjectNode();
    req.put("text", body);
    if (vectorFile != null) {
      ArrayNode v = req.putArray("vector");
      for (float f : readVector(vectorFile)) {
        v.add(f);
      }
    }
    putMetadata(req, meta);
    putIfGiven(req, "visibility", vis);
    putIfGiven(req, "agent", agent);
    putIfGiven(req, "run", run);
    putIfGiven(req, "expires_at", expires);
    JsonNode r = client().post("/v1/fragments", req);
    if (json()) {
      printJson(r);
    } else {
      print(text(r, "id") + "\n");
    }
    return ExitCodes.OK;
  }

  private String visibility() {
    if (visibility == null) {
      return null;
    }
    String v = visibility.trim().toLowerCase(Locale.ROOT);
    if (!v.equals("private") && !v.equals("shared")) {
      throw new CliException(
          ExitCodes.USAGE, "--visibility must be private or shared, not '" + visibility + "'");
    }
    return v;
  }

  private int importLines(String vis) {
    if (batchSize < 1 || batchSize > 1000) {
      throw new CliException(ExitCodes.USAGE, "--batch-size must be 1..1000, not " + batchSize);
    }
    ApiClient c = client();
    boolean stdin = file.toString().equals("-");
    long total = stdin ? 0 : countLines(file);
    boolean show = !noProgress && (forceProgress || System.console() != null);
    ProgressBar bar = new ProgressBar(err(), total, show);
    JsonLinesImport.Result result;
    try (BufferedReader in =
        stdin
            ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
            : Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      result = new JsonLinesImport(c, batchSize, meta, vis).run(in, bar);
    } catch (NoSuchFileException e) {
      throw new CliException(ExitCodes.USAGE, "no such file: " + file);
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read " + file + ": " + e.getMessage());
    }
    for (JsonLinesImport.LineError e : result.errors()) {
      err().println("line " + e.line() + ": " + e.message());
    }
    if (result.failed() > result.errors().size()) {
      err().println("... and " + (result.failed() - result.errors().size()) + " more failed lines");
    }
    err().flush();
    if (json()) {
      ObjectNode o = ApiClient.mapper().createObjectNode();
      o.put("stored", result.stored());
      o.put("failed", result.failed());
      ArrayNode errs = o.putArray("errors");
      for (JsonLinesImport.LineError e : result.errors()) {
        errs.addObject().put("line", e.line()).put("message", e.message());
      }
      printJson(o);
    } else {
      print("stored " + result.stored() + ", failed " + result.failed() + "\n");
    }
    return result.failed() == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
  }

  private static long countLines(Path f) {
    try (var lines = Files.lines(f, StandardCharsets.UTF_8)) {
      return lines.filter(l -> !l.isBlank()).count();
    } catch (NoSuchFileException e) {
      throw new CliException(ExitCodes.USAGE, "no such file: " + f);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read " + f + ": " + e.getMessage());
    }
  }

  private static String readStdin() {
    try {
      InputStream in = System.in;
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read stdin: " + e.getMessage());
    }
  }

  /** Reads floats as a JSON array or separated by whitespace or commas. */
  static float[] readVector(Path f) {
    String s;
    try {
      s = Files.readString(f, StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      throw new CliException(ExitCodes.USAGE, "no such vector file: " + f);
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read " + f + ": " + e.getMessage());
    }
    if (s.startsWith("[") && s.endsWith("]")) {
      s = s.substring(1, s.length() - 1);
    }
    String[] parts = s.split("[\\s,]+");
    if (s.isBlank()) {
      throw new CliException(ExitCodes.USAGE, "vector file " + f + " holds no numbers");
    }
    float[] v = new float[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        v[i] = Float.parseFloat(parts[i]);
      } catch (NumberFormatException e) {
        throw new CliException(
            ExitCodes.USAGE,
            "vector file " + f + ": '" + parts[i] + "' (number " + (i + 1) + ") is not a number");
      }
      if (!Float.isFinite(v[i])) {
        throw new CliException(
            ExitCodes.USAGE, "vector file " + f + ": number " + (i + 1) + " is not finite");
      }
    }
    return v;
  }
}
