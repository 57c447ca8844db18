package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mycelium.node.cli.ApiClient;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.LocalCluster;
import dev.mycelium.sim.engine.GraphStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Real Mycelium nodes on loopback for the simulator's real mode: separate processes (a
 * {@link LocalCluster}) addressed by a dense index from 0, so that scenarios can use the same
 * graph measures as on simulated nodes. Faults are real where the operating system can make
 * them (SIGKILL, SIGSTOP, a stop with a leave, a restart on the files left behind, bytes
 * damaged on disk) and injected through the nodes' fault API where it cannot (partitions and
 * message loss between processes on one host; see {@code debug.fault-injection}).
 *
 * <p>Not thread-safe: one scenario thread drives it.
 */
public final class RealNetwork implements AutoCloseable {
  /** How long one poll of a node may take; a paused node must not stall a whole sweep. */
  private static final Duration POLL_TIMEOUT = Duration.ofSeconds(2);

  private final LocalCluster cluster;
  private final List<String> ids = new ArrayList<>();
  private final Map<String, Integer> indexById = new HashMap<>();
  private final Map<Integer, ApiClient> clients = new HashMap<>();
  private final BitSet paused = new BitSet();
  private final long startNanos = System.nanoTime();

  private RealNetwork(LocalCluster cluster) {
    this.cluster = cluster;
  }

  /**
   * A network with no node yet, whose nodes will keep their data under {@code root}.
   *
   * @param preset the node preset (local, lan, wan, test)
   * @param settings HOCON lines under {@code mycelium { }} every node runs with, on top of the
   *     preset (fault injection is always turned on: these are test networks)
   * @param jvmArgs flags for the node JVMs (heap size)
   */
  public static RealNetwork create(Path root, String preset, List<String> settings,
      List<String> jvmArgs, Duration startTimeout) {
    try {
      Files.createDirectories(root);
      StringBuilder conf = new StringBuilder("# Written by mycelium sim --real for its nodes.\n"
          + "mycelium {\n  debug.fault-injection = true\n");
      for (String s : settings) {
        conf.append("  ").append(s).append('\n');
      }
      conf.append("}\n");
      Path file = root.resolve("node.conf");
      Files.writeString(file, conf);
      return new RealNetwork(LocalCluster.empty(root, preset, file, jvmArgs, startTimeout));
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare " + root + ": " + e.getMessage(), e);
    }
  }

