package dev.mycelium.sim.scenario;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.Plumtree;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.overlay.replica.Manifest;
import dev.mycelium.sim.engine.OverlaySim;
import dev.mycelium.sim.engine.SimCrypto;
import dev.mycelium.sim.report.Report;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Dead;
import dev.mycelium.wire.proto.DigestIds;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ForwardJoin;
import dev.mycelium.wire.proto.Gossip;
import dev.mycelium.wire.proto.Join;
import dev.mycelium.wire.proto.ManifestUpdate;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.RestoreOffer;
import dev.mycelium.wire.proto.Shuffle;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.Suspect;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code adversary}: a share of the nodes is hostile. They join like anyone, run the same
 * node core and answer probes, but lie by script:
 * <ul>
 *   <li><b>eclipse</b>: Sybils aim at a few honest targets (the network's first node, whose
 *       links are all inbound, and random others): they Join it again whenever they are not in
 *       its view, walk other Sybils into it with ForwardJoin at TTL 0, shuffle only Sybil
 *       addresses into its passive view, and never let it drop them (their Disconnects to it
 *       are swallowed).
 *   <li><b>forged-suspicion</b>: every period each tells each honest neighbour that each of that
 *       neighbour's other honest neighbours is Suspect and Dead, and that the receiver itself is
 *       suspect, at an incarnation of {@code Long.MAX_VALUE}.
 *   <li><b>censorship</b>: relays never pass on an honest broadcast nor announce one (IHave);
 *       instead they send their own message under the honest message's ID, at the highest
 *       priority and a TTL of 255.
 *   <li><b>store-fill</b>: each signs manifests naming 16 honest holders from a small pool of
 *       victims and pushes replicas to them (plus one oversized replica per put), sends honest
 *       neighbours DigestIds naming made-up IDs as their own, sends owners it holds for
 *       made-up IDs of theirs (the same ones from every liar, to collude during a restore), and
 *       claims a million held replicas in every RestoreOffer.
 * </ul>
 * Honest nodes write fragments with replication on, a few of them lose their disk during the
 * attack and restore, and honest nodes broadcast. Measured per run: reach of honest
 * broadcasts among honest nodes (min and mean), honest nodes eclipsed (no honest active
 * neighbour), false suspicions and deaths of honest nodes, honest fragments lost, bytes honest
 * nodes sent and the state peers made them hold.
 */
final class AdversaryScenario implements Scenario {
  /** The scripted attacks, in report order. */
  static final List<String> ATTACKS =
      List.of("eclipse", "forged-suspicion", "censorship", "store-fill");

  @Override
  public void run(ScenarioContext ctx) {
    var c = ctx.config().getConfig("adversary");
    double share = c.getDouble("malicious");
    if (share < 0 || share >= 0.5) {
      throw new IllegalArgumentException("adversary.malicious must be in [0, 0.5), got " + share);
    }
    String attack = c.getString("attack");
    List<String> runs = new ArrayList<>();
    switch (attack) {
      case "each" -> {
        runs.add("none");
        runs.addAll(ATTACKS);
        runs.add("all");
      }
      case "none", "all" -> runs.add(attack);
      default -> {
        if (!ATTACKS.contains(attack)) {
          throw new IllegalArgumentException("adversary.attack must be one of none, "
              + String.join(", ", ATTACKS) + ", all, each; got " + attack);
        }
        runs.add(attack);
      }
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String r : runs) {
      Map<String, Object> row = new Run(ctx, c, r, share).go();
      rows.add(row);
      ctx.report().finding(finding(row));
    }
    ctx.report().put("attacks", rows);
  }

  private static String finding(Map<String, Object> r) {
    double min = (Double) r.get("reach min");
    int eclipsed = (Integer) r.get("eclipsed max");
    int deaths = (Integer) r.get("false deaths");
    int lost = (Integer) r.get("fragments lost");
    boolean met = min >= 0.99 && eclipsed == 0 && deaths == 0 && lost == 0;
    return String.format(Locale.ROOT, "%s with %.0f%% malicious: honest broadcast reach min "
        + "%.2f%% mean %.2f%%; %d honest nodes eclipsed at worst; %d false suspicions, %d "
        + "false deaths; %d of %d honest fragments lost; honest nodes sent %,.0f bytes/s on "
        + "average (targets: %s).", r.get("attack"), 100 * (Double) r.get("malicious share"),
        100 * min, 100 * (Double) r.get("reach mean"), eclipsed, r.get("false suspicions"),
        deaths, lost, r.get("honest fragments"), r.get("honest bytes/s per node, mean"),
        met ? "met" : "missed");
  }

