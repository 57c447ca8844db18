package dev.mycelium.node.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The shape every printing command shares: {@code --format}, the exit-code footer, and one
 * place that turns a {@link CliException} into {@code error: <message>} on stderr and its exit
 * code. Commands handle their own errors here, rather than relying on the root command's
 * handler, so that they behave the same under any root.
 */
public abstract class ClientCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin FormatOption format;

  @Mixin ExitCodeHelp exitCodes;

  @Mixin HelpOption help;

  /** The command's work; returns the exit code. */
  protected abstract int run();

  @Override
  public final Integer call() {
    try {
      return run();
    } catch (CliException e) {
      err().println("error: " + e.getMessage());
      err().flush();
      return e.exitCode();
    }
  }

  /** Where results go (picocli's writer, so tests can capture it). */
  protected PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** Where errors and progress go. */
  protected PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Whether {@code --format json} was given. */
  protected boolean json() {
    return format.json();
  }

  /** Reports (records) print with the API's snake_case names, like the API's own JSON. */
  private static final ObjectMapper SNAKE =
      new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

  /** Prints a JSON value pretty: API answers as they came, records in snake_case. */
  protected void printJson(Object value) {
    try {
      ObjectMapper m = value instanceof JsonNode ? ApiClient.mapper() : SNAKE;
      out().println(m.writerWithDefaultPrettyPrinter().writeValueAsString(value));
      out().flush();
    } catch (JsonProcessingException e) {
      throw new CliException(ExitCodes.FAILURE, "cannot print JSON: " + e.getOriginalMessage());
    }
  }

  /** Prints text as is. */
  protected void print(String text) {
    out().print(text);
    out().flush();
  }

  /** A field as text, or null when absent or null. */
  protected static String text(JsonNode node, String field) {
    JsonNode n = node == null ? null : node.get(field);
    return n == null || n.isNull() ? null : n.asText();
  }
}
