package dev.mycelium.overlay.replica;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.Objects;
import java.util.Optional;

/**
 * Turns an own fragment into the replica holders keep, and a verified replica back into the
 * fragment. Shared fragments are wrapped in the clear; private ones must be sealed (AEAD with a
 * key derived from the owner's identity), which is the daemon's business: it installs a sealer
 * that does both. {@link #sharedOnly} is the one that needs no key material.
 */
public interface ReplicaSealer {
  /** The replica of an own PRESENT fragment, or empty when this sealer cannot make one. */
  Optional<SignedReplica> seal(Fragment fragment);

  /** The fragment inside a verified own replica, or empty when this sealer cannot open it. */
  Optional<SignedFragment> open(ReplicaCodec.Verified replica);

  /**
   * Whether fragments of this visibility can leave the owner at all. Those that cannot are kept
   * out of the owner's digest, so holders do not chase fragments nobody will ever send them.
   */
  default boolean seals(Visibility visibility) {
    return true;
  }

  /**
   * Replicates shared fragments only: private ones stay on the owner until a sealing sealer is
   * installed, because a private fragment must never leave the owner in the clear.
   */
  static ReplicaSealer sharedOnly(OwnerKeys keys) {
    Objects.requireNonNull(keys, "owner keys");
    return new ReplicaSealer() {
      @Override
      public Optional<SignedReplica> seal(Fragment fragment) {
        if (fragment.visibility() != Visibility.SHARED) {
          return Optional.empty();
        }
        return Optional.of(ReplicaCodec.shared(keys, fragment.signed()));
      }

      @Override
      public boolean seals(Visibility visibility) {
        return visibility == Visibility.SHARED;
      }

      @Override
      public Optional<SignedFragment> open(ReplicaCodec.Verified replica) {
        if (replica.visibility() != Visibility.SHARED) {
          return Optional.empty();
        }
        return Optional.of(ReplicaCodec.sharedFragment(replica));
      }
    };
  }
}
