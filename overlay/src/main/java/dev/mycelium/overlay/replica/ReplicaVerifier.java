package dev.mycelium.overlay.replica;

import dev.mycelium.model.ReplicaCodec;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the replicas of one message for {@link ReplicaCore}, as {@link
 * ReplicaCodec#verify(SignedReplica)} does each: the owner's Ed25519 signature, the ID, and a
 * shared payload's hash. The core decides what is worth checking (only replicas from an owner
 * this node holds for, each within the size limit) and hands them over in one batch, so that
 * the daemon can spread a put of up to 256 replicas over its cores while the simulator checks
 * them in order on its one thread. Either way the answers, and so the core's decisions, are
 * the same.
 */
@FunctionalInterface
public interface ReplicaVerifier {
  /**
   * Checks every replica; answer {@code i} is for {@code replicas.get(i)}. Never throws for a
   * replica that fails: its answer carries the failure.
   */
  List<Checked> verifyAll(List<SignedReplica> replicas);

  /** Checks one replica after the other on the calling thread. */
  ReplicaVerifier IN_ORDER = replicas -> {
    List<Checked> out = new ArrayList<>(replicas.size());
    for (SignedReplica r : replicas) {
      out.add(Checked.of(r));
    }
    return out;
  };

  /**
   * What checking one replica gave: the verified replica, or what {@link
   * ReplicaCodec#verify(SignedReplica)} threw.
   */
  final class Checked {
    private final ReplicaCodec.Verified verified;
    private final RuntimeException failure;

    private Checked(ReplicaCodec.Verified verified, RuntimeException failure) {
      this.verified = verified;
      this.failure = failure;
    }

    /** A replica that was refused before any check ran (too big, for one). */
    public static Checked failed(RuntimeException why) {
      return new Checked(null, why);
    }

    /** Checks a replica on the calling thread. */
    public static Checked of(SignedReplica replica) {
      try {
        return new Checked(ReplicaCodec.verify(replica), null);
      } catch (RuntimeException e) {
        return new Checked(null, e);
      }
    }

    /**
     * The verified replica; throws what the check threw (an {@code InvalidFragmentException}
     * for a forged or malformed replica), as if the check ran at this point.
     */
    public ReplicaCodec.Verified get() {
      if (failure != null) {
        throw failure;
      }
      return verified;
    }
  }
}
