package dev.mycelium.storage.embed;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;

/**
 * A JVM that makes ONNX Runtime sessions in a loop and exits in the middle of one, as a node
 * stopped while its model loads does. With {@code keep} the environment's release hook is
 * removed first; with {@code plain} it is left in place.
 */
public final class OrtShutdownChild {
  private OrtShutdownChild() {}

  /** Args: {@code keep|plain} and the milliseconds to run before {@code System.exit(0)}. */
  public static void main(String[] args) throws Exception {
    byte[] model;
    try (InputStream in = OrtShutdownChild.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
      model = in.readAllBytes();
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    if (args[0].equals("keep")) {
      OrtShutdown.keepEnvironmentToExit();
    }
    Thread loader = new Thread(() -> {
      while (true) {
        try (OrtSession s = env.createSession(model)) {
          System.out.print('.');
        } catch (Exception e) {
          System.out.println("session failed: " + e);
        }
      }
    });
    loader.setDaemon(true);
    loader.start();
    Thread.sleep(Long.parseLong(args[1]));
    System.exit(0);
  }
}
