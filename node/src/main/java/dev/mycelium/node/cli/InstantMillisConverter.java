package dev.mycelium.node.cli;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads a point in time as epoch milliseconds ({@code 1763683200000}) or an ISO-8601 instant
 * ({@code 2026-11-21T00:00:00Z}): the API speaks millis, people speak dates.
 */
public final class InstantMillisConverter implements ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    String v = value.trim();
    if (v.matches("-?\\d+")) {
      try {
        return Long.parseLong(v);
      } catch (NumberFormatException e) {
        throw new TypeConversionException("'" + value + "' is too large for epoch millis");
      }
    }
    try {
      return Instant.parse(v).toEpochMilli();
    } catch (DateTimeParseException e) {
      throw new TypeConversionException(
          "'" + value + "' is not a time; use epoch millis or an ISO instant like"
              + " 2026-11-21T09:30:00Z");
    }
  }
}
