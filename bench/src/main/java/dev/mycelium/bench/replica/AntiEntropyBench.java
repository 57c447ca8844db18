package dev.mycelium.bench.replica;

import com.google.protobuf.ByteString;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.InMemoryFragmentStore;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.overlay.PeerAddress;
import dev.mycelium.overlay.replica.InMemoryHeldReplicas;
import dev.mycelium.overlay.replica.Manifest;
import dev.mycelium.overlay.replica.ReplicaConfig;
import dev.mycelium.overlay.replica.ReplicaCore;
import dev.mycelium.overlay.replica.ReplicaEffect;
import dev.mycelium.overlay.replica.ReplicaSealer;
import dev.mycelium.overlay.replica.StoreOwnFragments;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.SignedReplica;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Measures what anti-entropy costs on the wire: the bytes of the digest roots per owner in a
 * round between two holders in sync, and the bytes two holders exchange before any transfer
 * starts when one of them lacks d of the owner's fragments. It drives two real
 * {@link ReplicaCore}s and counts the serialized size of every Envelope between them, so the
 * numbers are those of the protocol, not of a model of it.
 *
 * <p>Usage: {@code AntiEntropyBench [storeSize] [leafBits] [seed] [d,d,...]}; defaults 100000,
 * 12, 1 and 0,1,10,100,1000.
 */
public final class AntiEntropyBench {
  private AntiEntropyBench() {}

  /**
   * One measurement.
   *
   * @param rootBytesPerOwner bytes of the DigestRoots message divided by the owners in it
   * @param bytesBeforeTransfer bytes of every message exchanged until the first fetch
   * @param messages messages exchanged
   * @param missingFound fragments the lacking side queued for transfer (should equal d)
   */
  public record Result(int storeSize, int differences, double rootBytesPerOwner,
      long bytesBeforeTransfer, long messages, int missingFound) {}

  private static OwnerKeys keys(int n) {
    byte[] s = new byte[32];
    s[0] = (byte) n;
    s[31] = 7;
    return OwnerKeys.fromSeed(s);
  }

  /**
   * Two holders of one owner's {@code storeSize} fragments; the second lacks {@code d} of them.
   * The first starts a round; messages go back and forth until none is left. Fetches are issued
   * only by a tick, which this never calls, so everything counted comes before transfer.
   */
  public static Result measure(int storeSize, int d, int leafBits, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    OwnerKeys owner = keys(1);
    OwnerKeys k1 = keys(2);
    OwnerKeys k2 = keys(3);
    PeerAddress a1 = new PeerAddress(k1.nodeId(), "10.0.0.2", 7000);
    PeerAddress a2 = new PeerAddress(k2.nodeId(), "10.0.0.3", 7000);
    Manifest m = Manifest.sign(owner, 1, List.of(a1, a2), 2);
    InMemoryHeldReplicas h1 = new InMemoryHeldReplicas();
    InMemoryHeldReplicas h2 = new InMemoryHeldReplicas();
    h1.putManifest(owner.nodeId(), m.signed());
    h2.putManifest(owner.nodeId(), m.signed());
    // The digest is built from IDs; the replica bytes never travel here, so any will do.
    SignedReplica placeholder = SignedReplica.newBuilder()
        .setBody(ByteString.copyFromUtf8("replica")).build();
    List<FragmentId> ids = new ArrayList<>(storeSize);
    for (int i = 0; i < storeSize; i++) {
      byte[] b = new byte[FragmentId.LENGTH];
      random.nextBytes(b);
      FragmentId id = FragmentId.of(b);
      ids.add(id);
      h1.putReplica(owner.nodeId(), id, placeholder);
      h2.putReplica(owner.nodeId(), id, placeholder);
    }
    for (int i = 0; i < d; i++) {
      int j = i + random.nextInt(storeSize - i);
      FragmentId t = ids.get(j);
      ids.set(j, ids.get(i));
      ids.set(i, t);
      h2.remove(t);
    }
    ReplicaConfig config = ReplicaConfig.DEFAULTS.withDigestLeafBits(leafBits);
    FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS);
    long now = 1_700_000_000_000L;
    ReplicaCore c1 = new ReplicaCore(config, k1, a1, new StoreOwnFragments(
        new InMemoryFragmentStore(codec), codec, k1.nodeId(), ReplicaSealer.sharedOnly(k1)), h1,
        new SplittableRandom(seed + 1), now);
    ReplicaCore c2 = new ReplicaCore(config, k2, a2, new StoreOwnFragments(
        new InMemoryFragmentStore(codec), codec, k2.nodeId(), ReplicaSealer.sharedOnly(k2)), h2,
        new SplittableRandom(seed + 2), now);
    Envelope roots = c1.rootsFor(List.of(owner.nodeId()));
    double perOwner = roots.getSerializedSize();

