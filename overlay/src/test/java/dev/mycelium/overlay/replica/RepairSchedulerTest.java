package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.FragmentId;
import dev.mycelium.wire.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RepairSchedulerTest {
  static final ReplicaConfig C = new ReplicaConfig(3, 8, 1_000, 4, 16, 8, 1_000, 1_000, 60_000,
      4, 600_000, 10, 1_000, 7_200_000, 60_000, 1_000, 10, 100);
  static final NodeId OWNER = NodeId.of(new byte[32]);
  static final NodeId H1 = node(1);
  static final NodeId H2 = node(2);

  static NodeId node(int b) {
    byte[] x = new byte[32];
    x[0] = (byte) b;
    return NodeId.of(x);
  }

  static FragmentId fid(int n) {
    byte[] x = new byte[32];
    x[5] = (byte) n;
    x[6] = (byte) (n >> 8);
    return FragmentId.of(x);
  }

  @Test
  void throttledPerTickAndFasterWhenIdle() {
    RepairScheduler s = new RepairScheduler(C, new SplittableRandom(1));
    for (int i = 0; i < 40; i++) {
      s.enqueue(0, fid(i), OWNER, true, List.of(H1));
    }
    assertThat(s.due(0, false)).hasSize(4);
    assertThat(s.due(0, true)).hasSize(16);
    assertThat(s.stats().inFlight()).isEqualTo(20);
    assertThat(s.stats().queued()).isEqualTo(20);
    assertThat(s.stats().queueLength()).isEqualTo(40);
  }

  @Test
  void failuresBackOffExponentiallyWithJitterAndRotateSources() {
    RepairScheduler s = new RepairScheduler(C, new SplittableRandom(2));
    FragmentId id = fid(1);
    s.enqueue(0, id, OWNER, true, List.of(H1, H2));
    long now = 0;
    List<Long> waits = new ArrayList<>();
    List<NodeId> asked = new ArrayList<>();
    for (int attempt = 1; attempt <= 3; attempt++) {
      List<RepairScheduler.Work> w = s.due(now, false);
      assertThat(w).hasSize(1);
      asked.add(w.get(0).source());
      s.failed(now, id, w.get(0).source());
      long wait = 0;
      while (s.due(now + wait, false).isEmpty()) {
        wait += 10;
      }
      // due() above claimed it; put it back as if that call had not happened.
      s.deferred(now + wait, id);
      long base = C.backoffBaseMillis() << (attempt - 1);
      assertThat(wait).isBetween(base / 2, base + 10);
      waits.add(wait);
      now += wait;
    }
    assertThat(asked).containsExactly(H1, H2, H1);
    assertThat(s.stats().repairsFailed()).isEqualTo(3);
  }

  @Test
  void afterMaxAttemptsAFragmentIsLostAndStillRetriedSlowly() {
    RepairScheduler s = new RepairScheduler(C, new SplittableRandom(3));
    FragmentId id = fid(2);
    s.enqueue(0, id, OWNER, true, List.of(H1));
    long now = 0;
    boolean lost = false;
    for (int i = 0; i < C.maxAttempts(); i++) {
      List<RepairScheduler.Work> w = s.due(now, false);
      while (w.isEmpty()) {
        now += 100;
        w = s.due(now, false);
      }
      lost = s.failed(now, id, H1);
    }
    assertThat(lost).isTrue();
    assertThat(s.phase(id)).isEqualTo(RepairScheduler.Phase.LOST);
    assertThat(s.stats().lost()).isEqualTo(1);
    assertThat(s.stats().queueLength()).isZero();
    assertThat(s.due(now + C.lostRetryMillis() / 2 - 1, false)).isEmpty();
    assertThat(s.due(now + C.lostRetryMillis() + 1, false)).hasSize(1);
    assertThat(s.failed(now, id, H1)).as("reported once").isFalse();
    // A new source brings it back at once.
    s.enqueue(now, id, OWNER, true, List.of(H2));
    assertThat(s.phase(id)).isEqualTo(RepairScheduler.Phase.QUEUED);
    assertThat(s.due(now, false)).extracting(RepairScheduler.Work::source).containsExactly(H2);
  }

  @Test
  void aCycleRunsFromFirstWorkToEmptyQueueAndCountsBytes() {
    RepairScheduler s = new RepairScheduler(C, new SplittableRandom(4));
    s.enqueue(100, fid(1), OWNER, true, List.of(H1));
    s.enqueue(100, fid(2), OWNER, true, List.of(H1));
    assertThat(s.stats().currentCycle().startedAt()).isEqualTo(100);
    s.due(100, false);
    s.succeeded(150, fid(1), 1000);
    assertThat(s.stats().lastCycle()).isNull();
    s.failed(160, fid(2), H1);
    s.due(5_000, false);
    s.succeeded(5_100, fid(2), 500);
    RepairScheduler.Stats st = s.stats();
    assertThat(st.lastCycle()).isEqualTo(new RepairScheduler.Cycle(100, 5_100, 2, 1));
    assertThat(st.currentCycle()).isNull();
    assertThat(st.bytesMoved()).isEqualTo(1500);
    assertThat(st.repairsDone()).isEqualTo(2);
  }

  @Test
  void cancelAndNoSources() {
    RepairScheduler s = new RepairScheduler(C, new SplittableRandom(5));
    s.enqueue(0, fid(1), OWNER, true, List.of());
    assertThat(s.due(0, false)).isEmpty();
    assertThat(s.attempts(fid(1))).isEqualTo(1);
    s.cancel(0, fid(1));
    assertThat(s.contains(fid(1))).isFalse();
    assertThat(s.stats().queueLength()).isZero();
  }
}
