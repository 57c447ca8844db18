package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import dev.mycelium.node.cli.ApiClient;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.sim.report.Plot;
import dev.mycelium.sim.report.Report;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code self-healing} on real nodes: the reference test protocol on processes with their real
 * stores. One node's private fragments (sealed before they leave it) are replicated; the node is
 * stopped and bytes of 5 to 10% of its fragments are flipped in its Chronicle file, as bit rot
 * would; it starts again, finds the damage (reads and the scrubber check every fragment's
 * hash), flags the fragments BLANK and repairs them from its holders while lookups run through
 * the HTTP API. Then it loses its whole data directory but its identity key and restores from
 * its neighbours.
 */
final class RealSelfHealing implements RealScenario {
  @Override
  public List<String> nodeSettings(Config config) {
    return List.of("replication.factor = "
        + config.getInt("self-healing.replication-factor"));
  }

  @Override
  public void run(RealContext ctx) {
    var c = ctx.config().getConfig("self-healing");
    int factor = c.getInt("replication-factor");
    int perNode = c.getInt("fragments-per-node");
    int count = c.getInt("victim-fragments");
    int textBytes = c.getInt("text-bytes");
    int lookups = c.getInt("lookups");
    long lookupWindow = c.getLong("lookup-window-ms");
    long replicateMax = c.getLong("replicate-max-ms");
    long repairMax = c.getLong("repair-max-ms");
    ctx.grow();
    RealNetwork net = ctx.net();
    SplittableRandom r = ctx.random("self-healing");
    int victim = r.nextInt(net.size());
    for (int i = 0; i < net.size(); i++) {
      if (i != victim) {
        for (int k = 0; k < perNode; k++) {
          ctx.put(i, ctx.text("background " + i, textBytes), false);
        }
      }
    }
    Map<String, String> mine = new LinkedHashMap<>();
    for (int k = 0; k < count; k++) {
      String text = ctx.text("victim", textBytes);
      mine.put(ctx.put(victim, text, false), text);
    }
    int holdersWanted = Math.min(factor, net.size() - 1);
    long replicated = ctx.waitFor(() -> replicatedOn(net, victim, holdersWanted, count),
        replicateMax, "replicating");
    JsonNode placed = repair(net, victim);
    ctx.report().put("replication", Report.row("owners", net.size(), "fragments",
        count + perNode * (net.size() - 1), "replication factor", factor, "text bytes",
        textBytes, "time to replicate ms", replicated, "holders of the node",
        placed == null ? 0 : placed.path("holders").size()));
    // Anti-entropy must have compared digests once with every holder before the loss.
    ctx.sleep(ctx.config().getLong("real.settle-ms"), "in sync");

    double share = c.getDouble("loss-min")
        + r.nextDouble() * (c.getDouble("loss-max") - c.getDouble("loss-min"));
    List<String> ids = new ArrayList<>(mine.keySet());
    int lose = Math.max(1, (int) Math.round(share * count));
    List<String> lost = new ArrayList<>();
    for (int k = 0; k < lose; k++) {
      lost.add(ids.remove(r.nextInt(ids.size())));
    }
    ids = new ArrayList<>(mine.keySet());
    net.stop(victim);
    int flipped = flip(net.dataDir(victim).resolve("fragments.cm3"), lost, mine);
    net.restart(victim, List.of(other(net, victim, r)));
    long t0 = net.millis();

    List<Map<String, Object>> states = new ArrayList<>();
    List<double[]> series = new ArrayList<>();
    long[] allBack = {-1};
    int lostCount = lose;
    // One reading of the node's own counts; "back" needs every fragment PRESENT and at least
    // as many repairs as fragments damaged, since damage not yet found also reads PRESENT.
    java.util.function.BooleanSupplier sample = () -> {
      JsonNode s = repair(net, victim);
      if (s == null) {
        return false;
      }
      JsonNode f = s.path("fragments");
      long t = net.millis() - t0;
      states.add(Report.row("s", t / 1000.0, "PRESENT", f.path("PRESENT").asLong(), "BLANK",
          f.path("BLANK").asLong(), "LOST", f.path("LOST").asLong(), "repairs done",
          s.path("repairs_done").asLong()));
      series.add(new double[] {t / 1000.0, f.path("PRESENT").asLong(),
          f.path("BLANK").asLong(), f.path("LOST").asLong()});
      boolean back = f.path("PRESENT").asLong() == count && f.path("BLANK").asLong() == 0
          && f.path("LOST").asLong() == 0 && s.path("repairs_done").asLong() >= lostCount;
      if (back && allBack[0] < 0) {
        allBack[0] = t;
      }
      return back;
    };
    sample.getAsBoolean();
    long lookupsFrom = net.millis();
    int[] outcome = lookups(ctx, victim, mine, ids, lookups, lookupWindow, r, sample);
    long lookupsTook = net.millis() - lookupsFrom;
    ctx.waitFor(sample, repairMax, "repairing");
    long back = allBack[0];
    int identical = identical(ctx, victim, mine);
    JsonNode rs = repair(net, victim);
    ctx.report().put("loss", Report.row("node", victim, "own fragments", count, "lost", lose,
        "share lost", lose / (double) count, "damaged in the file", flipped));
    ctx.report().put("lookups during loss", Report.row("lookups", lookups, "window ms",
        lookupWindow, "took ms", lookupsTook, "failures", outcome[0], "blank-flagged",
        outcome[1], "present and identical", outcome[2]));
    ctx.report().put("repair", Report.row("most BLANK or LOST at once",
        series.stream().mapToDouble(v -> v[2] + v[3]).max().orElse(0),
        "repairs done", rs == null ? -1 : rs.path("repairs_done").asLong(),
        "repairs failed", rs == null ? -1 : rs.path("repairs_failed").asLong(),
        "bytes moved", rs == null ? -1 : rs.path("bytes_moved").asLong(),
        "all back after ms", back,
        "restored byte-identical", identical, "share restored", identical / (double) count));
    ctx.report().finding(String.format(Locale.ROOT, "Node %d lost %d of its %d fragments "
        + "(%.1f%%, bytes flipped in its Chronicle file while it was stopped); %d lookups "
        + "through the API during the loss: %d failures, %d hits flagged BLANK or LOST. "
        + "%.1f%% restored byte-identical%s.", victim, lose, count, 100.0 * lose / count,
        lookups, outcome[0], outcome[1], 100.0 * identical / count, back < 0
            ? " (not all back within " + repairMax / 1000 + " s)" : ""));
    if (c.getBoolean("wipe")) {
      net.stop(victim);
      wipe(net.dataDir(victim));
      net.restart(victim, List.of(other(net, victim, r)));
      long tWipe = net.millis();
      long restored = ctx.waitFor(() -> {
        JsonNode s = repair(net, victim);
        return s != null && !s.path("restoring").asBoolean()
            && s.at("/fragments/PRESENT").asLong() >= count;
      }, repairMax, "restoring");
      int again = identical(ctx, victim, mine);
      ctx.report().put("wipe and restore", Report.row("own fragments", count,
          "restored byte-identical", again, "share restored", again / (double) count,
          "time to restore ms", restored < 0 ? -1 : net.millis() - tWipe));
      ctx.report().finding(String.format(Locale.ROOT, "After losing its whole data directory "
          + "but its identity key the node restored %.1f%% of its fragments byte-identical "
          + "from its holders%s.", 100.0 * again / count, restored < 0
              ? " (not complete within " + repairMax / 1000 + " s)" : ""));
    }
    ctx.report().put("fragments by state", states);
    double[] x = series.stream().mapToDouble(v -> v[0]).toArray();
    ctx.report().plot(new Plot("fragments-by-state.png", "Fragments of real node " + victim
        + " by state", "seconds since the restart after the loss", "fragments", false, false,
        List.of(new Plot.Series("PRESENT", x, series.stream().mapToDouble(v -> v[1])
                .toArray(), true),
            new Plot.Series("BLANK", x, series.stream().mapToDouble(v -> v[2]).toArray(),
                true),
            new Plot.Series("LOST", x, series.stream().mapToDouble(v -> v[3]).toArray(),
                true))));
    ctx.traffic("");
  }

