package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioContext;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code churn} on real nodes: processes leave, half of them with a clean stop (SIGTERM, which
 * announces a leave) and the rest by SIGKILL, and come back {@code downtime-ms} later on their
 * own files, as laptops that sleep and wake do. Measured on the wall clock: connectivity of the
 * up nodes' active views, the share of active-view entries that point at nodes that are down,
 * the reach of broadcasts made under churn, and, with {@code churn.replication = true}, how
 * many copies of a few stable writers' fragments stay on up nodes while their holders come
 * and go (HyParView, Leitão, Pereira and Rodrigues, DSN 2007, claims its views heal under
 * exactly this kind of churn).
 *
 * <p>Real nodes always replicate (the node's own replication, with the scenario's factor);
 * the writers are never churned so that their holder lists can be read throughout.
 */
final class RealChurn implements RealScenario {
  /** A broadcast made under churn, waiting for its reach to be read. */
  private record Pending(String id, int origin, long sentAt, BitSet upAtSend) {}

  @Override
  public List<String> nodeSettings(Config config) {
    return List.of("replication.factor = " + config.getInt("churn.replication-factor"));
  }

  @Override
  public void run(RealContext ctx) {
    var c = ctx.config().getConfig("churn");
    long duration = c.getLong("duration-ms");
    long interval = c.getLong("interval-ms");
    int perInterval = c.getInt("nodes-per-interval");
    double graceful = c.getDouble("graceful-share");
    long downtime = c.getLong("downtime-ms");
    long check = c.getLong("check-interval-ms");
    long every = c.getLong("broadcast-every-ms");
    boolean replication = c.getBoolean("replication");
    int factor = c.getInt("replication-factor");
    int perNode = c.getInt("fragments-per-node");
    long minAge = c.getLong("replication-min-age-ms");
    int textBytes = c.getInt("text-bytes");
    int writerCount = ctx.config().getInt("real.churn.writers");
    long reachAfter = ctx.config().getLong("real.churn.reach-after-ms");
    long settle = ctx.config().getLong("real.settle-ms");
    int n = ctx.nodes();
    if (interval < 1 || check < 1 || every < 1) {
      throw new IllegalArgumentException("churn.interval-ms, churn.check-interval-ms and "
          + "churn.broadcast-every-ms must be >= 1");
    }
    if (writerCount < 1 || writerCount > n - 2) {
      throw new IllegalArgumentException("real.churn.writers must be from 1 to nodes - 2 ("
          + (n - 2) + "), got " + writerCount + ": the rest of the nodes are churned");
    }
    RealNetwork net = ctx.net();
    ctx.grow();
    SplittableRandom pick = ctx.random("churn");
    BitSet writers = new BitSet();
    while (writers.cardinality() < writerCount) {
      writers.set(pick.nextInt(n));
    }
    int[] writerList = writers.stream().toArray();
    int written = 0;
    long placed = -1;
    if (replication) {
      for (int w : writerList) {
        for (int k = 0; k < perNode; k++) {
          ctx.put(w, ctx.text("churn fragment of " + w, textBytes), false);
          written++;
        }
      }
      int want = Math.min(factor, n - 1);
      placed = ctx.waitFor(() -> {
        for (int w : writerList) {
          if (holders(net, w).size() < want) {
            return false;
          }
        }
        return true;
      }, minAge, "placing replicas");
    }

    long t0 = net.millis();
    long endAt = t0 + duration;
    ArrayDeque<long[]> down = new ArrayDeque<>();
    ArrayDeque<Pending> pending = new ArrayDeque<>();
    List<Map<String, Object>> rows = new ArrayList<>();
    List<double[]> series = new ArrayList<>();
    List<Map<String, Object>> replicationRows = new ArrayList<>();
    List<double[]> replicationSeries = new ArrayList<>();
    List<Map<String, Object>> reach = new ArrayList<>();
    List<Double> reaches = new ArrayList<>();
    int departures = 0;
    int graceful0 = 0;
    int returns = 0;
    List<Long> restartMs = new ArrayList<>();
    int broadcasts = 0;
    int failedBroadcasts = 0;
    long nextDepart = t0;
    long nextCheck = t0;
    long nextBroadcast = t0 + every / 2;
    while (net.millis() < endAt) {
      long now = net.millis();
      while (!down.isEmpty() && down.peekFirst()[1] <= now) {
        int i = (int) down.pollFirst()[0];
        long begun = net.millis();
        net.restart(i, seeds(net, pick));
        restartMs.add(net.millis() - begun);
        returns++;
      }
      if (net.millis() >= nextDepart) {
        for (int k = 0; k < perInterval; k++) {
          BitSet up = net.up();
          if (up.cardinality() <= 2) {
            break;
          }
          up.andNot(writers);
          int[] candidates = up.stream().toArray();
          if (candidates.length == 0) {
            break;
          }
          int v = candidates[pick.nextInt(candidates.length)];
          if (pick.nextDouble() < graceful) {
            net.stop(v);
            graceful0++;
          } else {
            net.kill(v);
          }
          down.addLast(new long[] {v, net.millis() + downtime});
          departures++;
        }
        // A departure that comes late (a stop or a restart took long) is not made up later:
        // the achieved rate is reported instead of a burst.
        nextDepart = later(nextDepart, interval, net.millis());
      }
      if (net.millis() >= nextBroadcast) {
        int origin = writerList[pick.nextInt(writerList.length)];
        try {
          String id = ctx.put(origin, ctx.text("churn broadcast " + broadcasts, textBytes),
              true);
          pending.addLast(new Pending(id, origin, net.millis(), net.up()));
        } catch (CliException e) {
          // The writer did not answer in time (a loaded host): that broadcast is not measured.
          failedBroadcasts++;
        }
        // Counted either way: a put whose answer was late may still have stored the fragment.
        if (replication) {
          written++;
        }
        broadcasts++;
        // As for departures, one missed during a long restart is not made up in a burst.
        nextBroadcast = later(nextBroadcast, every, net.millis());
      }
      while (!pending.isEmpty() && pending.peekFirst().sentAt() + reachAfter <= net.millis()) {
        Pending p = pending.pollFirst();
        double r = reach(ctx, p);
        if (r >= 0) {
          reaches.add(r);
          reach.add(Report.row("broadcast", reach.size(), "sent at s",
              (p.sentAt() - t0) / 1000.0, "reach", r));
        }
      }
      if (net.millis() >= nextCheck) {
        double s = (net.millis() - t0) / 1000.0;
        checkOverlay(net, s, rows, series);
        if (replication) {
          checkReplication(net, writerList, written, s, replicationRows, replicationSeries);
        }
        nextCheck = later(nextCheck, check, net.millis());
      }
      long wake = Math.min(Math.min(nextDepart, nextCheck), Math.min(nextBroadcast, endAt));
      if (!down.isEmpty()) {
        wake = Math.min(wake, down.peekFirst()[1]);
      }
      if (!pending.isEmpty()) {
        wake = Math.min(wake, pending.peekFirst().sentAt() + reachAfter);
      }
      long wait = wake - net.millis();
      if (wait > 0) {
        ctx.sleep(wait, "churn");
      }
    }
    long churned = Math.max(1, net.millis() - t0);
    // The churn is over: the nodes still down come back, and the network settles before a
    // last reading, which shows whether the views healed.
    while (!down.isEmpty()) {
      long begun = net.millis();
      net.restart((int) down.pollFirst()[0], seeds(net, pick));
      restartMs.add(net.millis() - begun);
      returns++;
    }
    for (Pending p : pending) {
      double r = reach(ctx, p);
      if (r >= 0) {
        reaches.add(r);
        reach.add(Report.row("broadcast", reach.size(), "sent at s",
            (p.sentAt() - t0) / 1000.0, "reach", r));
      }
    }
    ctx.sleep(settle, "settling");
    double end = (net.millis() - t0) / 1000.0;
    Map<String, Object> after = checkOverlay(net, end, rows, series);
    if (replication) {
      checkReplication(net, writerList, written, end, replicationRows, replicationSeries);
    }

    double perMinute = departures / (churned / 60_000.0) / n;
    Report report = ctx.report();
    report.put("churn", Report.row("departures", departures, "graceful (SIGTERM with a "
        + "leave)", graceful0, "crashes (SIGKILL)", departures - graceful0, "returns", returns,
        "graceful share", graceful, "downtime ms", downtime, "planned departures",
        (long) Math.ceil(duration / (double) interval) * perInterval,
        "churn wall time s", churned / 1000.0,
        "restart until ready: median ms", ScenarioContext.percentile(restartMs, 50),
        "restart until ready: max ms", ScenarioContext.percentile(restartMs, 100),
        "share of nodes leaving per minute (achieved)", perMinute,
        "stable writers (never churned)", writerCount, "broadcasts", broadcasts,
        "broadcasts not answered in time", failedBroadcasts));
    report.put("overlay under churn", rows);
    report.put("overlay after churn", after);
    report.put("broadcasts under churn", reach);
    double[] x = series.stream().mapToDouble(v -> v[0]).toArray();
    report.plot(new Plot("churn-connectivity.png", "Real nodes under churn", "seconds of "
        + "churn", "share", false, false, List.of(
            new Plot.Series("largest component share", x,
                series.stream().mapToDouble(v -> v[1]).toArray(), true),
            new Plot.Series("stale active-view entries", x,
                series.stream().mapToDouble(v -> v[2]).toArray(), true))));
    double worstLargest = series.stream().mapToDouble(v -> v[1]).min().orElse(0);
    double meanReach = reaches.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    double minReach = reaches.stream().mapToDouble(Double::doubleValue).min().orElse(0);
    report.finding(String.format(Locale.ROOT, "With %.1f%% of the real nodes leaving per "
        + "minute (%d departures, %d of them SIGTERM with a leave, the rest SIGKILL, back "
        + "after %d s on their own files), the largest component held at least %.1f%% of the "
        + "up nodes; %d s after the churn the %d up nodes formed %s component(s) (largest "
        + "share %.3f). Broadcasts under churn reached on average %.1f%% (worst %.1f%%) of "
        + "the nodes up when they were sent and still up %d ms later.", perMinute * 100,
        departures, graceful0, downtime / 1000, worstLargest * 100, settle / 1000,
        ((Number) after.get("up")).intValue(), after.get("components"),
        ((Number) after.get("largest share")).doubleValue(), meanReach * 100, minReach * 100,
        reachAfter));
    report.finding("Real mode cannot give a returning node an empty overlay state as the "
        + "simulated form does: it restarts on its own files, so it rejoins through the peers "
        + "it saved (peers.json) as well as through three random up nodes. Stop and restart "
        + "take real time, and one thread drives the network, so while a node restarts no "
        + "other node leaves and no reading is taken: here a restart until ready took median "
        + String.format(Locale.ROOT, "%.1f s, at most %.1f s",
            ScenarioContext.percentile(restartMs, 50) / 1000.0,
            ScenarioContext.percentile(restartMs, 100) / 1000.0)
        + " (a JVM start, and after a SIGKILL the recovery of the stores that were not closed "
        + "cleanly), so the achieved departure rate is reported beside the planned one.");
    if (replication) {
      report.put("replication under churn", replicationRows);
      double[] rx = replicationSeries.stream().mapToDouble(v -> v[0]).toArray();
      report.plot(new Plot("churn-replication.png", "Copies of the writers' fragments on up "
          + "real nodes under churn (R = " + factor + ")", "seconds of churn", "copies", false,
          false, List.of(
              new Plot.Series("mean copies held per fragment", rx,
                  replicationSeries.stream().mapToDouble(v -> v[1]).toArray(), true),
              new Plot.Series("holders up, mean over writers", rx,
                  replicationSeries.stream().mapToDouble(v -> v[2]).toArray(), true),
              new Plot.Series("holders up, minimum over writers", rx,
                  replicationSeries.stream().mapToDouble(v -> v[3]).toArray(), true))));
      double worstMean = replicationSeries.stream().mapToDouble(v -> v[1]).min().orElse(0);
      double worstHolders = replicationSeries.stream().mapToDouble(v -> v[3]).min().orElse(0);
      double[] last = replicationSeries.isEmpty() ? new double[4]
          : replicationSeries.get(replicationSeries.size() - 1);
      report.put("replication", Report.row("factor", factor, "fragments written",
          written, "writers", writerCount, "first placement ms", placed));
      report.finding(String.format(Locale.ROOT, "Replication under churn (R = %d, %d "
          + "fragments of %d stable writers, placed on R holders after %d ms): the mean "
          + "copies held on up nodes per fragment never fell below %.2f and the fewest up "
          + "holders of any writer was %.0f; after the churn and %d s of settling: mean "
          + "copies %.2f, holders up %.0f at the fewest. Copies are counted from every up "
          + "node's held PRESENT replicas (GET /v1/repair), so fragments written moments "
          + "before a reading and not yet streamed count as missing. Unlike the simulated "
          + "form, random up nodes do not keep writing during the churn: a churned owner "
          + "cannot be asked for its holders while it is down.", factor, written, writerCount,
          placed, worstMean, worstHolders, settle / 1000, last[1], last[3]));
    }
    ctx.traffic("");
  }

