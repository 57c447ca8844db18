package dev.mycelium.overlay.replica;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.PeerScores;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.DigestRoots;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.OwnerRoot;
import dev.mycelium.wire.proto.SignedManifest;
import dev.mycelium.wire.proto.SignedReplica;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What every room of {@link ReplicaCore} shares: this node's identity and ports, the manifests
 * and digests it keeps, the peers it may speak with about its own fragments, request IDs, and
 * the effects of the call under way.
 */
final class ReplicaContext {
  /** Most IDs one message may name, in a fetch or in a digest's ID list. */
  static final int MAX_IDS_PER_MESSAGE = 4096;
  /** Bytes of replicas past which a fetch reply stops; owners stream puts of half as much. */
  static final int MAX_REPLY_BYTES = 2 * 1024 * 1024;
  /**
   * What a room's {@code nextDeadline} answers for work due at the next tick; the facade
   * turns it into the time of the latest call.
   */
  static final long AT_ONCE = Long.MIN_VALUE;
  /** Checks tombstones' signatures; the dimension limits of fragments play no part in it. */
  static final FragmentCodec TOMBSTONES = new FragmentCodec(FragmentLimits.DEFAULTS);

  final ReplicaConfig config;
  final ReplicaLimits limits;
  final OwnerKeys keys;
  final PeerAddress self;
  final NodeId selfId;
  final OwnFragments own;
  final HeldReplicas held;
  final RepairScheduler repairs;
  final ReplicaVerifier verifier;

  Manifest ownManifest;
  final Map<NodeId, Manifest> heldManifests = new HashMap<>();
  final Map<NodeId, OwnerDigest> digests = new HashMap<>();
  final Map<NodeId, PeerAddress> addresses = new HashMap<>();
  final Set<NodeId> restorePartners = new LinkedHashSet<>();
  long forgedReplicas;

  private final Mac requestMac;
  private long nextRequest = 1;
  // Sealed own replicas: a fetch of the same fragment does not pay for sealing twice.
  private final LinkedHashMap<FragmentId, SignedReplica> sealed =
      new LinkedHashMap<>(16, 0.75f, true);
  private long sealedBytes;

  /** The effects of one call, in order. */
  static final class Out {
    final List<ReplicaEffect> effects = new ArrayList<>();

    void report(ReplicaEvent e) {
      effects.add(new ReplicaEffect.Report(e));
    }
  }

