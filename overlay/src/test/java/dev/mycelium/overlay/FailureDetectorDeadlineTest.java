package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Ack;
import dev.mycelium.wire.proto.Alive;
import dev.mycelium.wire.proto.Nack;
import dev.mycelium.wire.proto.PingReq;
import dev.mycelium.wire.proto.Suspect;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The failure detector's {@link FailureDetector#nextDeadline()}: drivers wake a node only
 * then, so a deadline that is late loses a probe or a suspicion timeout, and one that is
 * early only costs a wake-up.
 */
class FailureDetectorDeadlineTest {
  private final OverlayConfig config = OverlayConfig.test();
  private final NodeId self = TestCrypto.id(1);

  private static PeerAddress peer(int n) {
    return new PeerAddress(TestCrypto.id(n), "h" + n, 7000 + n);
  }

  private static List<NodeId> pinged(Outbox out) {
    List<NodeId> to = new ArrayList<>();
    for (Effect e : out.effects()) {
      if (e instanceof Effect.Send s && s.envelope().hasPing()) {
        to.add(s.to());
      }
    }
    return to;
  }

  @Test
  void everyWatchedPeerIsProbedInOneRoundAtTheDeadlineAndNotBefore() {
    FailureDetector d = new FailureDetector(config, self, new SplittableRandom(3));
    assertThat(d.nextDeadline()).isEqualTo(Long.MAX_VALUE);
    d.watch(0, peer(2));
    long round = d.nextDeadline();
    assertThat(round).isBetween(1L, config.probeIntervalMillis());
    d.watch(round - 1, peer(3));
    d.watch(round - 1, peer(4));
    assertThat(d.nextDeadline()).isEqualTo(round);

    Outbox early = new Outbox();
    d.tick(round - 1, early);
    assertThat(early.effects()).isEmpty();
    Outbox due = new Outbox();
    d.tick(round, due);
    assertThat(pinged(due)).containsExactlyInAnyOrder(peer(2).id(), peer(3).id(), peer(4).id());
    // Waiting on the Acks now: the direct timeout is the next thing due.
    assertThat(d.nextDeadline()).isEqualTo(round + config.probeTimeoutMillis());
  }

  @Test
  void aPeerWatchedAtTheInstantOfARoundWaitsForTheNextRound() {
    FailureDetector d = new FailureDetector(config, self, new SplittableRandom(3));
    d.watch(0, peer(2));
    long round = d.nextDeadline();
    d.watch(round, peer(3));
    Outbox out = new Outbox();
    d.tick(round, out);
    assertThat(pinged(out)).containsExactly(peer(2).id());
  }

  /**
   * Random inputs at random times, as a network would bring them: at every step, a tick
   * before the deadline does nothing, and a tick at the deadline does something (sends, or
   * moves the deadline). Fails if any handler sets a timer without the deadline seeing it.
   */
  @Test
  void aTickBeforeTheDeadlineDoesNothingAndOneAtItDoesSomething() {
    for (int seed = 0; seed < 200; seed++) {
      SplittableRandom r = new SplittableRandom(seed);
      FailureDetector d = new FailureDetector(config, self, new SplittableRandom(seed));
      List<long[]> unanswered = new ArrayList<>();
      long now = 0;
      for (int step = 0; step < 300; step++) {
        long deadline = d.nextDeadline();
        long next = now + r.nextLong(1, 400);
        if (deadline <= next) {
          if (deadline > now) {
            Outbox early = new Outbox();
            d.tick(deadline - 1, early);
            assertThat(early.effects()).as("seed %d step %d: tick before the deadline", seed,
                step).isEmpty();
            assertThat(d.nextDeadline()).isEqualTo(deadline);
          }
          now = Math.max(now, deadline);
          Outbox out = new Outbox();
          d.tick(now, out);
          assertThat(!out.effects().isEmpty() || d.nextDeadline() != deadline)
              .as("seed %d step %d: the tick at the deadline %d had work", seed, step, deadline)
              .isTrue();
          assertThat(d.nextDeadline()).isGreaterThan(now);
          record(out, unanswered);
          continue;
        }
        now = next;
        Outbox out = new Outbox();
        NodeId from = peer(2 + r.nextInt(6)).id();
        switch (r.nextInt(8)) {
          case 0, 1 -> d.watch(now, peer(2 + r.nextInt(6)));
          case 2 -> d.unwatch(from);
          case 3, 4 -> {
            if (!unanswered.isEmpty()) {
              long[] p = unanswered.remove(r.nextInt(unanswered.size()));
              d.onAck(now, TestCrypto.id((int) p[1]), Ack.newBuilder().setSeq((int) p[0])
                  .build(), out);
            }
          }
          case 5 -> d.onSuspect(now, from, Suspect.newBuilder()
              .setNodeId(ByteString.copyFrom(peer(2 + r.nextInt(6)).id().toBytes()))
              .setIncarnation(0).build(), out);
          case 6 -> d.onPingReq(now, from, PingReq.newBuilder().setSeq(r.nextInt(100))
              .setTarget(peer(2 + r.nextInt(6)).toProto()).build(), out);
          default -> {
            if (r.nextBoolean()) {
              d.onNack(from, Nack.newBuilder().setSeq(r.nextInt(20)).build());
            } else {
              d.onAlive(from, Alive.newBuilder().setNodeId(ByteString.copyFrom(from.toBytes()))
                  .setIncarnation(r.nextInt(3)).build(), out);
            }
          }
        }
        record(out, unanswered);
      }
    }
  }

  /** Remembers the pings sent, as {sequence, peer number}, so that some can be answered. */
  private static void record(Outbox out, List<long[]> unanswered) {
    for (Effect e : out.effects()) {
      if (e instanceof Effect.Send s && s.envelope().hasPing()) {
        for (int n = 2; n < 8; n++) {
          if (TestCrypto.id(n).equals(s.to())) {
            unanswered.add(new long[] {s.envelope().getPing().getSeq(), n});
          }
        }
      }
    }
  }
}
