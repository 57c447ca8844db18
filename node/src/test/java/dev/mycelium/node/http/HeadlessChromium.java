package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Headless Chromium (Debian package chromium) for the browser tests of the node's web pages:
 * one process per call, a fresh profile each time, the page's scripts given virtual time to
 * load, fetch and draw before the DOM is dumped or the screenshot taken.
 */
public final class HeadlessChromium {
  private final String exe;
  private final Path scratch;

  private HeadlessChromium(String exe, Path scratch) {
    this.exe = exe;
    this.scratch = scratch;
  }

  /** The browser on PATH, or empty when there is none (the caller skips, saying so). */
  public static Optional<HeadlessChromium> find(Path scratch) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
      for (String dir : path.split(File.pathSeparator)) {
        if (Files.isExecutable(Path.of(dir, name))) {
          return Optional.of(new HeadlessChromium(Path.of(dir, name).toString(), scratch));
        }
      }
    }
    return Optional.empty();
  }

  /** The page's DOM after its scripts ran, serialized. */
  public String dumpDom(String url) throws Exception {
    return run("--dump-dom", url);
  }

  /** A PNG of the page at this window size. */
  public void screenshot(String url, Path png, int width, int height) throws Exception {
    Files.deleteIfExists(png);
    run("--screenshot=" + png, "--window-size=" + width + "," + height, "--hide-scrollbars",
        url);
  }

  private String run(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(exe, "--headless", "--no-sandbox",
        "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-extensions", "--disable-background-networking", "--disable-sync",
        "--user-data-dir=" + Files.createTempDirectory(scratch, "chromium"),
        "--virtual-time-budget=7000"));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(scratch, "chromium", ".out");
    Path err = Files.createTempFile(scratch, "chromium", ".err");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile())
        .redirectError(err.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish in 120 s: " + Files.readString(err));
    }
    assertThat(p.exitValue()).as(Files.readString(err)).isZero();
    return Files.readString(out);
  }
}
