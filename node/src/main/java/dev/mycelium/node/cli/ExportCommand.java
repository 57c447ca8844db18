package dev.mycelium.node.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mycelium export}: this node's own fragments as JSON lines, the format
 * {@code mycelium put --file} reads, to back up, move or inspect one's memories.
 */
@Command(
    name = "export",
    description = {
      "Write this node's own fragments as JSON lines (text, vector, metadata, visibility), oldest"
          + " first: the format `mycelium put --file` reads back.",
      "Superseded versions and expiry times are kept in the metadata."
    })
public final class ExportCommand extends ApiCommand {
  @Option(
      names = {"-o", "--out"},
      paramLabel = "FILE",
      description = "Write to FILE (replaced whole, only once the export is complete) instead of"
          + " stdout.")
  Path out;

  @Override
  protected int run() {
    byte[] lines = client().getBytes("/v1/export");
    try {
      if (out == null) {
        print(new String(lines, StandardCharsets.UTF_8));
      } else {
        Path tmp = Files.createTempFile(
            out.toAbsolutePath().getParent(), ".export-", ".jsonl.tmp");
        Files.write(tmp, lines);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        long n = lines.length == 0 ? 0 : countLines(lines);
        err().println("exported " + n + " fragments to " + out);
        err().flush();
      }
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILURE, "cannot write the export: " + e.getMessage(), e);
    }
    return ExitCodes.OK;
  }

  private static long countLines(byte[] b) {
    long n = 0;
    for (byte x : b) {
      if (x == '\n') {
        n++;
      }
    }
    return n;
  }
}
