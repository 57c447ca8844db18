package dev.mycelium.sim.scenario;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.engine.SimListener;
import dev.mycelium.sim.report.Report;
import dev.mycelium.wire.proto.NetworkSearchHit;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code network-search}: the bounded flood of network search, run by the same node core the
 * daemon runs (overlay, routes, search core), at several hop limits and then with crashed and
 * slow nodes. Every node is honest, so any penalty or ban is a defect: the run reports both.
 */
final class NetworkSearchScenario implements Scenario {
  private static final String RELEVANT = "relevant ";

  @Override
  public void run(ScenarioContext ctx) {
    int searches = ctx.config().getInt("search.searches");
    List<Integer> hopsList = ctx.config().getIntList("search.hops");
    int faultHops = ctx.config().getInt("search.fault-hops");
    int k = ctx.config().getInt("search.k");
    int holders = Math.min(ctx.config().getInt("search.holders"), ctx.nodes());
    int background = ctx.config().getInt("search.background");
    int fragmentBytes = ctx.config().getInt("search.fragment-bytes");
    long budget = ctx.config().getLong("search.budget-ms");
    long interval = ctx.config().getLong("search.interval-ms");
    long localMillis = ctx.config().getLong("search.local-ms");
    double crashed = ctx.config().getDouble("search.crashed");
    double slow = ctx.config().getDouble("search.slow");
    long slowPerMessage = ctx.config().getLong("search.slow-per-message-ms");
    int maxHops = Math.max(faultHops, hopsList.stream().mapToInt(Integer::intValue).max()
        .orElse(1));

    SplittableRandom pick = ctx.random("holders");
    Set<Integer> holding = new HashSet<>();
    while (holding.size() < holders) {
      holding.add(pick.nextInt(ctx.nodes()));
    }
    OverlaySim sim = ctx.newSim();
    sim.withNetworkSearch(maxHops, localMillis,
        (node, q) -> localHits(node, holding.contains(node), background, fragmentBytes, k));
    long[] bans = new long[1];
    sim.listen(new SimListener() {
      @Override
      public void onEvent(long time, int node, OverlayEvent event) {
        if (event instanceof OverlayEvent.Banned) {
          bans[0]++;
        }
      }
    });
    Metrics m = new Metrics(sim);
    long t = ctx.grow(sim);

    List<Map<String, Object>> rows = new ArrayList<>();
    for (int hops : hopsList) {
      Phase p = phase(ctx, sim, "hops " + hops, hops, t, searches, interval, budget, k,
          holding);
      rows.add(p.row());
      t = p.end;
    }
    SplittableRandom faults = ctx.random("faults");
    int crashes = (int) Math.round(crashed * ctx.nodes());
    int slows = (int) Math.round(slow * ctx.nodes());
    Set<Integer> hit = new HashSet<>();
    while (hit.size() < Math.min(ctx.nodes() - 1, crashes + slows)) {
      hit.add(faults.nextInt(ctx.nodes()));
    }
    int c = 0;
    for (int i : hit) {
      if (c++ < crashes) {
        sim.crash(i, t);
      } else {
        sim.slow(i, t, slowPerMessage, searches * interval + budget * 2);
      }
    }
    Phase f = phase(ctx, sim, String.format(Locale.ROOT, "hops %d, %d crashed, %d slow",
        faultHops, crashes, slows), faultHops, t + 1, searches, interval, budget, k, holding);
    rows.add(f.row());

    ctx.report().put("searches", rows);
    ctx.report().put("honesty", Report.row("penalties", sim.penalties(), "bans", bans[0]));
    Phase first = null;
    for (Map<String, Object> r : rows) {
      ctx.report().finding(String.format(Locale.ROOT, "%s: %.1f%% of searches answered "
          + "completely; %.2f relevant hits found of %.2f within reach; %.0f messages and "
          + "%.0f KB per query; k-th hit after %s ms (median).", r.get("phase"),
          100 * (Double) r.get("complete share"), (Double) r.get("relevant found mean"),
          (Double) r.get("relevant in reach mean"), (Double) r.get("messages/query"),
          (Double) r.get("KB/query"), r.get("t k-th hit p50 ms")));
    }
    ctx.report().finding(sim.penalties() == 0 && bans[0] == 0
        ? "No node penalized or banned another: every search message reached the search core "
            + "alone."
        : "Honest nodes were penalized " + sim.penalties() + " times and banned " + bans[0]
            + " times: a defect.");
    ctx.traffic(m, "");
  }