    record Msg(ReplicaCore to, NodeId from, Envelope env) {}
    ArrayDeque<Msg> queue = new ArrayDeque<>();
    queue.add(new Msg(c2, c1.id(), roots));
    long bytes = 0;
    long messages = 0;
    while (!queue.isEmpty()) {
      Msg msg = queue.poll();
      bytes += msg.env.getSerializedSize();
      messages++;
      ReplicaCore from = msg.to;
      for (ReplicaEffect e : from.onMessage(now, msg.from, msg.env)) {
        if (e instanceof ReplicaEffect.Send s) {
          if (s.envelope().hasReplicaFetch()) {
            throw new IllegalStateException("a fetch went out before any tick");
          }
          ReplicaCore to = s.to().equals(c1.id()) ? c1 : s.to().equals(c2.id()) ? c2 : null;
          if (to != null) {
            queue.add(new Msg(to, from.id(), s.envelope()));
          }
        } else if (e instanceof ReplicaEffect.Penalize p) {
          throw new IllegalStateException("unexpected penalty: " + p.reason());
        }
      }
    }
    // What a partner lists is fetched and verified before it counts: pending probes.
    return new Result(storeSize, d, perOwner, bytes, messages,
        c2.status().queued() + c2.pendingProbes());
  }

  /** Roots for many owners in one message, per owner (the framing is shared). */
  public static double rootBytesPerOwner(int owners) {
    OwnerKeys k = keys(9);
    ReplicaConfig config = ReplicaConfig.DEFAULTS;
    FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS);
    ReplicaCore c = new ReplicaCore(config, k, new PeerAddress(k.nodeId(), "h", 1),
        new StoreOwnFragments(new InMemoryFragmentStore(codec), codec, k.nodeId(),
            ReplicaSealer.sharedOnly(k)), new InMemoryHeldReplicas(), new SplittableRandom(1), 0);
    List<NodeId> ids = new ArrayList<>();
    for (int i = 0; i < owners; i++) {
      ids.add(keys(100 + i).nodeId());
    }
    return c.rootsFor(ids).getSerializedSize() / (double) owners;
  }

  /** Prints the roots per owner, then one table row per number of differences d. */
  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int bits = args.length > 1 ? Integer.parseInt(args[1]) : 12;
    long seed = args.length > 2 ? Long.parseLong(args[2]) : 1;
    String ds = args.length > 3 ? args[3] : "0,1,10,100,1000";
    System.out.printf(Locale.ROOT, "store %d fragments, %d-bit digest (%d leaf buckets), seed %d%n",
        n, bits, 1 << bits, seed);
    System.out.printf(Locale.ROOT, "roots per owner in sync: %.1f bytes (1 owner), %.1f (10),"
        + " %.1f (100)%n", rootBytesPerOwner(1), rootBytesPerOwner(10), rootBytesPerOwner(100));
    System.out.println("| d | bytes before transfer | messages | missing found | bytes per difference |");
    System.out.println("|---|---|---|---|---|");
    for (String s : ds.split(",")) {
      int d = Integer.parseInt(s.trim());
      Result r = measure(n, d, bits, seed);
      System.out.printf(Locale.ROOT, "| %d | %,d | %d | %d | %s |%n", d, r.bytesBeforeTransfer(),
          r.messages(), r.missingFound(),
          d == 0 ? "-" : String.format(Locale.ROOT, "%,.0f", r.bytesBeforeTransfer() / (double) d));
    }
  }
}
