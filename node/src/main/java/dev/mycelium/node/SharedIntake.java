package dev.mycelium.node;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Other owners' shared fragments arriving over the network: checked, charged to a quota, kept. */
final class SharedIntake {
  private final NodeId self;
  private final FragmentCodec codec;
  private final FragmentStore store;
  private final FragmentWrites writes;
  private final AtomicLong ingested = new AtomicLong();
  private volatile SharedQuota quota = new SharedQuota(SharedQuota.DEFAULTS);
  private final AtomicBoolean quotaSeeded = new AtomicBoolean();
  private final AtomicLong overQuota = new AtomicLong();

  SharedIntake(NodeId self, FragmentCodec codec, FragmentStore store, FragmentWrites writes) {
    this.self = self;
    this.codec = codec;
    this.store = store;
    this.writes = writes;
  }

  /** See {@link FragmentService#ingestShared}. */
  FragmentState ingest(SignedFragment signed) {
    Fragment f = verify(signed);
    Optional<StoredFragment> before = store.get(f.id());
    if (before.isPresent() && before.get().state() == FragmentState.PRESENT) {
      return FragmentState.PRESENT;
    }
    boolean charged = false;
    if (!f.owner().equals(self)) {
      seedQuota();
      long size = signed.getSerializedSize();
      if (!quota.tryAdd(f.owner(), size)) {
        overQuota.incrementAndGet();
        throw new SharedQuota.Exceeded("owner " + f.owner().shortString()
            + " is over its shared quota here (" + quota.entries(f.owner()) + " fragments, "
            + quota.bytes(f.owner()) + " bytes kept)");
      }
      charged = true;
    }
    // The charge is taken back only when the store does not keep the fragment; indexing what
    // it kept is the write path's second step.
    FragmentState state;
    try {
      state = store.put(f);
    } catch (RuntimeException e) {
      if (charged) {
        quota.release(f.owner(), signed.getSerializedSize());
      }
      throw e;
    }
    if (state != FragmentState.PRESENT && charged) {
      quota.release(f.owner(), signed.getSerializedSize());
    }
    if (state == FragmentState.PRESENT) {
      ingested.incrementAndGet();
      writes.indexStored(f);
    }
    return state;
  }

  /** See {@link FragmentService#verifyShared}. */
  Fragment verify(SignedFragment signed) {
    Fragment f = codec.verify(signed);
    if (f.visibility() != Visibility.SHARED) {
      throw new InvalidFragmentException("visibility",
          "fragment " + f.id() + " is private; only shared fragments travel in the clear");
    }
    if (f.hasVector() && isZero(f.vector())) {
      // The index compares directions and refuses a vector that has none.
      throw new InvalidFragmentException("vector", "fragment " + f.id() + " has an all-zero "
          + "vector");
    }
    return f;
  }

  private static boolean isZero(float[] v) {
    for (float x : v) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  void setQuota(SharedQuota.Limits limits) {
    this.quota = new SharedQuota(limits);
    quotaSeeded.set(false);
  }

  SharedQuota quota() {
    return quota;
  }

  long overQuota() {
    return overQuota.get();
  }

  long ingested() {
    return ingested.get();
  }

  /** Counts, once, the other owners' fragments the store already holds against the quota. */
  private void seedQuota() {
    if (quotaSeeded.getAndSet(true)) {
      return;
    }
    SharedQuota q = quota;
    store.forEachId(id -> store.get(id).ifPresent(sf -> {
      if (sf.state() == FragmentState.PRESENT && sf.owner().isPresent()
          && !sf.owner().get().equals(self)) {
        q.account(sf.owner().get(), sf.fragment().orElseThrow().signed().getSerializedSize());
      }
    }));
  }
}
