package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import dev.mycelium.node.cli.ApiClient;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.ProgressBar;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.ScenarioContext;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * What a real-mode scenario needs: the scenario's configuration and report (shared with the
 * simulated form through {@link ScenarioContext}), the {@link RealNetwork}, and helpers that
 * wait in wall-clock time while they show progress and sample the nodes' traffic counters.
 *
 * <p>Real mode runs on the wall clock, so unlike a simulated run it does not replay from its
 * seed: the seed still chooses every victim, origin and order, but the nodes' own timing is
 * the operating system's.
 */
final class RealContext {
  private final ScenarioContext base;
  private final RealNetwork net;
  private final ProgressBar progress;
  private final long pollMillis;
  private final List<double[]> traffic = new ArrayList<>();
  private long lastTrafficAt = -1;
  private long[] lastFrames = new long[0];
  private long[] lastBytes = new long[0];
  private int texts;

  RealContext(ScenarioContext base, RealNetwork net, ProgressBar progress) {
    this.base = base;
    this.net = net;
    this.progress = progress;
    this.pollMillis = base.config().getLong("real.poll-ms");
  }

  /** The run's configuration, seed and report, shared with the simulated form. */
  ScenarioContext base() {
    return base;
  }

  Config config() {
    return base.config();
  }

  Report report() {
    return base.report();
  }

  int nodes() {
    return base.nodes();
  }

  RealNetwork net() {
    return net;
  }

  SplittableRandom random(String purpose) {
    return base.random(purpose);
  }

  double[] doubles(String path) {
    return base.doubles(path);
  }

  /** The overlay profile the nodes run ({@code overlay.preset}), for its timings. */
  dev.mycelium.overlay.OverlayConfig overlay() {
    return base.overlay();
  }

  /**
   * Starts {@link #nodes()} nodes one at a time, each joining through up to three random
   * earlier nodes (its join then walks the overlay to a node chosen in proportion to degree,
   * as on simulated nodes), then lets the network settle for {@code real.settle-ms}.
   */
  void grow() {
    growTo(nodes(), j -> { });
    sleep(config().getLong("real.settle-ms"), "settling");
  }

  /** Grows to {@code n} nodes, calling {@code joined} with the count after each join. */
  void growTo(int n, java.util.function.IntConsumer joined) {
    SplittableRandom r = random("joins");
    long interval = config().getLong("real.join-interval-ms");
    while (net.size() < n) {
      List<Integer> via = new ArrayList<>();
      BitSet up = net.up();
      int[] candidates = up.stream().toArray();
      for (int k = 0; k < Math.min(3, candidates.length); k++) {
        int pick = candidates[r.nextInt(candidates.length)];
        if (!via.contains(pick)) {
          via.add(pick);
        }
      }
      net.add(via);
      show("starting " + net.size() + "/" + n);
      joined.accept(net.size());
      sleep(interval, "starting " + net.size() + "/" + n);
    }
  }

  /** Waits {@code millis} of wall time, sampling traffic and showing progress. */
  void sleep(long millis, String phase) {
    long end = net.millis() + millis;
    while (net.millis() < end) {
      pause(Math.min(pollMillis, end - net.millis()));
      tick(phase);
    }
  }

  /**
   * Polls {@code done} every {@code real.poll-ms} for up to {@code timeoutMillis}; returns the
   * milliseconds it took, or -1 if it never held.
   */
  long waitFor(BooleanSupplier done, long timeoutMillis, String phase) {
    long start = net.millis();
    while (true) {
      if (done.getAsBoolean()) {
        return net.millis() - start;
      }
      if (net.millis() - start >= timeoutMillis) {
        return -1;
      }
      pause(pollMillis);
      tick(phase);
    }
  }

