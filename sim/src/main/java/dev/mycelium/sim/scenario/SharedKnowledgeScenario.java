package dev.mycelium.sim.scenario;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.overlay.node.SharedKnowledgeCore;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.engine.SimListener;
import dev.mycelium.sim.report.Report;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code shared-knowledge}: shared fragments published on topics and received by the nodes
 * that subscribe to them, run by the same node core the daemon runs (overlay, Plumtree over
 * the whole active view, shared knowledge), with the daemon's broadcast TTL: first on a clean
 * network, then with message loss and crashed nodes, then with liars whose fragments do not
 * check. Every node relays every topic; only subscribers check and keep.
 */
final class SharedKnowledgeScenario implements Scenario {
  private static final String FORGED = "forged ";

  @Override
  public void run(ScenarioContext ctx) {
    var c = ctx.config().getConfig("shared");
    int topics = c.getInt("topics");
    int perNode = Math.min(topics, c.getInt("topics-per-node"));
    int publications = c.getInt("publications");
    long interval = c.getLong("interval-ms");
    int bytes = c.getInt("fragment-bytes");
    int ttl = c.getInt("ttl");
    long horizon = c.getLong("horizon-ms");
    double loss = c.getDouble("loss");
    double crashed = c.getDouble("crashed");
    double liarShare = c.getDouble("liars");
    int forgedPerLiar = c.getInt("forged-per-liar");

    // Topic j is picked with weight 1 / (j + 1): a few popular topics and a long tail.
    double[] weights = new double[topics];
    for (int j = 0; j < topics; j++) {
      weights[j] = 1.0 / (j + 1);
    }
    SplittableRandom pick = ctx.random("topics");
    List<List<String>> subscriptions = new ArrayList<>();
    for (int i = 0; i < ctx.nodes(); i++) {
      Set<String> mine = new java.util.LinkedHashSet<>();
      while (mine.size() < perNode) {
        mine.add(topic(weighted(pick, weights)));
      }
      subscriptions.add(List.copyOf(mine));
    }

    Ingests ingests = new Ingests();
    OverlaySim sim = ctx.newSim();
    sim.withSharedKnowledge(subscriptions::get, ingests::ingest);
    long[] bans = new long[1];
    long[] traffic = new long[2];
    sim.listen(new SimListener() {
      @Override
      public void onEvent(long time, int node, OverlayEvent event) {
        if (event instanceof OverlayEvent.Banned) {
          bans[0]++;
        }
      }

      @Override
      public void onSend(long time, int from, int to, Envelope e, int size) {
        if (e.hasGossip() && e.getGossip().getTopic().startsWith(SharedKnowledgeCore.TOPIC_PREFIX)) {
          traffic[0]++;
        }
        if (e.hasGossip() || e.hasIhave() || e.hasGraft() || e.hasPrune()) {
          traffic[1] += size;
        }
      }
    });
    Metrics m = new Metrics(sim);
    long t = ctx.grow(sim);

    List<Map<String, Object>> rows = new ArrayList<>();
    Phase clean = phase(ctx, sim, "clean", t, publications, interval, horizon, bytes, ttl,
        weights, subscriptions, ingests, traffic, List.of());
    rows.add(clean.row());
    t = clean.end;

    SplittableRandom faults = ctx.random("faults");
    int crashes = (int) Math.round(crashed * ctx.nodes());
    Set<Integer> down = new HashSet<>();
    while (down.size() < Math.min(ctx.nodes() - 1, crashes)) {
      down.add(faults.nextInt(ctx.nodes()));
    }
    for (int i : down) {
      sim.crash(i, t);
    }
    double baseLoss = sim.network().loss();
    sim.network().loss(loss);
    Phase lossy = phase(ctx, sim, String.format(Locale.ROOT, "%.0f%% loss, %d crashed",
        loss * 100, crashes), t + 1, publications, interval, horizon, bytes, ttl, weights,
        subscriptions, ingests, traffic, List.of());
    rows.add(lossy.row());
    t = lossy.end;
    sim.network().loss(baseLoss);

    List<Integer> liars = new ArrayList<>();
    int liarCount = (int) Math.round(liarShare * ctx.nodes());
    while (liars.size() < liarCount) {
      int i = ScenarioContext.liveNode(sim, faults);
      if (!liars.contains(i)) {
        liars.add(i);
      }
    }
    List<int[]> forged = new ArrayList<>();
    for (int f = 0; f < forgedPerLiar; f++) {
      for (int l : liars) {
        forged.add(new int[] {l, f});
      }
    }
    long checked0 = ingests.forgedChecked;
    Phase lying = phase(ctx, sim, liars.size() + " liars, " + forgedPerLiar + " forged each",
        t, publications, interval, horizon, bytes, ttl, weights, subscriptions, ingests,
        traffic, forged);
    rows.add(lying.row());

    long ignored = 0;
    for (int i = 0; i < sim.size(); i++) {
      if (sim.isLive(i)) {
        ignored += sim.nodeCore(i).shared().map(SharedKnowledgeCore::fromDistrusted).orElse(0L);
      }
    }
    Set<NodeId> liarIds = new HashSet<>();
    for (int l : liars) {
      liarIds.add(sim.id(l));
    }
    long honestPenalized = sim.penalizedPeers().entrySet().stream()
        .filter(e -> !liarIds.contains(e.getKey())).mapToLong(Map.Entry::getValue).sum();

    ctx.report().put("publications", rows);
    ctx.report().put("liars", Report.row(
        "liars", liars.size(),
        "forged fragments published", forged.size(),
        "forged deliveries checked and rejected", ingests.forgedChecked - checked0,
        "forged deliveries ignored (origin already distrusted)", ignored,
        "penalties of honest nodes", honestPenalized,
        "bans", bans[0]));
    for (Map<String, Object> r : rows) {
      ctx.report().finding(String.format(Locale.ROOT, "%s: %.2f%% of subscribers received "
          + "the median publication (the worst %.2f%%); 99%% of subscribers after %s ms "
          + "(median); %.2f payload copies and %.1f KB of broadcast traffic per node per "
          + "publication.", r.get("phase"), 100 * (Double) r.get("reach median"),
          100 * (Double) r.get("reach min"), r.get("t99 median ms"),
          (Double) r.get("copies/node/publication"), (Double) r.get("KB/node/publication")));
    }
    ctx.report().finding(String.format(Locale.ROOT, "Liars: %d forged deliveries checked and "
        + "rejected, %d more ignored as from a distrusted origin; honest nodes penalized %d "
        + "times%s.", ingests.forgedChecked - checked0, ignored, honestPenalized,
        honestPenalized == 0 ? "" : " (a defect)"));
    ctx.traffic(m, "");
  }