  /** One simulation under one attack (or all of them, or none). */
  private static final class Run {
    final ScenarioContext ctx;
    final com.typesafe.config.Config c;
    final String name;
    final double share;
    final Set<String> on;
    OverlaySim sim;
    Metrics metrics;
    boolean[] evil;
    final List<Integer> bad = new ArrayList<>();
    final List<Integer> good = new ArrayList<>();
    final List<Integer> targets = new ArrayList<>();
    final List<Integer> victims = new ArrayList<>();
    SplittableRandom rnd;
    long lies;
    int round;

    Run(ScenarioContext ctx, com.typesafe.config.Config c, String name, double share) {
      this.ctx = ctx;
      this.c = c;
      this.name = name;
      this.share = share;
      this.on = name.equals("all") ? Set.copyOf(ATTACKS)
          : name.equals("none") ? Set.of() : Set.of(name);
    }

    Map<String, Object> go() {
      int factor = c.getInt("replication-factor");
      int perNode = c.getInt("fragments-per-node");
      int textBytes = c.getInt("text-bytes");
      long replicateMs = c.getLong("replicate-ms");
      long attackMs = c.getLong("attack-ms");
      long period = c.getLong("period-ms");
      long settle = c.getLong("settle-ms");
      long sampleMs = c.getLong("sample-ms");
      int broadcasts = c.getInt("broadcasts");
      long horizon = c.getLong("broadcast-horizon-ms");
      int wipes = c.getInt("wipes");
      if (period < 1 || sampleMs < 1 || broadcasts < 1 || attackMs < horizon + 10_000) {
        throw new IllegalArgumentException("adversary needs period-ms >= 1, sample-ms >= 1, "
            + "broadcasts >= 1 and attack-ms >= broadcast-horizon-ms + 10 s");
      }
      sim = ctx.newReplicatingSim(factor);
      metrics = new Metrics(sim);
      int n = sim.size();
      evil = new boolean[n];
      // The same liars in every run of one seed; node 0, the first seed, is honest.
      List<Integer> order = new ArrayList<>();
      for (int i = 1; i < n; i++) {
        order.add(i);
      }
      Collections.shuffle(order, new java.util.Random(ctx.random("malicious").nextLong()));
      int count = (int) Math.round(share * n);
      for (int k = 0; k < count; k++) {
        evil[order.get(k)] = true;
      }
      for (int i = 0; i < n; i++) {
        (evil[i] ? bad : good).add(i);
      }
      rnd = ctx.random("adversary " + name);
      SplittableRandom choose = ctx.random("targets");
      targets.add(0);
      while (targets.size() < Math.min(c.getInt("eclipse-targets"), good.size())) {
        int t = good.get(choose.nextInt(good.size()));
        if (!targets.contains(t)) {
          targets.add(t);
        }
      }
      List<Integer> pool = new ArrayList<>(good);
      pool.removeAll(targets);
      Collections.shuffle(pool, new java.util.Random(choose.nextLong()));
      victims.addAll(pool.subList(0, Math.min(c.getInt("victim-pool"), pool.size())));

      int[] bans = new int[2]; // honest nodes banning honest peers, and banning liars
      sim.listen(new dev.mycelium.sim.engine.SimListener() {
        @Override
        public void onEvent(long time, int node, dev.mycelium.overlay.OverlayEvent e) {
          if (!evil[node] && e instanceof dev.mycelium.overlay.OverlayEvent.Banned b) {
            int p = sim.indexOf(b.peer());
            if (p >= 0) {
              bans[evil[p] ? 1 : 0]++;
            }
          }
        }
      });
      long t0 = ctx.grow(sim);
      // Honest users write; their fragments are what must not be lost.
      Map<Integer, List<Fragment>> written = new LinkedHashMap<>();
      int serial = 0;
      SplittableRandom text = ctx.random("texts");
      for (int i : good) {
        List<Fragment> mine = new ArrayList<>();
        for (int k = 0; k < perNode; k++) {
          Fragment f = Replicas.newFragment(sim, i, serial++, textBytes, text, t0);
          if (sim.put(i, f)) {
            mine.add(f);
          }
        }
        written.put(i, mine);
      }
      long ta = t0 + replicateMs;
      ctx.run(sim, ta, name + ": replicating");

      long[] bytesAtStart = new long[n];
      for (int i = 0; i < n; i++) {
        bytesAtStart[i] = sim.bytesSent(i);
      }
      if (!on.isEmpty()) {
        sim.at(ta, () -> {
          for (int m : bad) {
            sim.intercept(m, this::rewrite);
          }
        });
        if (on.contains("store-fill")) {
          sim.at(ta, this::fillOnce);
        }
        for (long t = ta; t < ta + attackMs; t += period) {
          sim.at(t, this::round);
        }
      }
      // A few honest users lose their disks under attack and restore from their holders.
      List<Integer> wiped = new ArrayList<>();
      List<Integer> wipePool = new ArrayList<>(good);
      wipePool.removeAll(targets);
      wipePool.removeAll(victims);
      Collections.shuffle(wipePool, new java.util.Random(choose.nextLong()));
      for (int k = 0; k < Math.min(wipes, wipePool.size()); k++) {
        wiped.add(wipePool.get(k));
        sim.wipeDisk(wipePool.get(k), ta + 5_000);
      }
      // Honest broadcasts while the attack runs.
      List<String> labels = new ArrayList<>();
      long first = ta + 10_000;
      long span = attackMs - 10_000 - horizon;
      SplittableRandom origins = ctx.random("origins " + name);
      for (int b = 0; b < broadcasts; b++) {
        int origin = good.get(origins.nextInt(good.size()));
        labels.add(ctx.broadcast(sim, metrics, origin, first + span * b / broadcasts,
            "honest"));
      }
      int eclipsedMax = 0;
      int isolatedMax = 0;
      int targetsEclipsed = 0;
      long end = ta + attackMs + settle;
      for (long t = ta; t < end; ) {
        t = Math.min(end, t + sampleMs);
        ctx.run(sim, t, name + ": attack");
        int[] e = eclipsed();
        eclipsedMax = Math.max(eclipsedMax, e[0]);
        isolatedMax = Math.max(isolatedMax, e[1]);
        targetsEclipsed = Math.max(targetsEclipsed, e[2]);
      }
      int[] eEnd = eclipsed();

      // Reach among honest nodes.
      double minReach = 1;
      double sumReach = 0;
      for (String l : labels) {
        double r = metrics.reached(l, i -> !evil[i]) / (double) good.size();
        minReach = Math.min(minReach, r);
        sumReach += r;
      }
      // Detector verdicts about honest nodes by honest nodes since the attack began.
      int suspicions = 0;
      int deaths = 0;
      for (Metrics.Verdict v : metrics.suspected) {
        if (v.time() >= ta && !evil[v.node()] && v.peer() >= 0 && !evil[v.peer()]) {
          suspicions++;
        }
      }
      for (Metrics.Verdict v : metrics.dead) {
        if (v.time() >= ta && !evil[v.node()] && v.peer() >= 0 && !evil[v.peer()]) {
          deaths++;
        }
      }
      // Honest fragments: intact at the owner, and copies on honest holders.
      Map<FragmentId, Integer> honestCopies = new HashMap<>();
      for (List<Fragment> fs : written.values()) {
        for (Fragment f : fs) {
          honestCopies.put(f.id(), 0);
        }
      }
      for (int h : good) {
        InMemoryHeldReplicas held = sim.held(h);
        if (held == null) {
          continue;
        }
        for (NodeId owner : held.owners()) {
          held.forEach(owner, (id, deleted) -> {
            if (!deleted) {
              honestCopies.computeIfPresent(id, (k, v) -> v + 1);
            }
          });
        }
      }
      int fragments = 0;
      int notIntact = 0;
      int lost = 0;
      int noHonestCopy = 0;
      int fake = 0;
      int fakeMax = 0;
      for (Map.Entry<Integer, List<Fragment>> e : written.entrySet()) {
        InMemoryFragmentStore store = sim.store(e.getKey());
        Set<FragmentId> mine = new HashSet<>();
        for (Fragment f : e.getValue()) {
          fragments++;
          mine.add(f.id());
          boolean intact = store != null && store.keptBytesForTest(f.id())
              .map(b -> b.equals(f.signed())).orElse(false);
          int copies = honestCopies.getOrDefault(f.id(), 0);
          if (!intact) {
            notIntact++;
          }
          if (copies == 0) {
            noHonestCopy++;
          }
          if (!intact && copies == 0) {
            lost++;
          }
        }
        if (store != null) {
          int[] extra = {0};
          store.forEachId(id -> {
            if (!mine.contains(id)) {
              extra[0]++;
            }
          });
          fake += extra[0];
          fakeMax = Math.max(fakeMax, extra[0]);
        }
      }
      // What honest nodes spent: bytes sent during the attack, state peers made them hold.
      double seconds = (end - ta) / 1000.0;
      double sumBytes = 0;
      double maxBytes = 0;
      long heldMax = 0;
      long heldSum = 0;
      long broadcastMax = 0;
      int heldOwnersMax = 0;
      for (int h : good) {
        double b = (sim.bytesSent(h) - bytesAtStart[h]) / seconds;
        sumBytes += b;
        maxBytes = Math.max(maxBytes, b);
        InMemoryHeldReplicas held = sim.held(h);
        long bytes = 0;
        if (held != null) {
          heldOwnersMax = Math.max(heldOwnersMax, held.owners().size());
          for (NodeId owner : held.owners()) {
            long[] sum = {0};
            held.forEach(owner, (id, deleted) -> sum[0] += held.replica(id)
                .map(SignedReplica::getSerializedSize).orElse(0));
            bytes += sum[0];
          }
        }
        heldMax = Math.max(heldMax, bytes);
        heldSum += bytes;
        var core = sim.core(h);
        if (core != null) {
          broadcastMax = Math.max(broadcastMax,
              core.broadcaster().cachedBytes() + core.broadcaster().queuedBytes());
        }
      }
      // Honest peers that honest nodes hold a grudge against (score below zero) at the end.
      int grudges = 0;
      long now = sim.now();
      for (int h : good) {
        var core = sim.core(h);
        if (core == null) {
          continue;
        }
        for (int p : good) {
          if (p != h && core.scores().score(now, sim.id(p)) < 0) {
            grudges++;
          }
        }
      }
      int restored = 0;
      for (int w : wiped) {
        InMemoryFragmentStore store = sim.store(w);
        boolean all = store != null;
        for (Fragment f : written.get(w)) {
          all &= store != null && store.keptBytesForTest(f.id())
              .map(b -> b.equals(f.signed())).orElse(false);
        }
        restored += all ? 1 : 0;
      }
      return Report.row(
          "attack", name,
          "malicious share", share,
          "malicious nodes", bad.size(),
          "honest nodes", good.size(),
          "scripted lies", lies,
          "honest broadcasts", labels.size(),
          "reach min", minReach,
          "reach mean", sumReach / labels.size(),
          "eclipsed max", eclipsedMax,
          "eclipsed at end", eEnd[0],
          "isolated max", isolatedMax,
          "targets eclipsed max", targetsEclipsed,
          "eclipse targets", on.contains("eclipse") ? targets.size() : 0,
          "false suspicions", suspicions,
          "false deaths", deaths,
          "honest fragments", fragments,
          "fragments not intact at owner", notIntact,
          "fragments without honest copy", noHonestCopy,
          "fragments lost", lost,
          "wiped owners", wiped.size(),
          "wiped owners restored", restored,
          "fake store entries", fake,
          "fake store entries max per node", fakeMax,
          "honest bytes/s per node, mean", sumBytes / good.size(),
          "honest bytes/s per node, max", maxBytes,
          "held replica bytes per honest node, mean", heldSum / (double) good.size(),
          "held replica bytes per honest node, max", heldMax,
          "held owners per honest node, max", heldOwnersMax,
          "broadcast cache and queue bytes per honest node, max", broadcastMax,
          "honest peers banned by honest nodes", bans[0],
          "liars banned by honest nodes", bans[1],
          "honest peers with a negative score at an honest node", grudges);
    }

