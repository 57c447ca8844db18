package dev.mycelium.storage;

import java.nio.file.Files;
import java.nio.file.Path;

/** What tests need to start a child JVM as the node's launcher would. */
public final class ChildJvm {
  private ChildJvm() {}

  /** {@code config/jvm.options}, found above the working directory. */
  public static Path jvmOptions() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolve("config").resolve("jvm.options");
      if (Files.exists(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("config/jvm.options not found above "
        + Path.of("").toAbsolutePath());
  }
}
