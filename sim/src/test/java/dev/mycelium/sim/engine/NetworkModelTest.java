package dev.mycelium.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Ping;
import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NetworkModelTest {
  private static final Envelope PING = Envelope.newBuilder().setPing(Ping.newBuilder()).build();

  @Test
  void lossRateMatchesTheConfiguredProbability() {
    NetworkModel net = new NetworkModel().loss(0.3).fifo(false);
    SplittableRandom r = new SplittableRandom(1);
    int sends = 200_000;
    int lost = 0;
    for (int i = 0; i < sends; i++) {
      if (net.deliveries(0, 1, PING, r).length == 0) {
        lost++;
      }
    }
    // Binomial standard deviation is about 0.001 here; allow five of them.
    assertThat(lost / (double) sends).isBetween(0.295, 0.305);
  }

  @Test
  void latencyStaysWithinItsBoundsAndAveragesTheMiddle() {
    NetworkModel net = new NetworkModel().fifo(false);
    SplittableRandom r = new SplittableRandom(2);
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    double sum = 0;
    int n = 100_000;
    for (int i = 0; i < n; i++) {
      long d = net.deliveries(0, 1, PING, r)[0];
      min = Math.min(min, d);
      max = Math.max(max, d);
      sum += d;
    }
    assertThat(min).isEqualTo(20);
    assertThat(max).isEqualTo(80);
    assertThat(sum / n).isBetween(49.7, 50.3);
  }

  @Test
  void duplicationSendsASecondLaterCopy() {
    NetworkModel net = new NetworkModel().duplication(0.1).fifo(false);
    SplittableRandom r = new SplittableRandom(3);
    int doubles = 0;
    int n = 100_000;
    for (int i = 0; i < n; i++) {
      long[] d = net.deliveries(0, 1, PING, r);
      if (d.length == 2) {
        doubles++;
        assertThat(d[1]).isGreaterThan(d[0]);
      }
    }
    assertThat(doubles / (double) n).isBetween(0.095, 0.105);
  }

  @Test
  void partitionsBlockOneOrBothDirectionsUntilHealed() {
    NetworkModel net = new NetworkModel();
    SplittableRandom r = new SplittableRandom(4);
    BitSet a = new BitSet();
    a.set(0);
    BitSet b = new BitSet();
    b.set(1);
    int oneWay = net.partition(a, b, false);
    assertThat(net.deliveries(0, 1, PING, r)).isEmpty();
    assertThat(net.deliveries(1, 0, PING, r)).hasSize(1);
    assertThat(net.deliveries(0, 2, PING, r)).hasSize(1);
    net.heal(oneWay);
    int twoWay = net.partition(a, b, true);
    assertThat(net.deliveries(0, 1, PING, r)).isEmpty();
    assertThat(net.deliveries(1, 0, PING, r)).isEmpty();
    net.heal(twoWay);
    assertThat(net.deliveries(0, 1, PING, r)).hasSize(1);
  }

  @Test
  void fifoLinksNeverReorder() {
    NetworkModel net = new NetworkModel();
    SplittableRandom r = new SplittableRandom(5);
    long lastArrival = 0;
    for (long now = 0; now < 10_000; now += 3) {
      long arrival = now + net.deliveries(0, 1, PING, r, now)[0];
      assertThat(arrival).isGreaterThanOrEqualTo(lastArrival);
      lastArrival = arrival;
    }
  }
}
