package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.overlay.OverlayConfig;
import dev.mycelium.overlay.OverlayEvent;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Dead;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Suspect;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A forged-suspicion campaign on 100 simulated nodes: a tenth of them, otherwise well-behaved
 * members of the overlay, tell each honest neighbour every second that each of its other
 * neighbours is suspect and dead, at an incarnation of {@code Long.MAX_VALUE}. Honest nodes
 * must not suspect, kill or penalize one another because of it.
 */
class ForgedSuspicionTest {
  private static final int NODES = 100;
  private static final int ADVERSARIES = 10;
  private static final long CAMPAIGN_MILLIS = 60_000;

  record Outcome(int falseSuspicions, int falseDeaths, int forgedMessages) {}

  static Outcome campaign(long seed, boolean attack) {
    Recorder rec = new Recorder();
    OverlaySim sim = new OverlaySim(seed, NODES, OverlayConfig.lan(), new NetworkModel());
    sim.listen(rec);
    sim.growAll(0, 20);
    long start = NODES * 20L + 10_000;
    sim.runUntil(start);
    int[] forged = {0};
    if (attack) {
      for (long t = start; t < start + CAMPAIGN_MILLIS; t += 1_000) {
        sim.at(t, s -> {
          for (int a = 0; a < ADVERSARIES; a++) {
            if (!s.isLive(a)) {
              continue;
            }
            for (int h : s.activeView(a)) {
              if (h < ADVERSARIES) {
                continue;
              }
              for (int x : s.activeView(h)) {
                if (x < ADVERSARIES) {
                  continue;
                }
                ByteString victim = ByteString.copyFrom(s.id(x).toBytes());
                s.inject(s.id(a), h, s.now() + 1, Envelope.newBuilder().setSuspect(
                    Suspect.newBuilder().setNodeId(victim).setIncarnation(Long.MAX_VALUE))
                    .build());
                s.inject(s.id(a), h, s.now() + 2, Envelope.newBuilder().setDead(
                    Dead.newBuilder().setNodeId(victim).setIncarnation(Long.MAX_VALUE)).build());
                forged[0] += 2;
              }
            }
          }
        });
      }
    }
    sim.runUntil(start + CAMPAIGN_MILLIS + 30_000);
    Set<NodeId> honest = new HashSet<>();
    for (int i = ADVERSARIES; i < NODES; i++) {
      honest.add(sim.id(i));
    }
    int suspicions = 0;
    int deaths = 0;
    for (Recorder.Seen s : rec.events) {
      if (s.time() < start || s.node() < ADVERSARIES) {
        continue;
      }
      if (s.event() instanceof OverlayEvent.Suspected x && honest.contains(x.peer())) {
        suspicions++;
      }
      if (s.event() instanceof OverlayEvent.Dead x && honest.contains(x.peer())) {
        deaths++;
      }
    }
    return new Outcome(suspicions, deaths, forged[0]);
  }

  @Test
  void forgedSuspicionsCauseNoFalseSuspicionOrDeath() {
    Outcome quiet = campaign(41, false);
    Outcome attacked = campaign(41, true);
    System.out.printf("forged suspicion, %d nodes, %d adversaries, %d s: %d forged messages;"
        + " honest suspected %d (without attack %d), honest declared dead %d (without %d)%n",
        NODES, ADVERSARIES, CAMPAIGN_MILLIS / 1000, attacked.forgedMessages(),
        attacked.falseSuspicions(), quiet.falseSuspicions(), attacked.falseDeaths(),
        quiet.falseDeaths());
    assertThat(attacked.forgedMessages()).isGreaterThan(1_000);
    assertThat(attacked.falseSuspicions()).isEqualTo(quiet.falseSuspicions()).isZero();
    assertThat(attacked.falseDeaths()).isZero();
  }
}
