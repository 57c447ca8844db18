package dev.mycelium.sim.real;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.sim.scenario.Cluster;
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
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SplittableRandom;

/**
 * The stores of real replicating nodes, through their HTTP API: private fragments, sealed
 * before they leave their owner, so a holder's copy cannot be read and placement is judged by
 * each owner's {@code GET /v1/repair}, which also gives the counts by state and the repairs.
 * Loss is real damage in a stopped node's Chronicle file, and a wipe deletes a data directory.
 */
final class RealReplication implements Cluster.Replication {
  private final RealContext ctx;
  private final RealNetwork net;
  private final RealCluster cluster;
  private final int factor;
  private final List<String> ids = new ArrayList<>();
  private final List<String> texts = new ArrayList<>();
  private final List<Integer> owners = new ArrayList<>();
  private final SplittableRandom rejoin;

  RealReplication(RealContext ctx, RealCluster cluster, int factor) {
    this.ctx = ctx;
    this.net = ctx.net();
    this.cluster = cluster;
    this.factor = factor;
    this.rejoin = ctx.random("restart after loss");
  }

  @Override
  public boolean sealed() {
    return true;
  }

  /** The text comes from the run's own text streams; {@code random} is not drawn from. */
  @Override
  public int write(int owner, int textBytes, SplittableRandom random) {
    String text = ctx.text("fragment of " + owner, textBytes);
    ids.add(ctx.put(owner, text, false));
    texts.add(text);
    owners.add(owner);
    return ids.size() - 1;
  }

  /**
   * Waits until every owner's manifest lists R holders (fewer on a network too small for R)
   * and it has nothing left to stream or repair, then lets {@code real.settle-ms} pass so that
   * anti-entropy has compared digests once with every holder before any loss.
   */
  @Override
  public Cluster.Placement awaitPlaced(long timeoutMillis) {
    int wanted = Math.min(factor, net.size() - 1);
    int[] fewest = {0};
    long took = cluster.waitFor(() -> {
      fewest[0] = Integer.MAX_VALUE;
      for (int owner : owners.stream().distinct().toList()) {
        JsonNode s = repairStatus(owner);
        if (s == null) {
          return false;
        }
        fewest[0] = Math.min(fewest[0], s.path("holders").size());
        if (s.path("holders").size() < wanted || s.path("stream_backlog").asLong() != 0
            || s.path("queue").asLong() != 0
            || s.at("/fragments/PRESENT").asLong() != own(owner).size()) {
          return false;
        }
      }
      return true;
    }, timeoutMillis, "replicating");
    if (took >= 0) {
      cluster.runUntil(cluster.now() + ctx.config().getLong("real.settle-ms"), "in sync");
    }
    return new Cluster.Placement(took, OptionalInt.empty(), OptionalDouble.empty(),
        fewest[0] == Integer.MAX_VALUE ? OptionalInt.empty() : OptionalInt.of(fewest[0]));
  }

  /** Stops the node, flips the bits, and starts it again through one running node. */
  @Override
  public Cluster.Damage damage(int node, List<Integer> lost) {
    net.stop(node);
    int flipped = flip(net.dataDir(node).resolve("fragments.cm3"),
        lost.stream().map(texts::get).toList());
    net.restart(node, List.of(cluster.randomLive(rejoin)));
    return new Cluster.Damage(0, flipped, String.format(Locale.ROOT, "%d with a bit flipped in "
        + "its Chronicle file while it was stopped", flipped));
  }

  /** A GET of the fragment; the node checks its hash as it reads it. */
  @Override
  public Cluster.Lookup lookup(int node, int fragment) {
    JsonNode f = ctx.get(node, ids.get(fragment));
    if (f == null) {
      return Cluster.Lookup.FAILED;
    }
    String state = f.path("state").asText();
    if (state.equals("BLANK") || state.equals("LOST")) {
      return f.has("text") ? Cluster.Lookup.WRONG : Cluster.Lookup.BLANK;
    }
    return state.equals("PRESENT") && texts.get(fragment).equals(f.path("text").asText())
        ? Cluster.Lookup.INTACT : Cluster.Lookup.WRONG;
  }

  /** A real node's scrubber runs on its own schedule; the API cannot start it. */
  @Override
  public OptionalInt scrub(int node) {
    return OptionalInt.empty();
  }

  @Override
  public Optional<Cluster.Tally> tally(int node) {
    JsonNode s = repairStatus(node);
    if (s == null) {
      return Optional.empty();
    }
    JsonNode f = s.path("fragments");
    return Optional.of(new Cluster.Tally((int) f.path("PRESENT").asLong(),
        (int) f.path("BLANK").asLong(), (int) f.path("LOST").asLong(), OptionalInt.empty()));
  }

  /** The node's counters, which start anew with its process: at the restart after a loss. */
  @Override
  public Cluster.Repairs repairs(int node) {
    JsonNode s = repairStatus(node);
    return s == null ? new Cluster.Repairs(-1, -1, -1) : new Cluster.Repairs(
        s.path("repairs_done").asLong(), s.path("repairs_failed").asLong(),
        s.path("bytes_moved").asLong());
  }

  @Override
  public int identical(int node) {
    int same = 0;
    for (Map.Entry<String, String> e : own(node).entrySet()) {
      JsonNode f = ctx.get(node, e.getKey());
      if (f != null && "PRESENT".equals(f.path("state").asText())
          && e.getValue().equals(f.path("text").asText())) {
        same++;
      }
    }
    return same;
  }

  /** Stops the node, deletes its data directory but the identity key and the log, restarts. */
  @Override
  public String wipe(int node) {
    net.stop(node);
    wipe(net.dataDir(node));
    net.restart(node, List.of(cluster.randomLive(rejoin)));
    return "its whole data directory but its identity key";
  }

  /** The nodes do not export replication bytes apart from other traffic. */
  @Override
  public OptionalLong networkBytes() {
    return OptionalLong.empty();
  }

  private Map<String, String> own(int node) {
    Map<String, String> mine = new LinkedHashMap<>();
    for (int k = 0; k < ids.size(); k++) {
      if (owners.get(k) == node) {
        mine.put(ids.get(k), texts.get(k));
      }
    }
    return mine;
  }

  private JsonNode repairStatus(int i) {
    try {
      return net.answers(i) ? net.api(i).get("/v1/repair") : null;
    } catch (CliException e) {
      return null;
    }
  }

  /**
   * Flips one bit in the middle of every copy of each text in the store file: the damage bit
   * rot does, found only by the hash check. Returns the texts found and damaged.
   */
  private static int flip(Path file, List<String> lost) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      // One char per byte, so String.indexOf finds byte offsets.
      String hay = new String(bytes, StandardCharsets.ISO_8859_1);
      int damaged = 0;
      for (String text : lost) {
        String needle = new String(text.getBytes(StandardCharsets.UTF_8),
            StandardCharsets.ISO_8859_1);
        boolean any = false;
        for (int at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) {
          bytes[at + needle.length() / 2] ^= 0x01;
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

  /** Deletes everything in a node's data directory but its identity key and its log. */
  private static void wipe(Path dir) {
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
}