  static void pause(long millis) {
    if (millis <= 0) {
      return;
    }
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Shows progress and, once a second, samples every answering node's traffic counters. */
  void tick(String phase) {
    long now = net.millis();
    if (lastTrafficAt < 0 || now - lastTrafficAt >= 1000) {
      sampleTraffic(now);
    }
    show(phase);
  }

  private void show(String phase) {
    progress.text(String.format(Locale.ROOT, "%s (real): %-22s %7.1f s  up %d", base.name(),
        phase, net.millis() / 1000.0, net.up().cardinality()), false);
  }

  private void sampleTraffic(long now) {
    int n = net.size();
    long[] frames = java.util.Arrays.copyOf(lastFrames, n);
    long[] bytes = java.util.Arrays.copyOf(lastBytes, n);
    double sumFrames = 0;
    double sumBytes = 0;
    int counted = 0;
    for (int i = 0; i < n; i++) {
      if (!net.answers(i)) {
        continue;
      }
      try {
        JsonNode p = net.api(i).get("/v1/status").path("peers");
        long f = p.path("frames_sent").asLong();
        long b = p.path("bytes_sent").asLong();
        // A restarted node's counters begin again at 0; its first sample only sets the base.
        if (lastTrafficAt >= 0 && i < lastFrames.length && f >= lastFrames[i]) {
          sumFrames += f - lastFrames[i];
          sumBytes += b - lastBytes[i];
          counted++;
        }
        frames[i] = f;
        bytes[i] = b;
      } catch (CliException e) {
        frames[i] = Long.MAX_VALUE;
      }
    }
    if (lastTrafficAt >= 0 && counted > 0) {
      double secs = (now - lastTrafficAt) / 1000.0;
      traffic.add(new double[] {now / 1000.0, sumFrames / counted / secs,
          sumBytes / counted / secs});
    }
    lastFrames = frames;
    lastBytes = bytes;
    lastTrafficAt = now;
  }

  /**
   * Adds the traffic section and plot, as the simulated form does, from the frames and bytes
   * the nodes counted (protocol frames sent per answering node per second).
   */
  void traffic(String label) {
    double[] x = new double[traffic.size()];
    double[] msgs = new double[x.length];
    double[] bytes = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = traffic.get(i)[0];
      msgs[i] = traffic.get(i)[1];
      bytes[i] = traffic.get(i)[2];
    }
    ScenarioContext.traffic(report(), label, x, msgs, bytes, "Frames", "wall time (s)",
        "per answering node per second");
  }

  /**
   * Puts a fragment on node {@code i} and returns its ID. Shared fragments go to the topic
   * every real-mode node subscribes to ({@link ScenarioContext#TOPIC}).
   */
  String put(int i, String text, boolean shared) {
    ObjectNode body = ApiClient.mapper().createObjectNode().put("text", text)
        .put("visibility", shared ? "shared" : "private");
    if (shared) {
      body.putObject("metadata").put("topic", ScenarioContext.TOPIC);
    }
    return net.api(i).post("/v1/fragments", body).path("id").asText();
  }

  /**
   * Puts a fragment, or returns null when the node did not answer in time: on a loaded host a
   * put can outlast the harness's request timeout, and one slow answer should cost one
   * broadcast (counted in the report), not the whole run.
   */
  String tryPut(int i, String text, boolean shared) {
    try {
      return put(i, text, shared);
    } catch (CliException e) {
      return null;
    }
  }

  /** A text unique in this run, of about {@code bytes} bytes. */
  String text(String label, int bytes) {
    StringBuilder b = new StringBuilder(label).append(' ').append(texts++).append(':');
    SplittableRandom r = random("text " + texts);
    while (b.length() < bytes) {
      b.append(' ').append(Long.toString(r.nextLong() >>> 1, 36));
    }
    return b.substring(0, Math.max(bytes, label.length() + 8));
  }

  /** The fragment as node {@code i} answers GET for it, or null (not there, or no answer). */
  JsonNode get(int i, String id) {
    if (!net.answers(i)) {
      return null;
    }
    try {
      ApiClient.Answer a = net.api(i).getAnyStatus("/v1/fragments/" + id);
      return a.status() == 200 ? a.body() : null;
    } catch (CliException e) {
      return null;
    }
  }

  /** Whether node {@code i} holds fragment {@code id} readable (PRESENT). */
  boolean has(int i, String id) {
    JsonNode f = get(i, id);
    return f != null && "PRESENT".equals(f.path("state").asText());
  }
}
