package dev.mycelium.storage.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.ReplicaBody;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.Arrays;
import java.util.Optional;

/**
 * A held replica's record as the disk may hand it back: any header, any content. The same
 * decoder serves the in-memory and the Chronicle store (both keep these raw values), so the
 * in-memory one is fuzzed. Reads, checks, scrubs and purges answer without throwing, and the
 * per-state counts stay non-negative and add up to the entries. The harness can fix the content
 * digest (first input byte), to reach the decoders behind it.
 */
class HeldRecordFuzzTest {
  private static final FragmentId OTHER = FragmentId.of(new byte[32]);

  /**
   * Input: one flag byte (bit 0: write the right content digest over whatever the input put
   * there), then the raw record.
   */
  @FuzzTest
  void heldRecord(byte[] input) {
    if (input.length == 0) {
      return;
    }
    byte[] raw = Arrays.copyOfRange(input, 1, input.length);
    byte[] content = raw.length >= ReplicaRecord.HEADER
        ? Arrays.copyOfRange(raw, ReplicaRecord.HEADER, raw.length) : new byte[0];
    if ((input[0] & 1) != 0 && raw.length >= ReplicaRecord.HEADER) {
      System.arraycopy(Canonical.sha256(content), 0, raw, ReplicaRecord.HEADER - 32, 32);
    }
    NodeId owner = raw.length >= 2 + NodeId.LENGTH
        ? NodeId.of(Arrays.copyOfRange(raw, 2, 2 + NodeId.LENGTH)) : Replicas.ALICE.nodeId();
    FragmentId id = idIn(content).orElse(OTHER);

    InMemoryReplicaStore store = new InMemoryReplicaStore(Replicas.CODEC);
    store.writeRaw(id.toBytes(), raw);
    store.loadIndex();
    checkCounts(store.stats());
    store.get(id);
    checkCounts(store.stats());
    store.check(id);
    store.owners();
    store.countOf(owner);
    store.purgeTombstones(Long.MAX_VALUE);
    checkCounts(store.stats());
    store.markBlank(id, owner);
    store.get(id);
    checkCounts(store.stats());
  }

  private static Optional<FragmentId> idIn(byte[] content) {
    try {
      ReplicaBody body = ReplicaBody.parseFrom(SignedReplica.parseFrom(content).getBody());
      return body.getFragmentId().size() == FragmentId.LENGTH
          ? Optional.of(FragmentId.of(body.getFragmentId().toByteArray())) : Optional.empty();
    } catch (InvalidProtocolBufferException e) {
      return Optional.empty();
    }
  }

  private static void checkCounts(StoreStats s) {
    long sum = 0;
    for (FragmentState st : FragmentState.values()) {
      long c = s.byState().get(st);
      assertThat(c).as("count of %s", st).isGreaterThanOrEqualTo(0);
      sum += c;
    }
    assertThat(sum).isEqualTo(s.entries());
    assertThat(s.entries()).isLessThanOrEqualTo(1);
  }
}
