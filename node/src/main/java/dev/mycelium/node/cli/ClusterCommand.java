package dev.mycelium.node.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mycelium cluster --nodes N}: starts N real nodes on loopback, joined to each other, and
 * prints how to reach each one; Ctrl-C stops them all cleanly.
 */
@Command(
    name = "cluster",
    description = "Start N real nodes on loopback (free ports, data in --dir/node-I), the first"
        + " one the seed of the others, and print how to reach each. Ctrl-C stops them all.",
    mixinStandardHelpOptions = true)
public final class ClusterCommand extends ClientCommand {
  @Option(names = "--nodes", paramLabel = "N", defaultValue = "3",
      description = "Nodes to start, 1 to 64. Default: ${DEFAULT-VALUE}.")
  int nodes;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = "cluster",
      description = "Where the nodes keep their data and logs. Default: ${DEFAULT-VALUE}.")
  Path dir;

  @Option(names = "--preset", paramLabel = "NAME", defaultValue = "local",
      description = "The preset every node runs with (local, test). Default: ${DEFAULT-VALUE}.")
  String preset;

  @Option(names = "--start-timeout", paramLabel = "SECONDS", defaultValue = "120",
      description = "How long each node may take to become ready. Default: ${DEFAULT-VALUE}.")
  int startTimeout;

  @Override
  protected int run() {
    LocalCluster cluster =
        LocalCluster.start(nodes, dir, preset, Duration.ofSeconds(startTimeout));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      cluster.close();
      stopped.countDown();
    }, "mycelium-cluster-stop"));
    report(cluster.members());
    for (LocalCluster.Member m : cluster.members()) {
      m.process().onExit().thenRun(() -> err().printf(
          "node %d (%s) stopped with code %d%n", m.index(), m.nodeId(), m.process().exitValue()));
    }
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return ExitCodes.OK;
  }

  private void report(List<LocalCluster.Member> members) {
    if (json()) {
      List<Map<String, Object>> out = new ArrayList<>();
      for (LocalCluster.Member m : members) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("index", m.index());
        row.put("node_id", m.nodeId());
        row.put("api", m.api());
        row.put("peer", m.peer());
        row.put("data", m.dataDir().toString());
        row.put("pid", m.process().pid());
        out.add(row);
      }
      printJson(Map.of("nodes", out));
    } else {
      Table t = new Table("NODE", "NODE ID", "API", "PEER", "DATA");
      for (LocalCluster.Member m : members) {
        t.row("node-" + m.index(), m.nodeId().substring(0, Math.min(8, m.nodeId().length())),
            m.api(), m.peer(), m.dataDir().toString());
      }
      print(t.render());
      print("\nTry: mycelium peers --data " + members.get(0).dataDir()
          + "    mycelium put --data " + members.get(0).dataDir() + " \"hello\"\n"
          + "Stop all with Ctrl-C.\n");
    }
    out().flush();
  }
}
