package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Ack;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Round-trip times measured from probes, smoothed as RFC 6298 smooths SRTT and RTTVAR. */
class FailureDetectorRttTest {
  private final OverlayConfig config = OverlayConfig.test();
  private final NodeId self = TestCrypto.id(1);
  private final PeerAddress peer = new PeerAddress(TestCrypto.id(2), "h2", 7002);
  private final PeerAddress helper = new PeerAddress(TestCrypto.id(3), "h3", 7003);

  /** Ticks until the detector pings {@code to}; returns the time and sequence number. */
  private long[] nextPing(FailureDetector d, long from, NodeId to) {
    for (long t = from; t < from + 10 * config.probeIntervalMillis(); t += config.tickMillis()) {
      Outbox out = new Outbox();
      d.tick(t, out);
      for (Effect e : out.effects()) {
        if (e instanceof Effect.Send s && s.to().equals(to) && s.envelope().hasPing()) {
          return new long[] {t, s.envelope().getPing().getSeq()};
        }
      }
    }
    throw new AssertionError("no ping to " + to);
  }

  private static void ack(FailureDetector d, long now, NodeId from, long seq) {
    d.onAck(now, from, Ack.newBuilder().setSeq((int) seq).build(), new Outbox());
  }

  @Test
  void directAcksAreSmoothedAsRfc6298Says() {
    FailureDetector d = new FailureDetector(config, self, new SplittableRandom(7));
    d.watch(0, peer);
    assertThat(d.rtt(peer.id())).isNull();

    long[] p1 = nextPing(d, 0, peer.id());
    ack(d, p1[0] + 40, peer.id(), p1[1]);
    assertThat(d.rtt(peer.id()).smoothedMillis()).isCloseTo(40, within(1e-9));
    assertThat(d.rtt(peer.id()).deviationMillis()).isCloseTo(20, within(1e-9));

    long[] p2 = nextPing(d, p1[0] + 40, peer.id());
    ack(d, p2[0] + 80, peer.id(), p2[1]);
    // RTTVAR = 3/4 * 20 + 1/4 * |40 - 80| = 25; SRTT = 7/8 * 40 + 1/8 * 80 = 45.
    assertThat(d.rtt(peer.id()).deviationMillis()).isCloseTo(25, within(1e-9));
    assertThat(d.rtt(peer.id()).smoothedMillis()).isCloseTo(45, within(1e-9));
  }

  @Test
  void anAckAfterTheProbeWasRetriedIsNotSampled() {
    FailureDetector d = new FailureDetector(config, self, new SplittableRandom(7));
    d.watch(0, peer);
    d.watch(0, helper);
    long[] p = nextPing(d, 0, peer.id());
    // No Ack within the probe timeout: the detector retries directly and through the helper.
    long late = p[0] + config.probeTimeoutMillis() + config.tickMillis();
    for (long t = p[0] + config.tickMillis(); t <= late; t += config.tickMillis()) {
      d.tick(t, new Outbox());
    }
    ack(d, late + 1, peer.id(), p[1]);
    assertThat(d.rtt(peer.id())).isNull();
    assertThat(d.state(peer.id())).isEqualTo(MemberState.ALIVE);
  }

  @Test
  void rttIsForgottenWhenThePeerLeavesTheActiveView() {
    FailureDetector d = new FailureDetector(config, self, new SplittableRandom(7));
    d.watch(0, peer);
    long[] p = nextPing(d, 0, peer.id());
    ack(d, p[0] + 3, peer.id(), p[1]);
    assertThat(d.rtt(peer.id())).isNotNull();
    d.unwatch(peer.id());
    assertThat(d.rtt(peer.id())).isNull();
  }
}