  /** What the simulated nodes checked and kept: first time each node kept each publication. */
  private static final class Ingests {
    final Map<String, Map<Integer, Long>> kept = new HashMap<>();
    long forgedChecked;

    boolean ingest(long now, int node, NodeId origin, String topic, ByteString payload) {
      String label = label(payload);
      if (label.startsWith(FORGED)) {
        forgedChecked++;
        return false;
      }
      kept.computeIfAbsent(label, k -> new HashMap<>()).putIfAbsent(node, now);
      return true;
    }
  }

  private record Phase(String name, int published, int forged, double[] reach, long[] t99,
      long copies, long trafficBytes, int nodes, long end) {
    Map<String, Object> row() {
      double[] sorted = reach.clone();
      Arrays.sort(sorted);
      // Traffic is per publication sent, forged ones included: every node relays them all.
      int n = Math.max(1, published + forged);
      return Report.row(
          "phase", name,
          "publications", published,
          "forged publications", forged,
          "reach mean", Report.r(Arrays.stream(reach).average().orElse(0)),
          "reach median", Report.r(sorted.length == 0 ? 0 : sorted[(sorted.length - 1) / 2]),
          "reach min", Report.r(sorted.length == 0 ? 0 : sorted[0]),
          "reached 99%", Arrays.stream(t99).filter(x -> x >= 0).count(),
          "t99 median ms", BroadcastScenario.median(t99),
          "t99 max ms", Arrays.stream(t99).max().orElse(-1),
          "copies/node/publication", Report.r(copies / (double) nodes / n),
          "KB/node/publication", Report.r(trafficBytes / 1024.0 / nodes / n));
    }
  }