  private static boolean replicatedOn(RealNetwork net, int owner, int holders, int count) {
    JsonNode s = repair(net, owner);
    return s != null && s.path("holders").size() >= holders
        && s.path("stream_backlog").asLong() == 0 && s.path("queue").asLong() == 0
        && s.at("/fragments/PRESENT").asLong() == count;
  }

  private static JsonNode repair(RealNetwork net, int i) {
    try {
      return net.answers(i) ? net.api(i).get("/v1/repair") : null;
    } catch (CliException e) {
      return null;
    }
  }

  private static int other(RealNetwork net, int self, SplittableRandom r) {
    int[] up = net.up().stream().filter(i -> i != self && net.answers(i)).toArray();
    return up[r.nextInt(up.length)];
  }

  /**
   * Flips one bit in the middle of every copy of each lost fragment's text in the store file:
   * the damage bit rot does, found only by the hash check. Returns the fragments damaged.
   */
  static int flip(Path file, List<String> lost, Map<String, String> texts) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      int damaged = 0;
      for (String id : lost) {
        byte[] needle = texts.get(id).getBytes(StandardCharsets.UTF_8);
        boolean any = false;
        for (int at = indexOf(bytes, needle, 0); at >= 0; at = indexOf(bytes, needle, at + 1)) {
          bytes[at + needle.length / 2] ^= 0x01;
          any = true;
        }
        if (any) {
          damaged++;
        }
      }
      Files.write(file, bytes);
      return damaged;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot damage " + file, e);
    }
  }

  private static int indexOf(byte[] hay, byte[] needle, int from) {
    outer:
    for (int i = from; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** Deletes everything in a node's data directory but its identity key and its log. */
  static void wipe(Path dir) {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path p : files) {
        String name = p.getFileName().toString();
        if (name.equals("identity.key") || name.equals("node.log")) {
          continue;
        }
        deleteTree(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot wipe " + dir, e);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p)) {
      try (DirectoryStream<Path> inner = Files.newDirectoryStream(p)) {
        for (Path q : inner) {
          deleteTree(q);
        }
      }
    }
    Files.delete(p);
  }

  /**
   * Runs the lookups through the search API, spread over the window: each asks for the text of
   * a random fragment of the node, while the node's counts are sampled every poll. Returns
   * failures (an error answer or none), hits flagged
   * BLANK or LOST, and hits present with the text they were written with.
   */
  private static int[] lookups(RealContext ctx, int node, Map<String, String> texts,
      List<String> ids, int lookups, long window, SplittableRandom r,
      java.util.function.BooleanSupplier sample) {
    int[] out = new int[3];
    long start = ctx.net().millis();
    long poll = ctx.config().getLong("real.poll-ms");
    long nextSample = start + poll;
    for (int q = 0; q < lookups; q++) {
      if (ctx.net().millis() >= nextSample) {
        sample.getAsBoolean();
        nextSample = ctx.net().millis() + poll;
      }
      long due = start + window * q / Math.max(1, lookups);
      long wait = due - ctx.net().millis();
      if (wait > 0) {
        ctx.sleep(wait, "lookups " + q + "/" + lookups);
      }
      String id = ids.get(r.nextInt(ids.size()));
      ObjectNode body = ApiClient.mapper().createObjectNode().put("text", texts.get(id))
          .put("k", 3);
      try {
        ApiClient.Answer a = ctx.net().api(node).postAnyStatus("/v1/search", body);
        if (a.status() != 200) {
          out[0]++;
          continue;
        }
        for (JsonNode h : a.body().path("hits")) {
          String state = h.path("state").asText();
          if (state.equals("BLANK") || state.equals("LOST")) {
            out[1]++;
          } else if (texts.containsKey(h.path("id").asText())
              && texts.get(h.path("id").asText()).equals(h.path("text").asText())) {
            out[2]++;
          }
        }
      } catch (CliException e) {
        out[0]++;
      }
    }
    return out;
  }

  /** Fragments of the node that read PRESENT with exactly the text they were written with. */
  private static int identical(RealContext ctx, int node, Map<String, String> texts) {
    int same = 0;
    for (Map.Entry<String, String> e : texts.entrySet()) {
      JsonNode f = ctx.get(node, e.getKey());
      if (f != null && "PRESENT".equals(f.path("state").asText())
          && e.getValue().equals(f.path("text").asText())) {
        same++;
      }
    }
    return same;
  }
}
