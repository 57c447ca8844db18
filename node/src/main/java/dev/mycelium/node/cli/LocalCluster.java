package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Real nodes on loopback, each a separate OS process with its own data directory and ports, the
 * first one the seed of the others: what {@code mycelium cluster} runs, so that a user can try a
 * network on one machine. Separate processes, not threads, so that killing one is a real crash.
 *
 * <p>Children run the same JVM, flags and classpath as this process, so a cluster started from
 * the launcher gets the flags from {@code config/jvm.options} without knowing where it is.
 */
public final class LocalCluster implements AutoCloseable {
  /** One running member. */
  public record Member(int index, String nodeId, String api, String peer, Path dataDir,
      Process process) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<Member> members = new ArrayList<>();

  private LocalCluster() {}

  /**
   * Starts {@code n} nodes under {@code root} ({@code root/node-1} ...), the first as seed.
   *
   * @param preset the config preset every node runs with
   * @param timeout how long each node may take to become ready
   * @throws CliException when a node does not start; the ones already started are stopped
   */
  public static LocalCluster start(int n, Path root, String preset, Duration timeout) {
    if (n < 1 || n > 64) {
      throw new CliException(ExitCodes.USAGE, "--nodes must be from 1 to 64, got " + n);
    }
    LocalCluster cluster = new LocalCluster();
    try {
      String seed = null;
      for (int i = 1; i <= n; i++) {
        Member m = cluster.launch(i, root.resolve("node-" + i), preset, seed, timeout);
        cluster.members.add(m);
        if (seed == null) {
          seed = m.peer();
        }
      }
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  /** The members, in start order. */
  public List<Member> members() {
    return List.copyOf(members);
  }

  private Member launch(int index, Path dataDir, String preset, String seed, Duration timeout) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(MyceliumCli.class.getName());
    cmd.addAll(List.of("run", "--data", dataDir.toString(), "--api", "127.0.0.1:0",
        "--listen", "127.0.0.1:0", "--preset", preset));
    if (seed != null) {
      cmd.addAll(List.of("--seeds", seed));
    }
    Process process;
    try {
      Files.createDirectories(dataDir);
      // A stale api.json from an earlier run would look like a ready node.
      Files.deleteIfExists(dataDir.resolve("api.json"));
      process = new ProcessBuilder(cmd)
          .redirectErrorStream(true)
          .redirectOutput(dataDir.resolve("node.log").toFile())
          .start();
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILURE, "could not start node " + index + ": " + e);
    }
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new CliException(ExitCodes.FAILURE, "node " + index + " exited with code "
            + process.exitValue() + "; see " + dataDir.resolve("node.log"));
      }
      Member ready = readyMember(index, dataDir, process);
      if (ready != null) {
        return ready;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroy();
        throw new CliException(ExitCodes.FAILURE, "interrupted while node " + index + " started");
      }
    }
    process.destroy();
    throw new CliException(ExitCodes.FAILURE, "node " + index + " was not ready within "
        + timeout.toSeconds() + " s; see " + dataDir.resolve("node.log"));
  }

  /** The member once its API answers ready, else null. */
  private static Member readyMember(int index, Path dataDir, Process process) {
    Path apiFile = dataDir.resolve("api.json");
    if (!Files.exists(apiFile)) {
      return null;
    }
    try {
      JsonNode api = JSON.readTree(apiFile.toFile());
      if (api.path("pid").asLong() != process.pid()) {
        return null;
      }
      ApiClient client = ApiClient.connect(new ApiTarget(dataDir, null, null));
      if (client.getAnyStatus("/ready").status() != 200) {
        return null;
      }
      JsonNode status = client.get("/v1/status");
      return new Member(index, status.path("node_id").asText(), api.path("url").asText(),
          status.path("peer").asText(), dataDir, process);
    } catch (IOException | CliException e) {
      // Written but not yet complete, or not yet serving: try again.
      return null;
    }
  }

  /** Stops every member with SIGTERM (a clean stop) and waits for it. */
  @Override
  public void close() {
    for (Member m : members) {
      m.process().destroy();
    }
    for (Member m : members) {
      try {
        m.process().waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
