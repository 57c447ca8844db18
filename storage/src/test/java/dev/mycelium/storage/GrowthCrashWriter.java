package dev.mycelium.storage;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link ChronicleGrowthTest}: writes entries into a small, fast-growing
 * {@link ChronicleFile} forever, printing "index generations" once each write has returned,
 * until the parent kills it with SIGKILL.
 */
public final class GrowthCrashWriter {
  private GrowthCrashWriter() {}

  /** Args: the data directory. */
  public static void main(String[] args) throws Exception {
    ChronicleFile f = ChronicleFile.open(Path.of(args[0]), ChronicleGrowthTest.spec(0, null));
    System.out.println("OPEN");
    System.out.flush();
    for (int i = 0; ; i++) {
      f.putIfAbsent(ChronicleGrowthTest.key(i), ChronicleGrowthTest.value(i));
      System.out.println(i + " " + f.generations());
      System.out.flush();
    }
  }
}
