package dev.mycelium.overlay.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.overlay.Capacity;
import dev.mycelium.overlay.FuzzFrames;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.ReplicaFetchReply;
import dev.mycelium.wire.proto.ReplicaPut;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Replication messages from a few peers to one node's {@link ReplicaCore}: whatever the bytes,
 * the core answers with effects (a penalty for a malformed message) and never throws. Random
 * bytes carry no valid owner signature, so a record's flag can have the harness sign the
 * manifests, replicas and tombstones in it with the sender's key, as an honest owner would:
 * that lets the fuzzer reach the rules behind the signature checks.
 */
class ReplicaMessageFuzzTest {
  static final FragmentCodec CODEC = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  static final OwnerKeys[] PEERS = {keys(2), keys(3), keys(4)};
  static final OwnerKeys SELF = keys(1);

  static OwnerKeys keys(int n) {
    byte[] seed = new byte[32];
    seed[0] = (byte) n;
    seed[31] = 42;
    return OwnerKeys.fromSeed(seed);
  }

  /**
   * Input: repeated records of a flag byte (low bits: the sender; bit 7: sign what the envelope
   * carries with the sender's key), a 2-byte length and that many bytes of envelope.
   */
  @FuzzTest
  void replicaMessages(byte[] input) {
    long now = 1_700_000_000_000L;
    PeerAddress self = new PeerAddress(SELF.nodeId(), "10.0.0.1", 7000);
    InMemoryFragmentStore store = new InMemoryFragmentStore(CODEC, Long.MAX_VALUE, () -> 0L);
    ReplicaCore core = new ReplicaCore(ReplicaConfig.DEFAULTS, SELF, self,
        new StoreOwnFragments(store, CODEC, SELF.nodeId(), ReplicaSealer.sharedOnly(SELF)),
        new InMemoryHeldReplicas(64), new SplittableRandom(1), now);
    List<Candidate> candidates = new ArrayList<>();
    for (int i = 0; i < PEERS.length; i++) {
      candidates.add(new Candidate(
          new PeerAddress(PEERS[i].nodeId(), "10.0.0." + (i + 2), 7000), Capacity.UNKNOWN, 0));
    }
    core.updatePeers(now, candidates);
    Fragment own = CODEC.create(SELF, now, "mine", new float[] {1, 0, 0, 0}, Map.of(),
        Visibility.SHARED);
    store.put(own);
    core.put(now, own.id());

    for (FuzzFrames.Frame f : FuzzFrames.read(input)) {
      OwnerKeys from = PEERS[f.sender(PEERS.length)];
      Envelope env = f.envelope();
      if (env == null) {
        continue;
      }
      if (f.marked()) {
        env = signed(env, from);
      }
      List<ReplicaEffect> effects = core.onMessage(now, from.nodeId(), env);
      assertThat(effects).doesNotContainNull();
      now += 1_000;
      assertThat(core.tick(now)).doesNotContainNull();
    }
    assertThat(core.status()).isNotNull();
  }

  /** The envelope with every manifest, replica and tombstone in it signed by {@code owner}. */
  static Envelope signed(Envelope env, OwnerKeys owner) {
    Envelope.Builder b = env.toBuilder();
    switch (env.getBodyCase()) {
      case REPLICA_PUT -> {
        ReplicaPut.Builder p = b.getReplicaPutBuilder();
        if (p.hasManifest()) {
          p.setManifest(sign(p.getManifest(), owner));
        }
        for (int i = 0; i < p.getReplicasCount(); i++) {
          p.setReplicas(i, sign(p.getReplicas(i), owner));
        }
      }
      case MANIFEST_UPDATE -> b.getManifestUpdateBuilder()
          .setManifest(sign(b.getManifestUpdate().getManifest(), owner));
      case REPLICA_FETCH_REPLY -> {
        ReplicaFetchReply.Builder r = b.getReplicaFetchReplyBuilder();
        if (r.hasManifest()) {
          r.setManifest(sign(r.getManifest(), owner));
        }
        for (int i = 0; i < r.getReplicasCount(); i++) {
          r.setReplicas(i, sign(r.getReplicas(i), owner));
        }
        for (int i = 0; i < r.getTombstonesCount(); i++) {
          r.setTombstones(i, sign(r.getTombstones(i), owner));
        }
      }
      case REPLICA_DELETE -> {
        var d = b.getReplicaDeleteBuilder();
        for (int i = 0; i < d.getTombstonesCount(); i++) {
          d.setTombstones(i, sign(d.getTombstones(i), owner));
        }
      }
      case RESTORE_OFFER -> b.getRestoreOfferBuilder()
          .setManifest(sign(b.getRestoreOffer().getManifest(), owner));
      default -> {
        return env;
      }
    }
    return b.build();
  }

  private static ByteString sig(ByteString body, OwnerKeys owner) {
    return ByteString.copyFrom(owner.sign(Canonical.sha256(body.toByteArray())));
  }

  static SignedManifest sign(SignedManifest m, OwnerKeys owner) {
    return m.toBuilder().setSignature(sig(m.getBody(), owner)).build();
  }

  static SignedReplica sign(SignedReplica r, OwnerKeys owner) {
    return r.toBuilder().setSignature(sig(r.getBody(), owner)).build();
  }

  static SignedTombstone sign(SignedTombstone t, OwnerKeys owner) {
    return t.toBuilder().setSignature(sig(t.getBody(), owner)).build();
  }
}