  private static Phase phase(ScenarioContext ctx, OverlaySim sim, String name, long start,
      int publications, long interval, long horizon, int bytes, int ttl, double[] weights,
      List<List<String>> subscriptions, Ingests ingests, long[] traffic, List<int[]> forged) {
    Set<Integer> liars = new HashSet<>();
    for (int[] lf : forged) {
      liars.add(lf[0]);
    }
    SplittableRandom random = ctx.random("publications " + name);
    long copies0 = traffic[0];
    long bytes0 = traffic[1];
    String[] labels = new String[publications];
    String[] topicOf = new String[publications];
    int[] originOf = new int[publications];
    long[] sentAt = new long[publications];
    for (int p = 0; p < publications; p++) {
      int pub = p;
      long at = start + p * interval;
      sim.at(at, () -> {
        // Honest publishers only: a liar's own later fragments are rightly ignored by the
        // nodes that distrust it, which would say nothing about honest reach.
        int origin = ScenarioContext.liveNode(sim, random);
        while (liars.contains(origin)) {
          origin = ScenarioContext.liveNode(sim, random);
        }
        String topic = topic(weighted(random, weights));
        labels[pub] = name + " #" + pub + " from " + origin;
        originOf[pub] = origin;
        topicOf[pub] = topic;
        sentAt[pub] = sim.now();
        sim.publishShared(origin, sim.now(), topic, payload(labels[pub], bytes), ttl);
      });
    }
    for (int f = 0; f < forged.size(); f++) {
      int[] lf = forged.get(f);
      long at = start + (f * (long) publications / Math.max(1, forged.size())) * interval;
      sim.publishShared(lf[0], at, topic(0),
          payload(FORGED + lf[0] + "/" + lf[1], bytes), ttl);
    }
    long end = start + (publications - 1) * interval + horizon;
    ctx.run(sim, end, name);
    double[] reach = new double[publications];
    long[] t99 = new long[publications];
    int published = 0;
    for (int p = 0; p < publications; p++) {
      if (labels[p] == null) {
        t99[p] = -1;
        continue;
      }
      published++;
      int origin = originOf[p];
      List<Long> times = new ArrayList<>();
      int subscribers = 0;
      Map<Integer, Long> kept = ingests.kept.getOrDefault(labels[p], Map.of());
      for (int i = 0; i < sim.size(); i++) {
        if (i == origin || !sim.isLive(i) || !subscriptions.get(i).contains(topicOf[p])) {
          continue;
        }
        subscribers++;
        Long at = kept.get(i);
        if (at != null) {
          times.add(at - sentAt[p]);
        }
      }
      reach[p] = subscribers == 0 ? 1 : times.size() / (double) subscribers;
      times.sort(null);
      int need = (int) Math.ceil(0.99 * subscribers);
      t99[p] = subscribers == 0 ? 0 : times.size() >= need && need > 0 ? times.get(need - 1)
          : need == 0 ? 0 : -1;
    }
    return new Phase(name, published, forged.size(), reach, t99,
        traffic[0] - copies0, traffic[1] - bytes0, sim.liveCount(), end);
  }

  private static String topic(int j) {
    return "topic-" + j;
  }

  private static int weighted(SplittableRandom r, double[] weights) {
    double total = 0;
    for (double w : weights) {
      total += w;
    }
    double x = r.nextDouble() * total;
    for (int j = 0; j < weights.length; j++) {
      x -= weights[j];
      if (x < 0) {
        return j;
      }
    }
    return weights.length - 1;
  }

  private static ByteString payload(String label, int bytes) {
    byte[] l = (label + "\n").getBytes(StandardCharsets.UTF_8);
    byte[] body = new byte[Math.max(bytes, l.length)];
    System.arraycopy(l, 0, body, 0, l.length);
    return ByteString.copyFrom(body);
  }

  private static String label(ByteString payload) {
    String s = payload.toString(StandardCharsets.UTF_8);
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
