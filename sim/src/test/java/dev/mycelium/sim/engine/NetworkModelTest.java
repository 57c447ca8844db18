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

  @Test
  void reorderedMessagesOvertakeNothingButAreOvertaken() {
    NetworkModel net = new NetworkModel().latency(LatencyModel.fixed(50)).reorder(0.2);
    SplittableRandom r = new SplittableRandom(6);
    int n = 50_000;
    int late = 0;
    long lastInOrder = 0;
    long lastLate = 0;
    int overtook = 0;
    for (int i = 0; i < n; i++) {
      long now = i * 10L;
      long arrival = now + net.deliveries(0, 1, PING, r, now)[0];
      if (arrival > now + 50) {
        late++;
        assertThat(arrival - now).isEqualTo(100);
        lastLate = arrival;
      } else {
        // Messages that are not reordered keep the link's FIFO order among themselves...
        assertThat(arrival).isGreaterThanOrEqualTo(lastInOrder);
        lastInOrder = arrival;
        // ...and overtake the reordered ones sent before them.
        if (arrival < lastLate) {
          overtook++;
        }
      }
    }
    assertThat(late / (double) n).isBetween(0.19, 0.21);
    assertThat(overtook).isGreaterThan(n / 10);
  }

  @Test
  void perNodeLossAppliesToMessagesFromAndToThatNodeOnly() {
    NetworkModel net = new NetworkModel().fifo(false).nodeLoss(7, 0.25);
    SplittableRandom r = new SplittableRandom(7);
    int n = 100_000;
    int lostFrom = 0;
    int lostTo = 0;
    int lostElsewhere = 0;
    for (int i = 0; i < n; i++) {
      lostFrom += net.deliveries(7, 1, PING, r).length == 0 ? 1 : 0;
      lostTo += net.deliveries(1, 7, PING, r).length == 0 ? 1 : 0;
      lostElsewhere += net.deliveries(1, 2, PING, r).length == 0 ? 1 : 0;
    }
    assertThat(lostFrom / (double) n).isBetween(0.245, 0.255);
    assertThat(lostTo / (double) n).isBetween(0.245, 0.255);
    assertThat(lostElsewhere).isZero();
    net.nodeLoss(7, 0);
    assertThat(net.deliveries(7, 1, PING, r)).hasSize(1);
  }

  @Test
  void bandwidthQueuesASendersMessagesBehindEachOther() {
    Envelope big = Envelope.newBuilder().setGossip(dev.mycelium.wire.proto.Gossip.newBuilder()
        .setPayload(com.google.protobuf.ByteString.copyFrom(new byte[9_990]))).build();
    int size = big.getSerializedSize();
    NetworkModel net = new NetworkModel().latency(LatencyModel.fixed(20)).fifo(false)
        .bandwidth(100_000);
    SplittableRandom r = new SplittableRandom(8);
    long perMessage = size * 1000L / 100_000;
    // Ten messages sent at once leave one after another, each taking size/bandwidth.
    for (int k = 1; k <= 10; k++) {
      assertThat(net.deliveries(0, 1 + k, big, r, 0)[0]).isEqualTo(20 + k * perMessage);
    }
    // Another sender's uplink is free.
    assertThat(net.deliveries(5, 1, big, r, 0)[0]).isEqualTo(20 + perMessage);
    // Once the queue has drained, a message waits only for itself.
    assertThat(net.deliveries(0, 1, big, r, 10_000)[0]).isEqualTo(20 + perMessage);
  }

  @Test
  void latencyModelRejectsImpossibleBounds() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> LatencyModel.uniform(50, 10))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("min <= max");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new NetworkModel().loss(1.0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[0, 1)");
  }
}
