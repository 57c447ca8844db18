package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.wire.NodeId;
import org.junit.jupiter.api.Test;

class PeerScoresTest {
  private final OverlayConfig config = OverlayConfig.test();
  private final NodeId bad = NodeId.of(new byte[32]);

  @Test
  void repeatedMalformedFramesBanUntilTheBanEnds() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    assertThat(scores.penalize(0, bad, PeerScores.MALFORMED, "garbage", out)).isFalse();
    assertThat(scores.penalize(1, bad, PeerScores.MALFORMED, "garbage", out)).isFalse();
    assertThat(scores.penalize(2, bad, PeerScores.MALFORMED, "garbage", out)).isTrue();
    assertThat(scores.isBanned(3, bad)).isTrue();
    assertThat(scores.bans()).isEqualTo(1);
    assertThat(out.effects()).singleElement().satisfies(e -> assertThat(
        ((Effect.Report) e).event()).isInstanceOf(OverlayEvent.Banned.class));
    assertThat(scores.isBanned(2 + config.banDurationMillis(), bad)).isFalse();
  }

  @Test
  void scoresRecoverWithTime() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    scores.penalize(0, bad, PeerScores.MALFORMED, "garbage", out);
    scores.penalize(0, bad, PeerScores.MALFORMED, "garbage", out);
    assertThat(scores.score(0, bad)).isEqualTo(-40);
    assertThat(scores.score(30_000, bad)).isEqualTo(-10);
    // After recovery, two more offences are no longer enough for a ban.
    scores.penalize(30_000, bad, PeerScores.MALFORMED, "garbage", out);
    assertThat(scores.isBanned(30_000, bad)).isFalse();
  }

  @Test
  void floodsOverTheTokenBucketAreRefusedAndPenalised() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    int admitted = 0;
    for (int i = 0; i < 2 * config.peerBurst(); i++) {
      if (scores.admit(0, bad, 0, out)) {
        admitted++;
      }
    }
    assertThat(admitted).isEqualTo(config.peerBurst());
    assertThat(scores.isBanned(0, bad)).isTrue();
  }

  @Test
  void messagesThatQueuedWhileTheNodeWasBusyAreCountedWhenTheyArrived() {
    // Four buckets' worth of messages, sent at half the peer's rate, all taken up at once
    // when the node's loop gets to them.
    int n = 4 * config.peerBurst();
    double perMessageMillis = 2_000.0 / config.peerMessagesPerSecond();
    long takenUpAt = (long) (n * perMessageMillis) + 1;
    PeerScores byArrival = new PeerScores(config);
    PeerScores byTakeUp = new PeerScores(config);
    Outbox out = new Outbox();
    int admittedByArrival = 0;
    int admittedByTakeUp = 0;
    for (int i = 0; i < n; i++) {
      long arrived = (long) (i * perMessageMillis);
      if (byArrival.admit(takenUpAt, arrived, bad, 0, out)) {
        admittedByArrival++;
      }
      if (byTakeUp.admit(takenUpAt, takenUpAt, bad, 0, out)) {
        admittedByTakeUp++;
      }
    }
    assertThat(admittedByArrival).isEqualTo(n);
    assertThat(byArrival.isBanned(takenUpAt, bad)).isFalse();
    assertThat(byArrival.score(takenUpAt, bad)).isZero();
    // Judged by when the loop took them up, the same honest backlog reads as a flood.
    assertThat(admittedByTakeUp).isEqualTo(config.peerBurst());
    assertThat(byTakeUp.isBanned(takenUpAt, bad)).isTrue();
  }

  @Test
  void anArrivalTimeCannotBuyAPeerMoreThanItsRate() {
    // A real flood that arrived in one instant is a flood whenever it is taken up.
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    int admitted = 0;
    for (int i = 0; i < 2 * config.peerBurst(); i++) {
      if (scores.admit(60_000, 100, bad, 0, out)) {
        admitted++;
      }
    }
    assertThat(admitted).isEqualTo(config.peerBurst());
    assertThat(scores.isBanned(60_000, bad)).isTrue();
  }

  private static NodeId fresh(int i) {
    byte[] b = new byte[32];
    b[0] = 1;
    b[1] = (byte) i;
    b[2] = (byte) (i >> 8);
    b[3] = (byte) (i >> 16);
    return NodeId.of(b);
  }

  @Test
  void freshIdentitiesCannotWashOutAnOffendersRecord() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    NodeId shady = fresh(999_999);
    for (int i = 0; i < 3; i++) {
      scores.penalize(0, bad, PeerScores.MALFORMED, "garbage", out);
    }
    scores.penalize(0, shady, PeerScores.MALFORMED, "garbage", out);
    assertThat(scores.isBanned(1, bad)).isTrue();
    for (int i = 0; i < 3 * PeerScores.MAX_TRACKED; i++) {
      scores.admit(1, fresh(i), 0, out);
      assertThat(scores.tracked()).isLessThanOrEqualTo(PeerScores.MAX_TRACKED);
    }
    assertThat(scores.isBanned(2, bad)).isTrue();
    assertThat(scores.score(2, shady)).isNegative();
  }

  @Test
  void aRepeatOffenderIsBannedLonger() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    for (int i = 0; i < 3; i++) {
      scores.penalize(0, bad, PeerScores.MALFORMED, "garbage", out);
    }
    long end = config.banDurationMillis();
    assertThat(scores.isBanned(end, bad)).isFalse();
    for (int i = 0; i < 3; i++) {
      scores.penalize(end + i, bad, PeerScores.MALFORMED, "garbage", out);
    }
    assertThat(scores.isBanned(end + 2 + config.banDurationMillis(), bad)).isTrue();
    assertThat(scores.isBanned(end + 2 + 2 * config.banDurationMillis(), bad)).isFalse();
  }

  @Test
  void aFloodOfFreshIdentitiesDoesNotEraseAnOffendersRecord() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    scores.penalize(0, bad, PeerScores.MALFORMED, "garbage", out);
    for (int i = 1; i <= PeerScores.MAX_TRACKED * 2; i++) {
      byte[] id = new byte[32];
      id[0] = 1;
      id[1] = (byte) (i >>> 16);
      id[2] = (byte) (i >>> 8);
      id[3] = (byte) i;
      scores.admit(1, NodeId.of(id), 0, out);
    }
    assertThat(scores.score(1, bad)).isLessThan(-PeerScores.MALFORMED + 1);
  }

  @Test
  void aPeerWithinItsMessageRateIsStillRefusedForTooManyBytes() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    long frame = 16L << 20;
    int admitted = 0;
    // One 16 MiB frame every 100 ms: 10 messages a second, 160 MiB/s.
    for (int i = 0; i < 20; i++) {
      if (scores.admit(i * 100L, bad, frame, out)) {
        admitted++;
      }
    }
    assertThat(admitted).isLessThan(20)
        .isGreaterThanOrEqualTo((int) (PeerScores.PEER_BYTE_BURST / frame));
    assertThat(scores.score(2_000, bad)).isNegative();
  }

  @Test
  void aReReplicationStreamAtTheDefaultPaceIsNeverRefused() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    // replication.stream-per-tick replicas every 200 ms tick (the shipped defaults), 3 KiB
    // each (1 KiB of text, 384 floats, signature and seal), in ReplicaPuts of 64: 30 MB/s.
    int perTick = ReplicaConfig.DEFAULTS.streamPerTick();
    long put = 64L * 3 * 1024;
    int puts = perTick / 64;
    for (int tick = 0; tick < 5 * 60; tick++) {
      for (int p = 0; p < puts; p++) {
        assertThat(scores.admit(tick * 200L, bad, put, out)).as("tick %d put %d", tick, p)
            .isTrue();
      }
    }
    assertThat(scores.score(60_000, bad)).isZero();
  }

  @Test
  void anHonestStreamUnderTheByteRateIsNeverRefused() {
    PeerScores scores = new PeerScores(config);
    Outbox out = new Outbox();
    // 4 MiB/s in 256 KiB messages for a minute: half the byte rate, 16 messages a second.
    long bytes = 256 << 10;
    for (int i = 0; i < 60 * 16; i++) {
      assertThat(scores.admit(i * 1000L / 16, bad, bytes, out)).as("message %d", i).isTrue();
    }
    assertThat(scores.score(60_000, bad)).isZero();
  }
}
