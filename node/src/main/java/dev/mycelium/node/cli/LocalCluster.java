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
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Real nodes on loopback, each a separate OS process with its own data directory and ports:
 * what {@code mycelium cluster} runs, so that a user can try a network on one machine, and what
 * the simulator's real mode drives. Separate processes, not threads, so that a kill is a real
 * SIGKILL, a pause a real SIGSTOP, and a restart a real recovery from the files left behind.
 *
 * <p>Children run the same JVM, flags and classpath as this process, so a cluster started from
 * the launcher gets the flags from {@code config/jvm.options} without knowing where it is.
 */
public final class LocalCluster implements AutoCloseable {
  /** One running member; a restart makes a new one with the same index and data directory. */
  public record Member(int index, String nodeId, String api, String peer, Path dataDir,
      Process process) {
    /** A client of this member's API (address and key from its data directory). */
    public ApiClient client() {
      return ApiClient.connect(new ApiTarget(dataDir, null, null));
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_NODES = 64;
  private final Path root;
  private final String preset;
  private final Path configFile;
  private final List<String> jvmArgs;
  private final Duration timeout;
  private final TreeMap<Integer, Member> running = new TreeMap<>();
  private int highestIndex;

  private LocalCluster(Path root, String preset, Path configFile, List<String> jvmArgs,
      Duration timeout) {
    this.root = root;
    this.preset = preset;
    this.configFile = configFile;
    this.jvmArgs = List.copyOf(jvmArgs);
    this.timeout = timeout;
  }

  /**
   * Starts {@code n} nodes under {@code root} ({@code root/node-1} ...), the first as seed.
   *
   * @param preset the config preset every node runs with
   * @param timeout how long each node may take to become ready
   * @throws CliException when a node does not start; the ones already started are stopped
   */
  public static LocalCluster start(int n, Path root, String preset, Duration timeout) {
    if (n < 1 || n > MAX_NODES) {
      throw new CliException(ExitCodes.USAGE, "--nodes must be from 1 to " + MAX_NODES
          + ", got " + n);
    }
    LocalCluster cluster = empty(root, preset, null, List.of(), timeout);
    try {
      String seed = null;
      for (int i = 1; i <= n; i++) {
        Member m = cluster.add(seed == null ? List.of() : List.of(seed));
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

  /**
   * A cluster with no node yet, whose members {@link #add(List) join} one at a time.
   *
   * @param configFile a HOCON file every node reads on top of the preset, or null
   * @param jvmArgs JVM flags for the nodes, after this JVM's own (so a later {@code -Xmx} wins)
   */
  public static LocalCluster empty(Path root, String preset, Path configFile,
      List<String> jvmArgs, Duration timeout) {
    return new LocalCluster(root, preset, configFile, jvmArgs, timeout);
  }

  /** The running members, by index. */
  public List<Member> members() {
    return List.copyOf(running.values());
  }

  /** The running member with this index, if it runs. */
  public Optional<Member> member(int index) {
    return Optional.ofNullable(running.get(index));
  }

  /** The data directory of member {@code index}, whether it runs or not. */
  public Path dataDir(int index) {
    return root.resolve("node-" + index);
  }

  /**
   * Starts the next node in a fresh data directory, joining through {@code seeds}
   * ({@code host:port} peer addresses; none for the first node), and waits until it is ready.
   */
  public Member add(List<String> seeds) {
    if (highestIndex >= MAX_NODES) {
      throw new CliException(ExitCodes.USAGE, "a local cluster holds at most " + MAX_NODES
          + " nodes");
    }
    int index = ++highestIndex;
    Member m = launch(index, seeds);
    running.put(index, m);
    return m;
  }

  /**
   * Starts member {@code index} again on the files it left (after a kill, a stop, or a wipe of
   * its directory); it rejoins through its saved peers and through {@code seeds}.
   */
  public Member restart(int index, List<String> seeds) {
    if (running.containsKey(index)) {
      throw new IllegalStateException("node " + index + " is still running");
    }
    if (index < 1 || index > highestIndex) {
      throw new IllegalArgumentException("no node " + index + " was ever started");
    }
    Member m = launch(index, seeds);
    running.put(index, m);
    return m;
  }

  /** SIGKILL: the process ends at once, with no leave and no clean stop, as in a crash. */
  public void kill(int index) {
    Member m = running.remove(index);
    if (m != null) {
      m.process().destroyForcibly();
      await(m.process());
    }
  }

  /** SIGTERM: a clean stop, with a leave announced to the peers. Waits for the exit. */
  public void stop(int index) {
    Member m = running.remove(index);
    if (m != null) {
      // A paused process would hold the SIGTERM until it is continued.
      signal(m, "CONT");
      m.process().destroy();
      await(m.process());
    }
  }

  /** SIGSTOP: the whole process freezes, as in a long GC pause or a suspended laptop. */
  public void pause(int index) {
    signal(required(index), "STOP");
  }

  /** SIGCONT: a paused process goes on where it stopped. */
  public void resume(int index) {
    signal(required(index), "CONT");
  }

  private Member required(int index) {
    Member m = running.get(index);
    if (m == null) {
      throw new IllegalStateException("node " + index + " is not running");
    }
    return m;
  }

  private static void signal(Member m, String name) {
    if (!m.process().isAlive()) {
      return;
    }
    try {
      // The shell's own kill: /bin/kill (procps) is missing on minimal systems, /bin/sh is not.
      Process kill = new ProcessBuilder("/bin/sh", "-c", "kill -" + name + " "
          + m.process().pid()).redirectErrorStream(true).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new CliException(ExitCodes.FAILURE, "kill -" + name + " " + m.process().pid()
            + " failed: " + new String(kill.getInputStream().readAllBytes()).trim());
      }
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILURE, "cannot run kill -" + name + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.FAILURE, "interrupted while sending SIG" + name);
    }
  }

  private static void await(Process p) {
    try {
      p.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The flags a node process starts with: this JVM's own (module exports, Chronicle's settings),
   * then the ones given for the nodes. A collector given for the nodes replaces this JVM's,
   * because a JVM refuses to start with two (the simulator runs on the parallel collector and
   * starts its real nodes on the serial one); a heap size given for the nodes replaces this
   * JVM's sizing (the simulator's heap is most of the machine); and this JVM's log settings
   * stay its own, or every node would write the same log file.
   */
  static List<String> childJvmArgs(List<String> inherited, List<String> chosen) {
    boolean collector = chosen.stream().anyMatch(LocalCluster::selectsCollector);
    boolean heap = chosen.stream().anyMatch(LocalCluster::sizesHeap);
    List<String> out = new ArrayList<>();
    for (String a : inherited) {
      if (!(collector && selectsCollector(a)) && !(heap && sizesHeap(a))
          && !a.startsWith("-Xlog")) {
        out.add(a);
      }
    }
    out.addAll(chosen);
    return out;
  }

  private static boolean selectsCollector(String flag) {
    return flag.startsWith("-XX:+Use") && flag.endsWith("GC");
  }

  private static boolean sizesHeap(String flag) {
    return flag.startsWith("-Xmx") || flag.startsWith("-Xms") || flag.startsWith("-Xmn")
        || flag.matches("-XX:(Initial|Max|Min)RAMPercentage=.*");
  }

  private Member launch(int index, List<String> seeds) {
    Path dataDir = dataDir(index);
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(childJvmArgs(ManagementFactory.getRuntimeMXBean().getInputArguments(),
        jvmArgs));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(MyceliumCli.class.getName());
    cmd.addAll(List.of("run", "--data", dataDir.toString(), "--api", "127.0.0.1:0",
        "--listen", "127.0.0.1:0", "--preset", preset));
    if (configFile != null) {
      cmd.addAll(List.of("--config", configFile.toString()));
    }
    if (!seeds.isEmpty()) {
      cmd.addAll(List.of("--seeds", String.join(",", seeds)));
    }
    Process process;
    try {
      Files.createDirectories(dataDir);
      // A stale api.json from an earlier run would look like a ready node.
      Files.deleteIfExists(dataDir.resolve("api.json"));
      process = new ProcessBuilder(cmd)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolve("node.log").toFile()))
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

  /** Stops every member with SIGTERM (a clean stop; paused ones are continued first). */
  @Override
  public void close() {
    for (Member m : running.values()) {
      try {
        signal(m, "CONT");
      } catch (CliException e) {
        // It may have ended meanwhile; the SIGTERM below is all that matters.
      }
      m.process().destroy();
    }
    for (Member m : running.values()) {
      await(m.process());
    }
    running.clear();
  }
}