  private record Phase(String name, int started, int completed, int complete,
      double relevantFound, double relevantReach, double asked, long messages, long bytes,
      long[] firstHit, long[] kthHit, long[] done, long end) {
    Map<String, Object> row() {
      int n = Math.max(1, started);
      return Report.row(
          "phase", name,
          "searches", started,
          "completed", completed,
          "complete share", Report.r(complete / (double) n),
          "relevant found mean", Report.r(relevantFound / n),
          "relevant in reach mean", Report.r(relevantReach / n),
          "asked mean", Report.r(asked / n),
          "messages/query", Report.r(messages / (double) n),
          "KB/query", Report.r(bytes / 1024.0 / n),
          "t first hit p50 ms", pct(firstHit, 0.5),
          "t k-th hit p50 ms", pct(kthHit, 0.5),
          "t k-th hit p95 ms", pct(kthHit, 0.95),
          "t outcome p50 ms", pct(done, 0.5),
          "t outcome p95 ms", pct(done, 0.95));
    }
  }

  private static long pct(long[] v, double q) {
    long[] s = Arrays.stream(v).filter(x -> x >= 0).sorted().toArray();
    if (s.length == 0) {
      return -1;
    }
    return s[Math.min(s.length - 1, (int) Math.floor(q * (s.length - 1) + 0.5))];
  }

  private static Phase phase(ScenarioContext ctx, OverlaySim sim, String name, int hops,
      long start, int searches, long interval, long budget, int k, Set<Integer> holding) {
    SplittableRandom random = ctx.random("searches " + name);
    long messages0 = sim.searchMessagesSent();
    long bytes0 = sim.searchBytesSent();
    List<OverlaySim.SearchTrace> done = new ArrayList<>();
    double[] reach = new double[1];
    int[] started = new int[1];
    NetworkSearchRequest query = NetworkSearchRequest.newBuilder().setK(k).addVector(1)
        .addVector(0).addVector(0).addVector(0).build();
    for (int i = 0; i < searches; i++) {
      long at = start + i * interval;
      sim.at(at, () -> {
        int origin = ScenarioContext.liveNode(sim, random);
        started[0]++;
        reach[0] += Math.min(k, relevantWithin(sim, origin, hops, holding));
        sim.search(origin, sim.now(), query, hops, budget, done::add);
      });
    }
    long end = start + searches * interval + budget + 1_000;
    ctx.run(sim, end, name);
    int complete = 0;
    double found = 0;
    double asked = 0;
    long[] first = new long[done.size()];
    long[] kth = new long[done.size()];
    long[] outcome = new long[done.size()];
    for (int i = 0; i < done.size(); i++) {
      OverlaySim.SearchTrace tr = done.get(i);
      if (tr.outcome().complete()) {
        complete++;
      }
      asked += tr.outcome().asked().size();
      found += tr.outcome().hits().stream().filter(h -> h.hit().getFragment().getBody()
          .startsWith(ByteString.copyFromUtf8(RELEVANT))).count();
      first[i] = tr.millisToHit(1);
      kth[i] = tr.millisToHit(k);
      outcome[i] = tr.millisToComplete();
    }
    return new Phase(name, started[0], done.size(), complete, found, reach[0], asked,
        sim.searchMessagesSent() - messages0, sim.searchBytesSent() - bytes0, first, kth,
        outcome, end);
  }

  /** Holders of a relevant fragment within {@code hops} of the origin, other than itself. */
  private static int relevantWithin(OverlaySim sim, int origin, int hops, Set<Integer> holding) {
    Set<Integer> seen = new HashSet<>();
    seen.add(origin);
    ArrayDeque<int[]> queue = new ArrayDeque<>();
    queue.add(new int[] {origin, 0});
    int count = 0;
    while (!queue.isEmpty()) {
      int[] e = queue.poll();
      if (e[1] == hops) {
        continue;
      }
      for (int next : sim.activeView(e[0])) {
        if (next >= 0 && sim.isLive(next) && seen.add(next)) {
          if (holding.contains(next)) {
            count++;
          }
          queue.add(new int[] {next, e[1] + 1});
        }
      }
    }
    return count;
  }

  /** A node's shared hits: its relevant fragment, if it holds one, then its background ones. */
  private static List<NetworkSearchHit> localHits(int node, boolean relevant, int background,
      int bytes, int k) {
    List<NetworkSearchHit> out = new ArrayList<>();
    ByteString nodeId = ByteString.copyFrom(new byte[32]);
    if (relevant) {
      out.add(hit(RELEVANT + node, bytes, 0.9f + (node % 97) / 1000f, nodeId));
    }
    for (int i = 0; i < background && out.size() < k; i++) {
      out.add(hit("background " + node + "/" + i, bytes, 0.1f + ((node * 31 + i) % 300) / 1000f,
          nodeId));
    }
    return out;
  }

  private static NetworkSearchHit hit(String label, int bytes, float score, ByteString node) {
    byte[] body = new byte[Math.max(bytes, label.length())];
    byte[] l = label.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    System.arraycopy(l, 0, body, 0, l.length);
    return NetworkSearchHit.newBuilder().setFragment(SignedFragment.newBuilder()
        .setBody(ByteString.copyFrom(body)).setSignature(ByteString.copyFrom(new byte[64])))
        .setScore(score).setNode(node).build();
  }
}