    /** Honest nodes without an honest active neighbour; of them, isolated; targets among them. */
    int[] eclipsed() {
      int eclipsed = 0;
      int isolated = 0;
      int targetsHit = 0;
      for (int h : good) {
        int[] view = sim.activeView(h);
        boolean honestLink = false;
        for (int p : view) {
          honestLink |= p >= 0 && !evil[p];
        }
        if (!honestLink) {
          eclipsed++;
          isolated += view.length == 0 ? 1 : 0;
          targetsHit += targets.contains(h) ? 1 : 0;
        }
      }
      return new int[] {eclipsed, isolated, targetsHit};
    }

    private void send(int from, int to, Envelope e) {
      if (sim.sendFrom(from, sim.id(to), e)) {
        lies++;
      }
    }

    /** One period of every scripted attack that is on. */
    void round() {
      round++;
      if (on.contains("eclipse")) {
        eclipseRound();
      }
      if (on.contains("forged-suspicion")) {
        suspicionRound();
      }
      if (on.contains("store-fill") && round % 5 == 1) {
        fillRound();
      }
    }

    // ---- eclipse ----

    void eclipseRound() {
      for (int k = 0; k < bad.size(); k++) {
        int m = bad.get(k);
        int target = targets.get(k % targets.size());
        if (!sim.isLive(m) || !sim.isLive(target) || sim.core(target) == null) {
          continue;
        }
        boolean in = sim.core(target).views().isActive(sim.id(m));
        if (!in) {
          send(m, target, Envelope.newBuilder().setJoin(Join.newBuilder()
              .setJoiner(sim.address(m).toProto())).build());
          continue;
        }
        int other = bad.get(rnd.nextInt(bad.size()));
        if (other != m) {
          send(m, target, Envelope.newBuilder().setForwardJoin(ForwardJoin.newBuilder()
              .setJoiner(sim.address(other).toProto()).setTtl(0)).build());
        }
        Shuffle.Builder s = Shuffle.newBuilder().setOrigin(sim.address(m).toProto()).setTtl(0);
        s.addPeers(sim.address(m).toProto());
        for (int j = 0; j < 6; j++) {
          s.addPeers(sim.address(bad.get(rnd.nextInt(bad.size()))).toProto());
        }
        send(m, target, Envelope.newBuilder().setShuffle(s).build());
      }
    }

