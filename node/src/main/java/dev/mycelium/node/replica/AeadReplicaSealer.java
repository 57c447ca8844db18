package dev.mycelium.node.replica;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.replica.ReplicaSealer;
import dev.mycelium.storage.seal.SealException;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's sealer for the replication core: shared fragments travel signed and in the
 * clear, private ones sealed with the owner's AEAD key ({@link
 * dev.mycelium.storage.seal.ReplicaCipher}) before they leave the node, so holders can check,
 * scrub and serve them but not read them (DESIGN.md, "Identity and security").
 */
public final class AeadReplicaSealer implements ReplicaSealer {
  private static final Logger LOG = LoggerFactory.getLogger(AeadReplicaSealer.class);

  private final OwnerKeys keys;
  private final dev.mycelium.storage.seal.ReplicaCipher aead;

  /** A sealer for the node with these keys, drawing nonces from {@code aead}'s source. */
  public AeadReplicaSealer(OwnerKeys keys, dev.mycelium.storage.seal.ReplicaCipher aead) {
    this.keys = keys;
    this.aead = aead;
  }

  @Override
  public Optional<SignedReplica> seal(Fragment fragment) {
    if (!fragment.owner().equals(keys.nodeId())) {
      return Optional.empty();
    }
    if (fragment.visibility() == Visibility.SHARED) {
      return Optional.of(ReplicaCodec.shared(keys, fragment.signed()));
    }
    dev.mycelium.storage.seal.ReplicaCipher.Sealed s = aead.seal(keys, fragment.signed());
    return Optional.of(ReplicaCodec.sealed(keys, fragment.id(), s.nonce(), s.payload()));
  }

  @Override
  public Optional<SignedFragment> open(ReplicaCodec.Verified replica) {
    if (replica.visibility() == Visibility.SHARED) {
      return Optional.of(ReplicaCodec.sharedFragment(replica));
    }
    try {
      return Optional.of(aead.open(keys, replica.body()));
    } catch (SealException e) {
      LOG.warn("cannot open the sealed replica of fragment {}: {}", replica.id(),
          e.getMessage());
      return Optional.empty();
    }
  }
}
