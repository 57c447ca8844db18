package dev.mycelium.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's class-data archive step, run on a copy of the launcher with a stand-in JDK
 * whose {@code java} only records its arguments: a node whose promotion of a finished archive
 * fails (another launcher starting at the same moment promoted it first) still starts.
 */
class LauncherArchiveTest {
  @TempDir Path home;

  private Path fakeInstall() throws IOException {
    Files.copy(Path.of("..", "mycelium"), home.resolve("mycelium"));
    Path jdk = home.resolve("jdk");
    Files.createDirectories(jdk.resolve("bin"));
    Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"17.0.15\"\n");
    Path java = jdk.resolve("bin/java");
    Files.writeString(java, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > \""
        + home.resolve("java-args") + "\"\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path target = Files.createDirectories(home.resolve("app/target"));
    Files.writeString(target.resolve("classpath.txt"), "x.jar");
    Files.createDirectories(home.resolve("config"));
    Files.writeString(home.resolve("config/jvm.options"), "-Dx=1\n");
    Files.copy(Path.of("..", "config", "node-jvm.sh"), home.resolve("config/node-jvm.sh"));
    // The build stamp is newer than every source, so the launcher does not build.
    Files.writeString(home.resolve("pom.xml"), "<project/>");
    Path stamp = target.resolve(".mycelium-built");
    Files.writeString(stamp, "");
    Files.setLastModifiedTime(stamp, FileTime.fromMillis(
        System.currentTimeMillis() + 60_000));
    return jdk;
  }

  private int launch(Path jdk) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder("bash", home.resolve("mycelium").toString(), "run")
        .redirectErrorStream(true).redirectOutput(home.resolve("out").toFile());
    pb.environment().put("JAVA_HOME", jdk.toString());
    pb.environment().remove("MYCELIUM_NO_CDS");
    Process p = pb.start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }

  @Test
  void aPromotionThatLosesTheRaceStillStartsTheNode() throws Exception {
    Path jdk = fakeInstall();
    Path cds = Files.createDirectories(home.resolve("app/target/cds"));
    // What another launcher leaves when it wins the race is a file gone from under this one's
    // mv; here a finished "archive" from a JVM that is gone (no process has this pid) that
    // mv cannot move: a directory cannot replace the (empty, so unused) file in its place,
    // even for root.
    Files.createDirectories(cds.resolve("mycelium-17.0.15.jsa.2147483646/part"));
    Files.writeString(cds.resolve("mycelium-17.0.15.jsa"), "");

    int exit = launch(jdk);

    assertThat(exit).as(Files.readString(home.resolve("out"))).isZero();
    assertThat(Files.readString(home.resolve("java-args"), StandardCharsets.UTF_8))
        .contains("dev.mycelium.node.cli.MyceliumCli").contains("run");
  }

  @Test
  void aFinishedArchiveIsPromotedAndUsed() throws Exception {
    Path jdk = fakeInstall();
    Path cds = Files.createDirectories(home.resolve("app/target/cds"));
    Files.writeString(cds.resolve("mycelium-17.0.15.jsa.2147483646"), "archive");

    assertThat(launch(jdk)).isZero();

    assertThat(cds.resolve("mycelium-17.0.15.jsa")).hasContent("archive");
    assertThat(Files.readString(home.resolve("java-args")))
        .contains("-XX:SharedArchiveFile=" + cds.resolve("mycelium-17.0.15.jsa"));
  }
}
