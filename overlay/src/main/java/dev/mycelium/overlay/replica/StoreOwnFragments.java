package dev.mycelium.overlay.replica;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * {@link OwnFragments} over any {@link FragmentStore}: the daemon's Chronicle store, or the
 * in-memory one in the simulator and tests. A store also keeps other owners' shared fragments
 * (shared knowledge); only this node's own are visible through the port, plus placeholders
 * whose owner is not recorded (a restore marks IDs BLANK before it knows more of them).
 */
public final class StoreOwnFragments implements OwnFragments {
  private final FragmentStore store;
  private final FragmentCodec codec;
  private final NodeId self;
  private final ReplicaSealer sealer;

  public StoreOwnFragments(FragmentStore store, FragmentCodec codec, NodeId self,
      ReplicaSealer sealer) {
    this.store = Objects.requireNonNull(store, "store");
    this.codec = Objects.requireNonNull(codec, "codec");
    this.self = Objects.requireNonNull(self, "own node ID");
    this.sealer = Objects.requireNonNull(sealer, "sealer");
  }

  /**
   * {@inheritDoc}
   *
   * <p>PRESENT fragments that the sealer cannot replicate (private ones without sealing) are left
   * out: they stay on the owner, and no digest advertises them.
   */
  @Override
  public void forEach(BiConsumer<FragmentId, FragmentState> visitor) {
    store.forEachId(id -> {
      Optional<StoredFragment> got = store.get(id);
      if (got.isEmpty()) {
        return;
      }
      StoredFragment f = got.get();
      if (f.owner().isPresent() && !f.owner().get().equals(self)) {
        return;
      }
      if (f.fragment().isPresent() && !sealer.seals(f.fragment().get().visibility())) {
        return;
      }
      visitor.accept(id, f.state());
    });
  }

  @Override
  public FragmentState state(FragmentId id) {
    Optional<StoredFragment> got = store.get(id);
    if (got.isEmpty()) {
      return null;
    }
    StoredFragment f = got.get();
    return f.owner().isEmpty() || f.owner().get().equals(self) ? f.state() : null;
  }

  @Override
  public Optional<SignedReplica> replica(FragmentId id) {
    Optional<StoredFragment> got = store.get(id);
    if (got.isEmpty() || got.get().fragment().isEmpty()) {
      return Optional.empty();
    }
    Fragment f = got.get().fragment().get();
    return f.owner().equals(self) ? sealer.seal(f) : Optional.empty();
  }

  @Override
  public boolean restore(ReplicaCodec.Verified replica) {
    Optional<SignedFragment> signed = sealer.open(replica);
    if (signed.isEmpty()) {
      return false;
    }
    try {
      Fragment f = codec.verify(replica.id(), signed.get());
      return store.put(f) == FragmentState.PRESENT;
    } catch (InvalidFragmentException | StoreFullException e) {
      return false;
    }
  }

  @Override
  public void markBlank(FragmentId id) {
    FragmentState s = state(id);
    if (s != FragmentState.PRESENT && s != FragmentState.DELETED) {
      store.markBlank(id);
    }
  }

  @Override
  public Optional<SignedTombstone> tombstone(FragmentId id) {
    return store.tombstone(id);
  }

  @Override
  public void applyTombstone(FragmentId id, SignedTombstone tombstone) {
    store.delete(id, tombstone);
  }
}
