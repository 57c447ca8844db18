package dev.mycelium.bench.cli;

import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.ExitCodes;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/**
 * Work directories of the bench commands: the one the user named with {@code --dir} is made if
 * needed and kept (so its files can be looked at afterwards); otherwise a temporary one is
 * made and deleted when the bench ends.
 */
final class BenchDirs {
  private BenchDirs() {}

  /** The named directory, or a new temporary one whose name starts with the prefix. */
  static Path open(Path named, String prefix) {
    try {
      if (named != null) {
        Files.createDirectories(named);
        return named;
      }
      return Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot make a work directory: " + e.getMessage());
    }
  }

  /** Deletes a temporary work directory; a named one is left alone. */
  static void cleanUp(Path named, Path where, PrintWriter err) {
    if (named != null) {
      return;
    }
    try (var walk = Files.walk(where)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      err.println("note: could not delete " + where + ": " + e.getMessage());
    }
  }
}
