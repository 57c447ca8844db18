package dev.mycelium.overlay.replica;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.wire.Canonical;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.ManifestBody;
import dev.mycelium.wire.proto.ReplicaHolder;
import dev.mycelium.wire.proto.SignedManifest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Where an owner's fragments live: the holders, with their addresses, under a version that only
 * grows. Signed by the owner, it travels with replicas so that holders know one another (for
 * anti-entropy and repair) without trusting whoever relayed it, and a holder dropped from a
 * newer manifest knows it may let the owner's replicas go.
 *
 * @param owner the owner's node ID
 * @param ownerPublicKey its raw Ed25519 public key
 * @param version higher replaces lower
 * @param holders the holders, in the order the owner chose them
 * @param replicationFactor the R the owner aims for
 * @param signed the signed form, as sent
 */
public record Manifest(NodeId owner, byte[] ownerPublicKey, long version,
    List<PeerAddress> holders, int replicationFactor, SignedManifest signed) {
  /**
   * Most holders a manifest may name. Every holder becomes an anti-entropy partner of the
   * others, so an unbounded list would let one owner make a node dial anyone.
   */
  public static final int MAX_HOLDERS = 16;

  public Manifest {
    Objects.requireNonNull(owner, "owner");
    holders = List.copyOf(holders);
    if (holders.size() > MAX_HOLDERS) {
      throw new IllegalArgumentException("a manifest names " + holders.size()
          + " holders, at most " + MAX_HOLDERS);
    }
  }

  /** Makes and signs a manifest. */
  public static Manifest sign(OwnerKeys keys, long version, List<PeerAddress> holders, int r) {
    ManifestBody.Builder b = ManifestBody.newBuilder()
        .setOwnerPublicKey(ByteString.copyFrom(keys.publicKey()))
        .setVersion(version)
        .setReplicationFactor(r);
    for (PeerAddress h : holders) {
      b.addHolders(ReplicaHolder.newBuilder().setNodeId(ByteString.copyFrom(h.id().toBytes()))
          .setHost(h.host()).setPort(h.port()));
    }
    byte[] body = Canonical.encode(b.build());
    SignedManifest s = SignedManifest.newBuilder().setBody(ByteString.copyFrom(body))
        .setSignature(ByteString.copyFrom(keys.sign(Canonical.sha256(body)))).build();
    return new Manifest(keys.nodeId(), keys.publicKey(), version, holders, r, s);
  }

  /**
   * Checks the owner's signature and decodes.
   *
   * @throws IllegalArgumentException when it is malformed or forged
   */
  public static Manifest verify(SignedManifest s) {
    byte[] body = s.getBody().toByteArray();
    ManifestBody b;
    try {
      b = ManifestBody.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("manifest body is not a valid encoding");
    }
    if (b.getHoldersCount() > MAX_HOLDERS) {
      throw new IllegalArgumentException("a manifest names " + b.getHoldersCount()
          + " holders, at most " + MAX_HOLDERS);
    }
    byte[] key = b.getOwnerPublicKey().toByteArray();
    if (!OwnerKeys.verify(key, Canonical.sha256(body), s.getSignature().toByteArray())) {
      throw new IllegalArgumentException("manifest signature does not check");
    }
    List<PeerAddress> holders = new ArrayList<>();
    for (ReplicaHolder h : b.getHoldersList()) {
      holders.add(new PeerAddress(NodeId.of(h.getNodeId().toByteArray()), h.getHost(),
          h.getPort()));
    }
    return new Manifest(NodeId.fromPublicKey(key), key, b.getVersion(), holders,
        b.getReplicationFactor(), s);
  }

  /** The holders' node IDs, in order. */
  public List<NodeId> holderIds() {
    List<NodeId> out = new ArrayList<>(holders.size());
    for (PeerAddress h : holders) {
      out.add(h.id());
    }
    return out;
  }

  /** Whether this node is one of the holders. */
  public boolean names(NodeId node) {
    for (PeerAddress h : holders) {
      if (h.id().equals(node)) {
        return true;
      }
    }
    return false;
  }

  /** The owner and the holders: everyone who keeps this owner's digest. */
  public List<NodeId> participants() {
    List<NodeId> out = new ArrayList<>();
    out.add(owner);
    out.addAll(holderIds());
    return out;
  }
}
