package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.FragmentService.PutRequest;
import dev.mycelium.node.FragmentService.PutResult;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.node.replica.BlankReadHook;
import dev.mycelium.node.replica.RepairLedger;
import dev.mycelium.node.replica.RepairStatus;
import dev.mycelium.storage.embed.HashEmbedder;
import dev.mycelium.storage.index.ExactVectorIndex;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A read of a BLANK fragment asks one holder first, within the read timeout. */
class BlankReadThroughTest {
  private static final int DIM = 8;
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(DIM));
  private final Identity me = Identity.of(OwnerKeys.generate(new SecureRandom()));
  private final NodeId holder = Identity.of(OwnerKeys.generate(new SecureRandom())).nodeId();
  private final AtomicLong clock = new AtomicLong(1_000);
  private final InMemoryFragmentStore store = new InMemoryFragmentStore(codec, 100, clock::get);
  private final ExactVectorIndex index = new ExactVectorIndex(DIM);
  private final RepairLedger ledger = new RepairLedger();
  private final FragmentService service = new FragmentService(me, codec, store, index,
      new HashEmbedder(DIM), 4, 10, new NodeMetrics(() -> null), clock::get);
  private final List<Optional<NodeId>> asked = new CopyOnWriteArrayList<>();

  private PutResult putAndLose() {
    float[] v = new float[DIM];
    v[1] = 1;
    PutResult r = service.put(new PutRequest("lost and found", v, Map.of(), Visibility.PRIVATE));
    store.markBlank(r.id());
    index.remove(r.id());
    return r;
  }

  private BlankReadHook answering(SignedFragment copy) {
    return (id, owner) -> {
      asked.add(owner);
      return CompletableFuture.completedFuture(
          Optional.of(new BlankReadHook.Fetched(copy, holder)));
    };
  }

  private RepairStatus status() {
    return ledger.status(store.stats(), null);
  }

  @Test
  void withoutReplicationABlankReadAnswersBlank() {
    PutResult r = putAndLose();
    assertThat(service.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
  }

  @Test
  void aGoodCopyFromOneHolderIsStoredIndexedAndAnsweredPresent() {
    PutResult r = putAndLose();
    SignedFragment good = codec.create(me.keys(), r.createdAtMillis(), "lost and found",
        new float[] {0, 1, 0, 0, 0, 0, 0, 0}, Map.of(), Visibility.PRIVATE).signed();
    service.readThrough(answering(good), Duration.ofSeconds(5), ledger);
    StoredFragment back = service.get(r.id()).orElseThrow();
    assertThat(back.state()).isEqualTo(FragmentState.PRESENT);
    assertThat(back.fragment().orElseThrow().text()).isEqualTo("lost and found");
    assertThat(asked).containsExactly(Optional.of(me.nodeId()));
    assertThat(store.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.PRESENT);
    assertThat(index.size()).isEqualTo(1);
    assertThat(status().repairsDone()).isEqualTo(1);
    assertThat(status().bytesMoved()).isEqualTo(good.getSerializedSize());
    // A present fragment is never asked about.
    service.get(r.id());
    assertThat(asked).hasSize(1);
  }

  @Test
  void aCopyThatDoesNotCheckIsRefusedAndTheReadAnswersBlank() {
    PutResult r = putAndLose();
    SignedFragment other = codec.create(me.keys(), 5, "something else", new float[0], Map.of(),
        Visibility.PRIVATE).signed();
    service.readThrough(answering(other), Duration.ofSeconds(5), ledger);
    assertThat(service.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(store.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(status().repairsFailed()).isEqualTo(1);
    assertThat(status().repairsDone()).isZero();
  }

  @Test
  void aHolderThatNeverAnswersCostsOnlyTheTimeout() {
    PutResult r = putAndLose();
    CompletableFuture<Optional<BlankReadHook.Fetched>> never = new CompletableFuture<>();
    service.readThrough((id, owner) -> never, Duration.ofMillis(50), ledger);
    assertThat(service.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(status().repairsFailed()).isEqualTo(1);
  }

  @Test
  void noCopyAnywhereOrAFailingHookAnswerTheState() {
    PutResult r = putAndLose();
    service.readThrough((id, owner) -> CompletableFuture.completedFuture(Optional.empty()),
        Duration.ofSeconds(1), ledger);
    assertThat(service.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    service.readThrough((id, owner) -> {
      throw new IllegalStateException("no peers");
    }, Duration.ofSeconds(1), ledger);
    assertThat(service.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    service.readThrough((id, owner) -> CompletableFuture.failedFuture(
        new IllegalStateException("link closed")), Duration.ofSeconds(1), ledger);
    assertThat(service.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.BLANK);
    assertThat(status().repairsFailed()).isEqualTo(3);
  }

  @Test
  void aDeletedFragmentIsNeverAskedAbout() {
    float[] v = new float[DIM];
    v[2] = 1;
    PutResult r = service.put(new PutRequest("bye", v, Map.of(), Visibility.PRIVATE));
    service.delete(r.id());
    service.readThrough(answering(SignedFragment.getDefaultInstance()), Duration.ofSeconds(1),
        ledger);
    assertThat(service.get(r.id()).orElseThrow().state()).isEqualTo(FragmentState.DELETED);
    assertThat(asked).isEmpty();
  }
}
