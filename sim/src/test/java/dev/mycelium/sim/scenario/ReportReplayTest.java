package dev.mycelium.sim.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The replay guarantee at the level users see it: one seed, byte-identical report.json. */
class ReportReplayTest {
  private static Path run(Path dir, String name, long seed) throws Exception {
    Map<String, String> over = Map.of("nodes", "60", "seed", String.valueOf(seed),
        "grow.settle-ms", "5000", "mass-failure.fractions", "[0.3]",
        "mass-failure.heal-horizon-ms", "8000", "mass-failure.broadcasts", "2");
    Path out = dir.resolve(name);
    ScenarioRunner.run("mass-failure", ScenarioRunner.load("mass-failure", over),
        ScenarioRunner.silent()).report().write(out);
    return out;
  }

  @Test
  void oneSeedGivesByteIdenticalReports(@TempDir Path dir) throws Exception {
    Path a = run(dir, "a", 99);
    Path b = run(dir, "b", 99);
    Path c = run(dir, "c", 100);
    byte[] ja = Files.readAllBytes(a.resolve("report.json"));
    assertThat(Files.readAllBytes(b.resolve("report.json"))).isEqualTo(ja);
    assertThat(Files.readAllBytes(b.resolve("report.md")))
        .isEqualTo(Files.readAllBytes(a.resolve("report.md")));
    assertThat(Files.readAllBytes(c.resolve("report.json"))).isNotEqualTo(ja);
    assertThat(new String(ja, java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"seed\" : 99").contains("\"scenario\" : \"mass-failure\"");
    for (String png : new String[] {"reliability-after-failure.png",
        "largest-component-over-time.png", "traffic-last-run.png"}) {
      byte[] bytes = Files.readAllBytes(a.resolve(png));
      assertThat(bytes.length).as(png).isGreaterThan(1000);
      assertThat(bytes[1]).isEqualTo((byte) 'P');
    }
  }
}