    // ---- forged suspicion ----

    void suspicionRound() {
      for (int m : bad) {
        if (!sim.isLive(m)) {
          continue;
        }
        for (int h : sim.activeView(m)) {
          if (h < 0 || evil[h]) {
            continue;
          }
          send(m, h, suspect(h));
          for (int x : sim.activeView(h)) {
            if (x < 0 || evil[x]) {
              continue;
            }
            send(m, h, suspect(x));
            send(m, h, Envelope.newBuilder().setDead(Dead.newBuilder()
                .setNodeId(ByteString.copyFrom(sim.id(x).toBytes()))
                .setIncarnation(Long.MAX_VALUE)).build());
          }
        }
      }
    }

    private Envelope suspect(int x) {
      return Envelope.newBuilder().setSuspect(Suspect.newBuilder()
          .setNodeId(ByteString.copyFrom(sim.id(x).toBytes()))
          .setIncarnation(Long.MAX_VALUE)).build();
    }

    // ---- censorship (and the parts of the other attacks that rewrite what a liar sends) ----

    List<Envelope> rewrite(int from, NodeId to, Envelope env) {
      if (on.contains("eclipse") && env.hasDisconnect() && isTarget(to)) {
        return List.of(); // a Sybil never lets go of its target
      }
      if (on.contains("store-fill") && env.hasRestoreOffer()) {
        RestoreOffer o = env.getRestoreOffer().toBuilder().setHeld(1_000_000).build();
        return List.of(Envelope.newBuilder().setRestoreOffer(o).build());
      }
      if (on.contains("censorship")) {
        if (env.hasIhave()) {
          return List.of();
        }
        if (env.hasGossip()) {
          Gossip g = env.getGossip();
          int origin = sim.indexOf(NodeId.of(g.getOrigin().toByteArray()));
          if (origin >= 0 && !evil[origin]) {
            return List.of(hijack(from, g));
          }
        }
      }
      return List.of(env);
    }