  /** The next slot of a schedule; one missed while the thread was busy is skipped. */
  private static long later(long slot, long step, long now) {
    long next = slot + step;
    return next > now ? next : now + step;
  }

  /** Up to three random up nodes a returning node joins through. */
  private static List<Integer> seeds(RealNetwork net, SplittableRandom pick) {
    int[] up = net.up().stream().toArray();
    List<Integer> via = new ArrayList<>();
    for (int k = 0; k < Math.min(3, up.length); k++) {
      int s = up[pick.nextInt(up.length)];
      if (!via.contains(s)) {
        via.add(s);
      }
    }
    return via;
  }

  /** The holder indexes in writer {@code w}'s manifest (empty when it does not answer). */
  private static List<Integer> holders(RealNetwork net, int w) {
    List<Integer> out = new ArrayList<>();
    try {
      for (JsonNode h : net.api(w).get("/v1/repair").path("holders")) {
        out.add(net.indexOf(h.asText()));
      }
    } catch (CliException e) {
      return List.of();
    }
    return out;
  }

  /**
   * Share of the nodes up when the broadcast was sent (other than its origin) that answer
   * now and hold it readable; -1 when none of them is left to ask.
   */
  private static double reach(RealContext ctx, Pending p) {
    int asked = 0;
    int have = 0;
    for (int i = p.upAtSend().nextSetBit(0); i >= 0; i = p.upAtSend().nextSetBit(i + 1)) {
      if (i == p.origin() || !ctx.net().answers(i)) {
        continue;
      }
      asked++;
      if (ctx.has(i, p.id())) {
        have++;
      }
    }
    return asked == 0 ? -1 : have / (double) asked;
  }