  /** Milliseconds since this network was created: the time axis of real-mode reports. */
  public long millis() {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  /** How many nodes were ever started (indexes 0 .. size-1). */
  public int size() {
    return ids.size();
  }

  /**
   * Starts a new node that joins through the given earlier nodes (none for the first), and
   * waits until its API is ready. Returns its index.
   */
  public int add(Collection<Integer> via) {
    LocalCluster.Member m = cluster.add(peerAddresses(via));
    int index = m.index() - 1;
    ids.add(m.nodeId());
    indexById.put(m.nodeId(), index);
    clients.put(index, m.client().timeout(POLL_TIMEOUT));
    return index;
  }

  private List<String> peerAddresses(Collection<Integer> via) {
    List<String> seeds = new ArrayList<>();
    for (int i : via) {
      cluster.member(i + 1).ifPresent(m -> seeds.add(m.peer()));
    }
    return seeds;
  }

  /** Whether node {@code i} runs (paused nodes run). */
  public boolean isUp(int i) {
    return cluster.member(i + 1).isPresent();
  }

  /** Whether node {@code i} runs and is not paused, so that it answers. */
  public boolean answers(int i) {
    return isUp(i) && !paused.get(i);
  }

  /** Indexes of the running nodes. */
  public BitSet up() {
    BitSet b = new BitSet();
    for (LocalCluster.Member m : cluster.members()) {
      b.set(m.index() - 1);
    }
    return b;
  }

  /** The node ID of node {@code i} (hex, as the API prints it). */
  public String nodeId(int i) {
    return ids.get(i);
  }

  /** The index of a node ID, or -1 for a node outside this network. */
  public int indexOf(String nodeId) {
    return indexById.getOrDefault(nodeId, -1);
  }

  /** The data directory of node {@code i}. */
  public Path dataDir(int i) {
    return cluster.dataDir(i + 1);
  }

  /** The API client of a running node. */
  public ApiClient api(int i) {
    ApiClient c = clients.get(i);
    if (c == null || !isUp(i)) {
      throw new IllegalStateException("node " + i + " is not running");
    }
    return c;
  }

  /** SIGKILL. */
  public void kill(int i) {
    cluster.kill(i + 1);
    paused.clear(i);
    clients.remove(i);
  }

  /** SIGTERM: a clean stop with a leave. */
  public void stop(int i) {
    cluster.stop(i + 1);
    paused.clear(i);
    clients.remove(i);
  }

  /** SIGSTOP. */
  public void pause(int i) {
    cluster.pause(i + 1);
    paused.set(i);
  }

  /** SIGCONT. */
  public void resume(int i) {
    cluster.resume(i + 1);
    paused.clear(i);
  }

  /** Starts a stopped or killed node again on its files, joining through {@code via}. */
  public void restart(int i, Collection<Integer> via) {
    LocalCluster.Member m = cluster.restart(i + 1, peerAddresses(via));
    clients.put(i, m.client().timeout(POLL_TIMEOUT));
  }

  /**
   * What the nodes said of their views at one moment: for each node, its active-view peers
   * with an open link ({@code active}), every active-view entry whether linked or not
   * ({@code activeEntries}), and the failure detector's state of each peer ({@code states}).
   * A paused node keeps what it last said (it cannot change its views while paused); a node
   * that is down or does not answer in time has null entries. Peers outside this network are
   * left out.
   */
  public record Views(int[][] active, int[][] activeEntries, int[] knownBy,
      List<Map<Integer, String>> states, BitSet up) {
    /** The graph of the running nodes' linked active views. */
    public GraphStats graph() {
      return GraphStats.of(active, up);
    }
  }

  private final Map<Integer, Views> lastSaid = new HashMap<>();

  /** Asks every running node for its peers (see {@link Views}). */
  public Views views() {
    int n = size();
    int[][] active = new int[n][];
    int[][] entries = new int[n][];
    int[] known = new int[n];
    List<Map<Integer, String>> states = new ArrayList<>();
    BitSet up = up();
    for (int i = 0; i < n; i++) {
      states.add(Map.of());
    }
    for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
      JsonNode peers = null;
      if (!paused.get(i)) {
        try {
          peers = api(i).get("/v1/peers").path("peers");
        } catch (CliException e) {
          peers = null;
        }
      }
      if (peers == null) {
        Views before = lastSaid.get(i);
        if (paused.get(i) && before != null) {
          active[i] = before.active()[i];
          entries[i] = before.activeEntries()[i];
        }
        continue;
      }
      List<Integer> linked = new ArrayList<>();
      List<Integer> all = new ArrayList<>();
      Map<Integer, String> st = new HashMap<>();
      for (JsonNode p : peers) {
        int j = indexOf(p.path("node_id").asText());
        if (j < 0) {
          continue;
        }
        known[j]++;
        if (!p.path("state").isNull()) {
          st.put(j, p.path("state").asText());
        }
        if ("ACTIVE".equals(p.path("view").asText())) {
          all.add(j);
          if (p.path("connected").asBoolean()) {
            linked.add(j);
          }
        }
      }
      active[i] = linked.stream().mapToInt(Integer::intValue).toArray();
      entries[i] = all.stream().mapToInt(Integer::intValue).toArray();
      states.set(i, st);
    }
    Views v = new Views(active, entries, known, states, up);
    for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
      if (active[i] != null) {
        lastSaid.put(i, v);
      }
    }
    return v;
  }

  /** The linked active view of every running node, as indexes (see {@link Views}). */
  public int[][] activeViews() {
    return views().active();
  }

  /**
   * For each node, how many answering nodes list it in their active or passive view: where
   * preferential attachment shows even when active views are capped.
   */
  public int[] knownBy() {
    return views().knownBy();
  }

  /** The graph of the running nodes' active views, for {@link GraphStats}'s measures. */
  public GraphStats graph() {
    return views().graph();
  }

  /**
   * The failure detector's state of every peer node {@code i} knows ("ALIVE", "SUSPECT",
   * "DEAD", "LEFT"), by peer index; empty when it does not answer.
   */
  public Map<Integer, String> peerStates(int i) {
    if (!answers(i)) {
      return Map.of();
    }
    Map<Integer, String> out = new HashMap<>();
    try {
      for (JsonNode p : api(i).get("/v1/peers").path("peers")) {
        int j = indexOf(p.path("node_id").asText());
        if (j >= 0 && !p.path("state").isNull()) {
          out.put(j, p.path("state").asText());
        }
      }
    } catch (CliException e) {
      return Map.of();
    }
    return out;
  }

  /** Cuts node {@code i} off from {@code others} (its side only; an empty set heals it). */
  public void partition(int i, Collection<Integer> others) {
    ObjectNode body = ApiClient.mapper().createObjectNode();
    var list = body.putArray("partition");
    for (int j : others) {
      list.add(nodeId(j));
    }
    api(i).put("/v1/debug/faults", body);
  }

  /** Drops this share of the frames node {@code i} receives (0 ends it). */
  public void loss(int i, double rate, long seed) {
    api(i).put("/v1/debug/faults", ApiClient.mapper().createObjectNode().put("loss", rate)
        .put("seed", seed));
  }

  /** Stops every node cleanly. */
  @Override
  public void close() {
    cluster.close();
  }
}
