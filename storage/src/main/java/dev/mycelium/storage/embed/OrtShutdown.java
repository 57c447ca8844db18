package dev.mycelium.storage.embed;

import ai.onnxruntime.OrtEnvironment;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps ONNX Runtime's environment alive until the process ends.
 *
 * <p>ONNX Runtime's Java binding releases its native environment in a JVM shutdown hook of its
 * own. The JVM runs shutdown hooks concurrently, so a stop that arrives while another thread is
 * loading the model ({@code createSession}) or embedding frees the environment under that call,
 * and the JVM dies of SIGSEGV in {@code libonnxruntime.so} instead of closing the stores (ONNX
 * Runtime issue 31352; seen here when a node was stopped within a second of {@code /ready}).
 * Releasing the environment at exit buys nothing, as the process's memory goes back to the
 * system anyway, so the hook is taken out once the environment exists.
 *
 * <p>The JDK keeps the hooks in a private field, opened to the node by
 * {@code --add-opens=java.base/java.lang=ALL-UNNAMED} in {@code config/jvm.options} (which
 * Chronicle Map needs as well). Where that is not so, the hook stays and the race with it is
 * back, which is logged once.
 */
final class OrtShutdown {
  private static final Logger LOG = LoggerFactory.getLogger(OrtShutdown.class);
  static final String CLOSER = "ai.onnxruntime.OrtEnvironment$OrtEnvCloser";
  private static boolean done;

  private OrtShutdown() {}

  /**
   * Makes the shared environment, if it is not made yet, and removes the hook that would
   * release it at exit.
   *
   * @return how many such hooks were removed (one, the first time; zero after)
   */
  static synchronized int keepEnvironmentToExit() {
    OrtEnvironment.getEnvironment();
    if (done) {
      return 0;
    }
    done = true;
    try {
      int removed = 0;
      for (Thread hook : registeredHooks()) {
        Runnable task = taskOf(hook);
        if (task != null && task.getClass().getName().equals(CLOSER)
            && Runtime.getRuntime().removeShutdownHook(hook)) {
          removed++;
        }
      }
      if (removed == 0) {
        LOG.warn("ONNX Runtime's shutdown hook was not found; stopping the node while the "
            + "embedding model loads may crash the JVM");
      }
      return removed;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warn("cannot remove ONNX Runtime's shutdown hook ({}); stopping the node while the "
          + "embedding model loads may crash the JVM. Start the JVM with the flags in "
          + "config/jvm.options", e.toString());
      return 0;
    }
  }

  /** The hooks registered with {@link Runtime#addShutdownHook}, as a copy. */
  static List<Thread> registeredHooks() throws ReflectiveOperationException {
    Class<?> hooks = Class.forName("java.lang.ApplicationShutdownHooks");
    Field field = hooks.getDeclaredField("hooks");
    field.setAccessible(true);
    // The JDK changes the map under the class's lock.
    synchronized (hooks) {
      Map<?, ?> map = (Map<?, ?>) field.get(null);
      List<Thread> out = new ArrayList<>();
      if (map != null) {
        for (Object t : map.keySet()) {
          out.add((Thread) t);
        }
      }
      return out;
    }
  }

  /** The Runnable a thread was made with: a field of Thread up to JDK 18, of its holder after. */
  static Runnable taskOf(Thread thread) throws ReflectiveOperationException {
    try {
      Field target = Thread.class.getDeclaredField("target");
      target.setAccessible(true);
      return (Runnable) target.get(thread);
    } catch (NoSuchFieldException e) {
      Field holderField = Thread.class.getDeclaredField("holder");
      holderField.setAccessible(true);
      Object holder = holderField.get(thread);
      Field task = holder.getClass().getDeclaredField("task");
      task.setAccessible(true);
      return (Runnable) task.get(holder);
    }
  }
}
