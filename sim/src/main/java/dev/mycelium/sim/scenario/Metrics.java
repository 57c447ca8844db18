package dev.mycelium.sim.scenario;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.sim.engine.NodeFault;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.engine.SimListener;
import dev.mycelium.wire.proto.Envelope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a scenario measures while a simulation runs: when each broadcast reached each node,
 * how many payload copies it cost, failure-detector verdicts, faults, and messages and bytes
 * per simulated second. One listener serves every scenario, so every report counts the same
 * way.
 */
public final class Metrics implements SimListener {
  /** A detector verdict: at {@code time}, {@code node} said something about {@code peer}. */
  public record Verdict(long time, int node, int peer) {}

  private final OverlaySim sim;
  private final Map<String, Long> sentAt = new HashMap<>();
  private final Map<String, List<long[]>> delivered = new HashMap<>();
  private final Map<ByteString, Integer> gossipCopies = new HashMap<>();
  private final Map<String, ByteString> idOf = new HashMap<>();
  final List<Verdict> suspected = new ArrayList<>();
  final List<Verdict> dead = new ArrayList<>();
  final List<Verdict> refuted = new ArrayList<>();
  final List<Verdict> down = new ArrayList<>();
  final List<Verdict> up = new ArrayList<>();
  final Map<String, Integer> faults = new TreeMap<>();
  private long[] messagesPerSecond = new long[64];
  private long[] bytesPerSecond = new long[64];
  private int[] livePerSecond = new int[64];
  private int seconds;

  public Metrics(OverlaySim sim) {
    this.sim = sim;
    sim.listen(this);
  }

  /** Records that a broadcast with this (unique) payload label starts now. */
  void sent(String label, long time) {
    sentAt.put(label, time);
  }

  @Override
  public void onEvent(long time, int node, OverlayEvent e) {
    if (e instanceof OverlayEvent.Delivered d) {
      String label = d.payload().toStringUtf8();
      delivered.computeIfAbsent(label, k -> new ArrayList<>()).add(new long[] {time, node});
      idOf.putIfAbsent(label, d.id());
    } else if (e instanceof OverlayEvent.Suspected s) {
      suspected.add(new Verdict(time, node, sim.indexOf(s.peer())));
    } else if (e instanceof OverlayEvent.Dead d) {
      dead.add(new Verdict(time, node, sim.indexOf(d.peer())));
    } else if (e instanceof OverlayEvent.Refuted r) {
      refuted.add(new Verdict(time, node, sim.indexOf(r.peer())));
    } else if (e instanceof OverlayEvent.PeerDown p) {
      down.add(new Verdict(time, node, sim.indexOf(p.peer())));
    } else if (e instanceof OverlayEvent.PeerUp p) {
      up.add(new Verdict(time, node, sim.indexOf(p.peer())));
    }
  }

  @Override
  public void onSend(long time, int from, int to, Envelope env, int bytes) {
    int s = (int) (time / 1000);
    if (s >= messagesPerSecond.length) {
      int len = Math.max(s + 1, messagesPerSecond.length * 2);
      messagesPerSecond = Arrays.copyOf(messagesPerSecond, len);
      bytesPerSecond = Arrays.copyOf(bytesPerSecond, len);
      livePerSecond = Arrays.copyOf(livePerSecond, len);
    }
    messagesPerSecond[s]++;
    bytesPerSecond[s] += bytes;
    livePerSecond[s] = Math.max(livePerSecond[s], sim.liveCount());
    seconds = Math.max(seconds, s + 1);
    if (env.hasGossip()) {
      gossipCopies.merge(env.getGossip().getId(), 1, Integer::sum);
    }
  }

  @Override
  public void onFault(long time, int node, NodeFault fault) {
    faults.merge(fault.getClass().getSimpleName(), 1, Integer::sum);
  }

  /** Distinct nodes that delivered the broadcast. */
  public int reached(String label) {
    return reach(label).reached();
  }

  /** Distinct nodes in {@code which} that delivered the broadcast. */
  public int reached(String label, java.util.function.IntPredicate which) {
    return reach(label).reached(which);
  }

  /**
   * When each node first delivered the broadcast, after its send (the origin counts at 0);
   * a broadcast not yet sent has reached no one.
   */
  public Reach reach(String label) {
    long[] first = new long[sim.size()];
    Arrays.fill(first, -1);
    Long start = sentAt.get(label);
    if (start != null) {
      for (long[] d : delivered.getOrDefault(label, List.of())) {
        int node = (int) d[1];
        long t = d[0] - start;
        if (first[node] < 0 || t < first[node]) {
          first[node] = t;
        }
      }
    }
    return new Reach(true, first);
  }

  /** Gossip messages (payload copies) sent for this broadcast. */
  public int copies(String label) {
    ByteString id = idOf.get(label);
    return id == null ? 0 : gossipCopies.getOrDefault(id, 0);
  }

  public Map<String, Integer> faults() {
    return faults;
  }

  /** Messages sent per live node, per simulated second (index = second). */
  public double[] messagesPerNodePerSecond() {
    return perNode(messagesPerSecond);
  }

  /** Bytes sent per live node, per simulated second. */
  public double[] bytesPerNodePerSecond() {
    return perNode(bytesPerSecond);
  }

  private double[] perNode(long[] counts) {
    double[] out = new double[seconds];
    for (int s = 0; s < seconds; s++) {
      out[s] = livePerSecond[s] == 0 ? 0 : counts[s] / (double) livePerSecond[s];
    }
    return out;
  }
}