    private boolean isTarget(NodeId id) {
      int i = sim.indexOf(id);
      return i >= 0 && targets.contains(i);
    }

    /** The liar's own message under the honest message's ID, highest priority, TTL 255. */
    private Envelope hijack(int from, Gossip g) {
      NodeId self = sim.id(from);
      ByteString payload = ByteString.copyFromUtf8("hijack by " + from);
      int ttl = 255;
      int priority = 255;
      byte[] sig = SimCrypto.tag(self, Plumtree.signedBytes(g.getId(), priority, ttl,
          g.getTopic(), payload));
      lies++;
      return Envelope.newBuilder().setGossip(g.toBuilder()
          .setOrigin(ByteString.copyFrom(self.toBytes())).setSignature(ByteString.copyFrom(sig))
          .setTtl(ttl).setMaxTtl(ttl).setPriority(priority).setPayload(payload)).build();
    }

    // ---- store fill ----

    private final Map<Integer, Manifest> fakeManifests = new HashMap<>();
    private static final ByteString OVERSIZED = ByteString.copyFrom(new byte[300 * 1024]);

    /** Manifests naming honest holders, and a put of real replicas plus an oversized one. */
    void fillOnce() {
      int perLiar = c.getInt("fill-replicas");
      for (int m : bad) {
        if (!sim.isLive(m)) {
          continue;
        }
        List<PeerAddress> holders = new ArrayList<>();
        List<Integer> pool = new ArrayList<>(victims);
        Collections.shuffle(pool, new java.util.Random(rnd.nextLong()));
        for (int v : pool.subList(0, Math.min(Manifest.MAX_HOLDERS, pool.size()))) {
          holders.add(sim.address(v));
        }
        Manifest fake = Manifest.sign(sim.keys(m), 1L << 40, holders, holders.size());
        fakeManifests.put(m, fake);
        ReplicaPut.Builder put = ReplicaPut.newBuilder().setManifest(fake.signed())
            .setRequestId(rnd.nextLong());
        for (int k = 0; k < perLiar; k++) {
          Fragment f = Replicas.newFragment(sim, m, 1_000_000 + k, 256, rnd, sim.now());
          put.addReplicas(ReplicaCodec.shared(sim.keys(m), f.signed()));
        }
        put.addReplicas(SignedReplica.newBuilder().setBody(OVERSIZED)
            .setSignature(ByteString.copyFrom(new byte[64])));
        Envelope e = Envelope.newBuilder().setReplicaPut(put).build();
        for (PeerAddress h : holders) {
          send(m, sim.indexOf(h.id()), e);
        }
      }
    }

