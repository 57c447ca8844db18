package dev.mycelium.node.cli;

import picocli.CommandLine.Option;

/** The shared {@code --format text|json} option. */
public final class FormatOption {
  @Option(
      names = "--format",
      paramLabel = "text|json",
      defaultValue = "text",
      converter = OutputFormat.Converter.class,
      description = "Output format: text (aligned tables) or json (the API's JSON). Default: text.")
  OutputFormat format = OutputFormat.TEXT;

  /** The chosen format. */
  public OutputFormat format() {
    return format;
  }

  /** Whether JSON was asked for. */
  public boolean json() {
    return format == OutputFormat.JSON;
  }
}
