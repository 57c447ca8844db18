package dev.mycelium.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The shipped systemd units: each directive explained by a comment, the directives the
 * operators rely on present, {@code MemoryDenyWriteExecute} absent (the JIT needs writable and
 * executable memory), and, where {@code systemd-analyze} is installed, no complaint from
 * {@code systemd-analyze verify} and an exposure score from {@code systemd-analyze security}
 * of at most 2.0. The score is written to {@code target/systemd-security.txt} for
 * docs/OPERATIONS.md.
 */
class SystemdUnitsTest {
  private static final Path UNITS = Path.of("..", "systemd");
  private static final double MAX_EXPOSURE = 2.0;
  private static final Pattern EXPOSURE =
      Pattern.compile("Overall exposure level for \\S+: (\\d+\\.\\d+)");

  @TempDir Path tmp;

  @BeforeAll
  static void freshRecord() throws IOException {
    Files.deleteIfExists(Path.of("target", "systemd-security.txt"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"mycelium.service", "mycelium@.service"})
  void everyDirectiveIsExplainedAndTheRequiredOnesArePresent(String unit) throws IOException {
    List<String> lines = Files.readAllLines(UNITS.resolve(unit));
    List<String> directives = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith("[")) {
        continue;
      }
      directives.add(line.substring(0, line.indexOf('=')));
      assertThat(lines.get(i - 1).strip()).as("the line before \"%s\" in %s", line, unit)
          .startsWith("#");
    }
    assertThat(directives).contains("Type", "Restart", "SuccessExitStatus", "LimitNOFILE",
        "StateDirectory", "ConfigurationDirectory", "User", "ProtectSystem", "ProtectHome",
        "NoNewPrivileges", "PrivateTmp", "RestrictAddressFamilies", "SystemCallFilter")
        .doesNotContain("MemoryDenyWriteExecute");
    String text = String.join("\n", lines);
    assertThat(text).contains("Type=exec", "Restart=on-failure", "SuccessExitStatus=143",
        "ProtectSystem=strict");
  }

  @Test
  void sysusersAndTmpfilesSnippetsNameTheServiceUserAndDirectories() throws IOException {
    String users = Files.readString(UNITS.resolve("sysusers.d/mycelium.conf"));
    assertThat(users).containsPattern("(?m)^u\\s+mycelium\\s");
    String dirs = Files.readString(UNITS.resolve("tmpfiles.d/mycelium.conf"));
    assertThat(dirs).containsPattern("(?m)^d\\s+/var/lib/mycelium\\s+0700\\s+mycelium");
    assertThat(dirs).containsPattern("(?m)^d\\s+/etc/mycelium\\s");
  }

  @ParameterizedTest
  @ValueSource(strings = {"mycelium.service", "mycelium@.service"})
  void systemdAnalyzeVerifiesTheUnitAndRatesItsExposure(String unit) throws Exception {
    assumeTrue(onPath("systemd-analyze"),
        "systemd-analyze is not installed (Debian package systemd); unit checks skipped");
    // verify wants ExecStart's program to exist, so point it at a stand-in of the launcher.
    Path bin = tmp.resolve("opt/mycelium/bin/mycelium");
    Files.createDirectories(bin.getParent());
    Files.writeString(bin, "#!/bin/sh\n");
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
    String name = unit.replace("@.", "@alice.");
    Path copy = tmp.resolve(name);
    Files.writeString(copy, Files.readString(UNITS.resolve(unit))
        .replace("/opt/mycelium/bin/mycelium", bin.toString()));

    Run verify = run(tmp, "systemd-analyze", "verify", copy.toString());
    assertThat(verify.code()).as(verify.out()).isZero();
    assertThat(verify.out()).as("systemd-analyze verify %s", unit).isBlank();

    Run security = run(tmp, "systemd-analyze", "security", "--offline=true", copy.toString());
    assumeTrue(security.code() == 0 || EXPOSURE.matcher(security.out()).find(),
        "this systemd-analyze cannot rate unit files offline (needs systemd 250+): "
            + security.out().lines().findFirst().orElse(""));
    Matcher m = EXPOSURE.matcher(security.out());
    assertThat(m.find()).as(security.out()).isTrue();
    double exposure = Double.parseDouble(m.group(1));
    String record = String.format(Locale.ROOT, "%s exposure %.1f (systemd-analyze security"
        + " --offline=true)%n", unit, exposure);
    System.out.print(record);
    Files.writeString(Path.of("target", "systemd-security.txt"), record,
        StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
    assertThat(exposure).as(security.out()).isLessThanOrEqualTo(MAX_EXPOSURE);
  }

  private record Run(int code, String out) {}

  private static Run run(Path cwd, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish in 60 s");
    }
    return new Run(p.exitValue(), out);
  }

  static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
