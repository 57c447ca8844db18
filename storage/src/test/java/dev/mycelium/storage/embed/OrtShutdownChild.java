package dev.mycelium.storage.embed;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;
import java.util.concurrent.CountDownLatch;

/**
 * A JVM that makes ONNX Runtime sessions in a loop and exits in the middle of one, stopping as
 * a node does: its own shutdown hook lets the session under way finish and then stops the
 * loop (the node joins its embedder thread the same way). With {@code keep} ONNX Runtime's
 * environment-releasing hook is removed first; with {@code plain} it is left in place.
 */
public final class OrtShutdownChild {
  private OrtShutdownChild() {}

  /**
   * Args: {@code keep|plain} and the milliseconds to wait, once the first session is being
   * made, before {@code System.exit(0)}.
   */
  public static void main(String[] args) throws Exception {
    byte[] model;
    try (InputStream in = OrtShutdownChild.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
      model = in.readAllBytes();
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    if (args[0].equals("keep")) {
      OrtShutdown.keepEnvironmentToExit();
    }
    CountDownLatch loading = new CountDownLatch(1);
    Thread loader = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        loading.countDown();
        try (OrtSession s = env.createSession(model)) {
          System.out.print('.');
        } catch (Exception e) {
          System.out.println("session failed: " + e);
        }
      }
    });
    loader.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      loader.interrupt();
      try {
        loader.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    // Exit with a session under way: the first one takes longer than the shortest delay.
    loading.await();
    Thread.sleep(Long.parseLong(args[1]));
    System.exit(0);
  }
}