  /**
   * One reading of the up nodes' active views: components and largest share of the graph of
   * connected active links, and the share of all active-view entries that name a node that is
   * down (stale: the node has not yet noticed the departure, or still tries to reconnect).
   */
  private static Map<String, Object> checkOverlay(RealNetwork net, double s,
      List<Map<String, Object>> rows, List<double[]> series) {
    BitSet up = net.up();
    int[][] views = new int[net.size()][];
    int entries = 0;
    int stale = 0;
    int answered = 0;
    for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
      if (!net.answers(i)) {
        continue;
      }
      JsonNode peers;
      try {
        peers = net.api(i).get("/v1/peers").path("peers");
      } catch (CliException e) {
        continue;
      }
      answered++;
      List<Integer> linked = new ArrayList<>();
      for (JsonNode p : peers) {
        if (!"ACTIVE".equals(p.path("view").asText())) {
          continue;
        }
        int j = net.indexOf(p.path("node_id").asText());
        if (j < 0) {
          continue;
        }
        entries++;
        if (!net.isUp(j)) {
          stale++;
        } else if (p.path("connected").asBoolean()) {
          linked.add(j);
        }
      }
      views[i] = linked.stream().mapToInt(Integer::intValue).toArray();
    }
    GraphStats g = GraphStats.of(views, up);
    List<Integer> comps = g.componentSizes();
    double share = comps.isEmpty() ? 0 : comps.get(0) / (double) g.liveNodes();
    double staleShare = entries == 0 ? 0 : stale / (double) entries;
    double meanView = answered == 0 ? 0 : entries / (double) answered;
    Map<String, Object> row = Report.row("time s", s, "up", g.liveNodes(), "answered",
        answered, "components", comps.size(), "largest share", share, "stale view entries",
        staleShare, "mean active view", meanView);
    rows.add(row);
    series.add(new double[] {s, share, staleShare, meanView});
    return row;
  }

  /**
   * How many copies of the writers' fragments up nodes hold (the sum of every up node's held
   * PRESENT replicas over the fragments written: only writers write, so every held replica is
   * one of theirs), and how many of each writer's holders are up.
   */
  private static void checkReplication(RealNetwork net, int[] writers, int written, double s,
      List<Map<String, Object>> rows, List<double[]> series) {
    long held = 0;
    BitSet up = net.up();
    for (int i = up.nextSetBit(0); i >= 0; i = up.nextSetBit(i + 1)) {
      if (!net.answers(i)) {
        continue;
      }
      try {
        held += net.api(i).get("/v1/repair").path("held").path("PRESENT").asLong();
      } catch (CliException e) {
        // A node that does not answer in time holds nothing this reading can count.
      }
    }
    int min = Integer.MAX_VALUE;
    int sum = 0;
    for (int w : writers) {
      int count = 0;
      for (int h : holders(net, w)) {
        if (h >= 0 && net.isUp(h)) {
          count++;
        }
      }
      min = Math.min(min, count);
      sum += count;
    }
    double mean = written == 0 ? 0 : held / (double) written;
    double meanHolders = sum / (double) writers.length;
    rows.add(Report.row("time s", s, "fragments written", written, "replicas held on up "
        + "nodes", held, "mean copies per fragment", mean, "holders up, mean over writers",
        meanHolders, "holders up, minimum over writers", min));
    series.add(new double[] {s, mean, meanHolders, min});
  }
}