  ReplicaContext(ReplicaConfig config, ReplicaLimits limits, OwnerKeys keys, PeerAddress self,
      OwnFragments own, HeldReplicas held, RepairScheduler repairs, byte[] requestKey,
      ReplicaVerifier verifier) {
    this.config = config;
    this.limits = limits;
    this.keys = keys;
    this.self = self;
    this.selfId = keys.nodeId();
    this.own = own;
    this.held = held;
    this.repairs = repairs;
    this.verifier = verifier;
    try {
      this.requestMac = Mac.getInstance("HmacSHA256");
      this.requestMac.init(new SecretKeySpec(requestKey, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }

  /**
   * An unguessable request ID for a message to {@code to}: the first 8 bytes of an HMAC over a
   * counter and the peer, so that an ID is bound to the peer that must answer it.
   */
  long requestId(NodeId to) {
    byte[] in = new byte[8 + NodeId.LENGTH];
    long n = nextRequest++;
    for (int i = 0; i < 8; i++) {
      in[i] = (byte) (n >>> (56 - 8 * i));
    }
    System.arraycopy(to.toBytes(), 0, in, 8, NodeId.LENGTH);
    byte[] mac = requestMac.doFinal(in);
    long id = 0;
    for (int i = 0; i < 8; i++) {
      id = id << 8 | (mac[i] & 0xff);
    }
    return id;
  }

  void send(Out out, NodeId to, Envelope env) {
    out.effects.add(new ReplicaEffect.Send(to, addresses.get(to), env));
  }

  /** The digest for an owner, made when first needed (only for owners this node keeps). */
  OwnerDigest digest(NodeId owner) {
    return digests.computeIfAbsent(owner, k -> new OwnerDigest(config.digestLeafBits()));
  }

  /** The digest kept for an owner, or an empty one, not kept, when none is. */
  OwnerDigest digestOf(NodeId owner) {
    OwnerDigest d = digests.get(owner);
    return d != null ? d : new OwnerDigest(config.digestLeafBits());
  }

  /** The DigestRoots message for these owners: what opens an anti-entropy exchange. */
  Envelope rootsFor(Collection<NodeId> owners) {
    DigestRoots.Builder b = DigestRoots.newBuilder();
    for (NodeId o : owners) {
      b.addRoots(OwnerRoot.newBuilder().setOwnerId(bytes(o))
          .setRoot(ByteString.copyFrom(digestOf(o).root())));
    }
    return Envelope.newBuilder().setDigestRoots(b).build();
  }

  /** Peers that keep this node's own fragments: its holders, then its restore partners. */
  List<NodeId> ownSources() {
    Set<NodeId> s = new LinkedHashSet<>();
    if (ownManifest != null) {
      s.addAll(ownManifest.holderIds());
    }
    s.addAll(restorePartners);
    return new ArrayList<>(s);
  }

  /** Whether a peer may speak about this node's own fragments. */
  boolean isOwnSource(NodeId peer) {
    return ownManifest != null && ownManifest.names(peer) || restorePartners.contains(peer);
  }

  void adoptOwnManifest(long now, Manifest m) {
    if (ownManifest != null && ownManifest.version() >= m.version()) {
      return;
    }
    ownManifest = m;
    held.putManifest(selfId, m.signed());
    for (PeerAddress h : m.holders()) {
      addresses.putIfAbsent(h.id(), h);
    }
    repairs.addSources(now, selfId, ownSources());
  }

  /**
   * An own fragment's replica, sealed once and kept in a bounded cache: fragments are immutable,
   * so the sealed copy stays good until the fragment is deleted.
   */
  Optional<SignedReplica> ownReplica(FragmentId id) {
    SignedReplica r = sealed.get(id);
    if (r != null) {
      return Optional.of(r);
    }
    Optional<SignedReplica> fresh = own.replica(id);
    if (fresh.isPresent() && limits.sealCacheBytes() > 0) {
      long size = fresh.get().getSerializedSize();
      if (size <= limits.sealCacheBytes()) {
        sealed.put(id, fresh.get());
        sealedBytes += size;
        for (Iterator<SignedReplica> it = sealed.values().iterator();
            sealedBytes > limits.sealCacheBytes() && it.hasNext(); ) {
          sealedBytes -= it.next().getSerializedSize();
          it.remove();
        }
      }
    }
    return fresh;
  }

  void forgetSealed(FragmentId id) {
    SignedReplica r = sealed.remove(id);
    if (r != null) {
      sealedBytes -= r.getSerializedSize();
    }
  }

  /**
   * Checks every replica of a message in one batch through the verifier; answer {@code i} is
   * for {@code replicas.get(i)}. A replica over the size limit is refused unchecked.
   */
  List<ReplicaVerifier.Checked> verifyReplicas(List<SignedReplica> replicas) {
    List<SignedReplica> small = new ArrayList<>(replicas.size());
    for (SignedReplica r : replicas) {
      if (r.getSerializedSize() <= limits.maxReplicaBytes()) {
        small.add(r);
      }
    }
    if (small.size() == replicas.size()) {
      return verifier.verifyAll(replicas);
    }
    Iterator<ReplicaVerifier.Checked> checked = verifier.verifyAll(small).iterator();
    List<ReplicaVerifier.Checked> out = new ArrayList<>(replicas.size());
    for (SignedReplica r : replicas) {
      int size = r.getSerializedSize();
      out.add(size <= limits.maxReplicaBytes() ? checked.next()
          : ReplicaVerifier.Checked.failed(new InvalidFragmentException("size", "replica of "
              + size + " bytes, at most " + limits.maxReplicaBytes())));
    }
    return out;
  }

  void forged(NodeId from, FragmentId id, String why, Out out) {
    forgedReplicas++;
    out.effects.add(new ReplicaEffect.Penalize(from, PeerScores.BAD_SIGNATURE,
        "forged or altered replica: " + why));
    out.report(new ReplicaEvent.ForgedReplica(id, from, why));
  }

  /** The owner a manifest claims, unverified, or null when the body does not say. */
  static NodeId claimedOwner(SignedManifest s) {
    try {
      byte[] key = dev.mycelium.wire.proto.ManifestBody.parseFrom(s.getBody())
          .getOwnerPublicKey().toByteArray();
      return key.length == 32 ? NodeId.fromPublicKey(key) : null;
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  static ByteString bytes(NodeId id) {
    return ByteString.copyFrom(id.toBytes());
  }

  static ByteString concat(Collection<FragmentId> ids) {
    byte[] out = new byte[ids.size() * FragmentId.LENGTH];
    int i = 0;
    for (FragmentId id : ids) {
      System.arraycopy(id.toBytes(), 0, out, i, FragmentId.LENGTH);
      i += FragmentId.LENGTH;
    }
    return ByteString.copyFrom(out);
  }

  static List<FragmentId> ids(ByteString packed) {
    if (packed.size() % FragmentId.LENGTH != 0) {
      throw new IllegalArgumentException("packed IDs are " + packed.size()
          + " bytes, not a multiple of " + FragmentId.LENGTH);
    }
    List<FragmentId> out = new ArrayList<>(packed.size() / FragmentId.LENGTH);
    byte[] b = packed.toByteArray();
    for (int i = 0; i < b.length; i += FragmentId.LENGTH) {
      out.add(FragmentId.of(Arrays.copyOfRange(b, i, i + FragmentId.LENGTH)));
    }
    return out;
  }
}