    void fillRound() {
      int ids = c.getInt("digest-ids");
      byte[] block = new byte[ids * FragmentId.LENGTH];
      rnd.nextBytes(block);
      ByteString made = ByteString.copyFrom(block);
      for (int m : bad) {
        if (!sim.isLive(m)) {
          continue;
        }
        Manifest fake = fakeManifests.get(m);
        if (fake != null) {
          Envelope update = Envelope.newBuilder().setManifestUpdate(ManifestUpdate.newBuilder()
              .setManifest(fake.signed())).build();
          Envelope big = Envelope.newBuilder().setReplicaPut(ReplicaPut.newBuilder()
              .setManifest(fake.signed()).setRequestId(rnd.nextLong())
              .addReplicas(SignedReplica.newBuilder().setBody(OVERSIZED)
                  .setSignature(ByteString.copyFrom(new byte[64])))).build();
          for (NodeId h : fake.holderIds()) {
            send(m, sim.indexOf(h), update);
            send(m, sim.indexOf(h), big);
          }
        }
        // Made-up IDs named as the receiver's own.
        for (int h : sim.activeView(m)) {
          if (h >= 0 && !evil[h]) {
            send(m, h, Envelope.newBuilder().setDigestIds(DigestIds.newBuilder()
                .setOwnerId(ByteString.copyFrom(sim.id(h).toBytes())).setLiveIds(made))
                .build());
          }
        }
        // Made-up IDs of owners this liar holds for, the same from every liar: two liars
        // among an owner's holders vouch for each other's fakes during its restore.
        InMemoryHeldReplicas held = sim.held(m);
        if (held != null) {
          for (NodeId owner : held.owners()) {
            int o = sim.indexOf(owner);
            if (o >= 0 && !evil[o]) {
              send(m, o, Envelope.newBuilder().setDigestIds(DigestIds.newBuilder()
                  .setOwnerId(ByteString.copyFrom(owner.toBytes())).setLiveIds(fakeIds(owner)))
                  .build());
            }
          }
        }
      }
    }

    private final Map<NodeId, ByteString> fakeIdsOf = new HashMap<>();

    private ByteString fakeIds(NodeId owner) {
      return fakeIdsOf.computeIfAbsent(owner, o -> {
        ByteBuffer b = ByteBuffer.allocate(256 * FragmentId.LENGTH);
        for (int k = 0; k < 256; k++) {
          b.put(sha256(o.toBytes(), k));
        }
        return ByteString.copyFrom(b.array());
      });
    }

    private static byte[] sha256(byte[] a, int k) {
      try {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        d.update(a);
        return d.digest(ByteBuffer.allocate(4).putInt(k).array());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }
  }
}
