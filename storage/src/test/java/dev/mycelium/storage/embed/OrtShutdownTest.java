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
 * 0.6 to 1.5 s after it began making sessions, and whose own shutdown hook waits for the
 * session under way as the node's does, exits cleanly. With ONNX Runtime's own hook left in
 * place the same JVM died of SIGSEGV at 0.6, 1.05 and 1.5 s (and threw at 2 s).
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
              OrtShutdownChild.class.getName(), "keep", String.valueOf(600 + 450 * run))
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      assertThat(child.waitFor(120, TimeUnit.SECONDS)).as("the child exited").isTrue();
      String out = Files.readString(log);
      assertThat(child.exitValue()).as("exit status of run %d; its output:%n%s", run, out)
          .isZero();
      Files.deleteIfExists(log);
    }
  }
}
