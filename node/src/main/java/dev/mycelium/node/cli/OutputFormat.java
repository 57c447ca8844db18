package dev.mycelium.node.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * How a command prints: aligned text for people, the API's JSON for scripts. Every command that
 * prints takes {@code --format}, so that nothing needs screen-scraping.
 */
public enum OutputFormat {
  /** Aligned tables and key/value lines. */
  TEXT,
  /** Pretty-printed JSON, as the API returns it. */
  JSON;

  /** Accepts {@code text} and {@code json} in any case, whatever the root command's settings. */
  public static final class Converter implements ITypeConverter<OutputFormat> {
    @Override
    public OutputFormat convert(String value) {
      try {
        return OutputFormat.valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException("'" + value + "' is not a format; use text or json");
      }
    }
  }
}
