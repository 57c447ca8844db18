package dev.mycelium.node.replica;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoreFullException;
import dev.mycelium.overlay.replica.HeldReplicas;
import dev.mycelium.storage.replica.HeldReplica;
import dev.mycelium.storage.replica.OwnerManifests;
import dev.mycelium.storage.replica.ReplicaStore;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replication core's {@link HeldReplicas} port over the daemon's {@link ReplicaStore}
 * ({@code replicas.cm3}) and {@link OwnerManifests} ({@code manifests/}). An entry whose bytes
 * fail their check reads as absent, so the core's digest no longer counts it and anti-entropy
 * pulls it back from the owner or another holder.
 */
public final class StoreHeldReplicas implements HeldReplicas {
  private static final Logger LOG = LoggerFactory.getLogger(StoreHeldReplicas.class);

  private final ReplicaStore store;
  private final OwnerManifests manifests;

  /** The port over these two stores. */
  public StoreHeldReplicas(ReplicaStore store, OwnerManifests manifests) {
    this.store = store;
    this.manifests = manifests;
  }

  @Override
  public Set<NodeId> owners() {
    Set<NodeId> out = new LinkedHashSet<>(store.owners());
    out.addAll(manifests.owners());
    return out;
  }

  @Override
  public void forEach(NodeId owner, BiConsumer<FragmentId, Boolean> visitor) {
    store.forEachOfOwner(owner, id -> store.get(id).ifPresent(h -> {
      if (h.state() == FragmentState.PRESENT) {
        visitor.accept(id, false);
      } else if (h.state() == FragmentState.DELETED) {
        visitor.accept(id, true);
      }
    }));
  }

  @Override
  public Optional<NodeId> ownerOf(FragmentId id) {
    return store.get(id).map(HeldReplica::owner);
  }

  @Override
  public Optional<SignedReplica> replica(FragmentId id) {
    return store.get(id).flatMap(HeldReplica::replica);
  }

  @Override
  public Optional<SignedTombstone> tombstone(FragmentId id) {
    return store.get(id).flatMap(HeldReplica::tombstone);
  }

  private static final long REFUSALS_PER_LINE = 10_000;
  private final AtomicLong refusals = new AtomicLong();

  @Override
  public boolean putReplica(NodeId owner, FragmentId id, SignedReplica replica) {
    try {
      return store.putVerified(id, owner, replica) == FragmentState.PRESENT;
    } catch (StoreFullException | InvalidFragmentException e) {
      refused(id, owner, e);
      return false;
    }
  }

  /**
   * Logs a refused replica: the first few, then one line per {@value #REFUSALS_PER_LINE} with
   * the count. A full store refuses every replica of a stream, which would otherwise write a
   * line for each of them (millions, as owners re-send).
   */
  private void refused(FragmentId id, NodeId owner, RuntimeException e) {
    long n = refusals.incrementAndGet();
    if (n <= 10 || n % REFUSALS_PER_LINE == 0) {
      LOG.warn("refusing a replica of {} for {}: {} ({} refused since start)", id,
          owner.shortString(), e.getMessage(), n);
    }
  }

  @Override
  public void putTombstone(NodeId owner, FragmentId id, SignedTombstone tombstone) {
    try {
      store.delete(id, tombstone);
    } catch (InvalidFragmentException | StoreFullException e) {
      LOG.warn("cannot keep the tombstone of {} for {}: {}", id, owner.shortString(),
          e.getMessage());
    }
  }

  @Override
  public void remove(FragmentId id) {
    store.remove(id);
  }

  @Override
  public void dropOwner(NodeId owner) {
    int n = store.dropOwner(owner);
    manifests.remove(owner);
    LOG.info("released {} replicas held for {}", n, owner.shortString());
  }

  @Override
  public Optional<SignedManifest> manifest(NodeId owner) {
    return manifests.get(owner).flatMap(b -> {
      try {
        return Optional.of(SignedManifest.parseFrom(b));
      } catch (InvalidProtocolBufferException e) {
        LOG.warn("the kept manifest of {} does not parse; waiting for a fresh one",
            owner.shortString());
        return Optional.empty();
      }
    });
  }

  @Override
  public void putManifest(NodeId owner, SignedManifest manifest) {
    manifests.put(owner, manifest.toByteArray());
  }
}
