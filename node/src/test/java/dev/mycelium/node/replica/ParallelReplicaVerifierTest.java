package dev.mycelium.node.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.replica.ReplicaVerifier;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ParallelReplicaVerifierTest {
  private static final FragmentCodec CODEC =
      new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  private static final OwnerKeys ALICE = OwnerKeys.fromSeed(new byte[32]);

  private static SignedReplica replica(int n) {
    Fragment f = CODEC.create(ALICE, 1_700_000_000_000L + n, "fragment " + n,
        new float[] {n, 1, 0, 0}, Map.of(), Visibility.SHARED);
    return ReplicaCodec.shared(ALICE, f.signed());
  }

  /** Every fifth replica altered after signing, every seventh not a replica at all. */
  private static List<SignedReplica> batch(int size) {
    List<SignedReplica> out = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      SignedReplica r = replica(i);
      if (i % 5 == 4) {
        r = r.toBuilder().setSignature(ByteString.copyFrom(new byte[64])).build();
      } else if (i % 7 == 6) {
        r = r.toBuilder().setBody(ByteString.copyFromUtf8("not a body")).build();
      }
      out.add(r);
    }
    return out;
  }

  private static String outcome(ReplicaVerifier.Checked c) {
    try {
      return "ok " + c.get().id();
    } catch (InvalidFragmentException e) {
      return "refused " + e.getMessage();
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 8})
  void answersAreThoseOfCheckingInOrderWhateverTheNumberOfHelpers(int helpers) {
    List<SignedReplica> replicas = batch(64);
    List<String> expected = ReplicaVerifier.IN_ORDER.verifyAll(replicas).stream()
        .map(ParallelReplicaVerifierTest::outcome).toList();
    assertThat(expected).filteredOn(s -> s.startsWith("ok")).hasSize(44);
    try (ParallelReplicaVerifier v = new ParallelReplicaVerifier(helpers)) {
      for (int round = 0; round < 20; round++) {
        assertThat(v.verifyAll(replicas)).map(ParallelReplicaVerifierTest::outcome)
            .isEqualTo(expected);
      }
      assertThat(v.verifyAll(List.of())).isEmpty();
      assertThat(v.verifyAll(replicas.subList(0, 1))).map(ParallelReplicaVerifierTest::outcome)
          .isEqualTo(expected.subList(0, 1));
    }
  }

  @Test
  void aFailedCheckThrowsWhereItsAnswerIsRead() {
    try (ParallelReplicaVerifier v = new ParallelReplicaVerifier(1)) {
      List<ReplicaVerifier.Checked> out = v.verifyAll(batch(5));
      assertThat(out.get(0).get().owner()).isEqualTo(ALICE.nodeId());
      assertThatThrownBy(() -> out.get(4).get()).isInstanceOf(InvalidFragmentException.class)
          .hasMessageContaining("signature");
    }
  }

  @Test
  void afterCloseTheCallerChecksAlone() {
    ParallelReplicaVerifier v = new ParallelReplicaVerifier(2);
    v.close();
    List<SignedReplica> replicas = batch(16);
    assertThat(v.verifyAll(replicas)).map(ParallelReplicaVerifierTest::outcome)
        .isEqualTo(ReplicaVerifier.IN_ORDER.verifyAll(replicas).stream()
            .map(ParallelReplicaVerifierTest::outcome).toList());
  }

  @Test
  void theCallerAndAHelperEachTakeReplicasFromTheBatch() {
    String caller = Thread.currentThread().getName();
    // Each side's first check waits until the other side has begun one: only a batch that
    // both take part in gets past it (a side that took none would leave the other waiting).
    CountDownLatch callerBegan = new CountDownLatch(1);
    CountDownLatch helperBegan = new CountDownLatch(1);
    Set<String> threads = ConcurrentHashMap.newKeySet();
    Function<SignedReplica, ReplicaVerifier.Checked> check = r -> {
      String me = Thread.currentThread().getName();
      threads.add(me);
      boolean isCaller = me.equals(caller);
      (isCaller ? callerBegan : helperBegan).countDown();
      try {
        (isCaller ? helperBegan : callerBegan).await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return ReplicaVerifier.Checked.of(r);
    };
    List<SignedReplica> replicas = batch(16);
    try (ParallelReplicaVerifier v = new ParallelReplicaVerifier(1, check)) {
      assertThat(v.verifyAll(replicas)).map(ParallelReplicaVerifierTest::outcome)
          .isEqualTo(ReplicaVerifier.IN_ORDER.verifyAll(replicas).stream()
              .map(ParallelReplicaVerifierTest::outcome).toList());
    }
    assertThat(callerBegan.getCount()).isZero();
    assertThat(helperBegan.getCount()).isZero();
    assertThat(threads).containsExactlyInAnyOrder(caller, "mycelium-replica-check");
  }
}
