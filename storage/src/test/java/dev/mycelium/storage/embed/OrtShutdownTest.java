package dev.mycelium.storage.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.storage.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ONNX Runtime's environment is never released under a session being made: a JVM that exits
 * in the middle of {@code createSession} exits cleanly. Left in place, ONNX Runtime's own
 * shutdown hook crashed such a JVM with SIGSEGV in six runs of six here.
 */
class OrtShutdownTest {
  @Test
  void afterKeepingTheEnvironmentNoHookReleasesIt() throws Exception {
    OrtShutdown.keepEnvironmentToExit();
    List<Thread> hooks = OrtShutdown.registeredHooks();
    for (Thread hook : hooks) {
      Runnable task = OrtShutdown.taskOf(hook);
      assertThat(task == null ? "" : task.getClass().getName())
          .as("the task of shutdown hook %s", hook.getName())
          .isNotEqualTo(OrtShutdown.CLOSER);
    }
    assertThat(OrtShutdown.keepEnvironmentToExit()).as("a second call").isZero();
  }

  @Test
  @Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aJvmExitingWhileSessionsAreMadeExitsCleanly() throws Exception {
    for (int run = 0; run < 3; run++) {
      Path log = Files.createTempFile("ort-shutdown", ".log");
      Process child = new ProcessBuilder(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "@" + ChildJvm.jvmOptions(),
              "-cp", System.getProperty("java.class.path"),
              OrtShutdownChild.class.getName(), "keep", String.valueOf(1200 + 300 * run))
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      assertThat(child.waitFor(120, TimeUnit.SECONDS)).as("the child exited").isTrue();
      String out = Files.readString(log);
      assertThat(child.exitValue()).as("exit status of run %d; its output:%n%s", run, out)
          .isZero();
      assertThat(out).as("sessions made before the exit").contains(".");
      Files.deleteIfExists(log);
    }
  }
}
