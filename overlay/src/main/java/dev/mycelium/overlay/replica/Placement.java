package dev.mycelium.overlay.replica;

import dev.mycelium.wire.NodeId;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Chooses an owner's holders by weighted rendezvous hashing.
 *
 * <p>Rendezvous (highest random weight) hashing, Thaler and Ravishankar, "Using name-based
 * mappings to increase hit rates" (IEEE/ACM ToN, 1998): every candidate gets a pseudo-random
 * score from a hash of (key, candidate) and the key goes to the R best. Because a candidate's
 * score does not depend on the other candidates, removing one holder leaves the other R-1 in the
 * top R and moves only the departed holder's share; adding a candidate moves a key only if the
 * newcomer outranks a holder. The weighted form, score = -w / ln(h) with h uniform in (0, 1),
 * is that of Schindelhauer and Schomaker, "Weighted distributed hash tables" (SPAA 2005): a
 * candidate with twice the weight wins twice as often.
 *
 * <p>The key is the owner's node ID, not a fragment ID: all of an owner's fragments share the
 * same holders, so one digest per owner covers them in anti-entropy.
 */
public final class Placement {
  private Placement() {}

  /**
   * A candidate's weight: more for more advertised free entries (logarithmically, so one huge
   * disk does not take everything), less for load and for a bad score; always positive, so a
   * peer that has not advertised yet can still be chosen when nothing better exists.
   */
  public static double weight(Candidate c) {
    double free = 1 + Math.log10(1 + (double) c.capacity().freeEntries());
    double load = 1.1 - c.capacity().load();
    double penalty = 1 + Math.max(0, -c.score()) / 10;
    return free * load / penalty;
  }

  /** The weighted rendezvous score of a candidate for a key; higher wins. */
  public static double score(NodeId key, NodeId candidate, double weight) {
    double h = unitHash(key, candidate);
    return -weight / Math.log(h);
  }

  /** The R best candidates for the key, best first. */
  public static List<NodeId> rank(NodeId key, Collection<Candidate> candidates, int r) {
    List<Candidate> sorted = new ArrayList<>(candidates);
    sorted.sort(Comparator.comparingDouble((Candidate c) -> -score(key, c.id(), weight(c)))
        .thenComparing(Candidate::id));
    List<NodeId> out = new ArrayList<>();
    for (Candidate c : sorted) {
      if (!c.id().equals(key) && out.size() < r && !out.contains(c.id())) {
        out.add(c.id());
      }
    }
    return out;
  }

  /**
   * Keeps the current holders that are still acceptable and fills the set up to R with the
   * best-ranked other candidates: holders stay while they stay, and only a departed holder's
   * place moves.
   *
   * @param keep current holders still in place, in manifest order
   */
  public static List<NodeId> refill(NodeId key, List<NodeId> keep,
      Collection<Candidate> candidates, int r) {
    Set<NodeId> out = new LinkedHashSet<>();
    for (NodeId h : keep) {
      if (out.size() < r && !h.equals(key)) {
        out.add(h);
      }
    }
    for (NodeId c : rank(key, candidates, candidates.size())) {
      if (out.size() >= r) {
        break;
      }
      out.add(c);
    }
    return new ArrayList<>(out);
  }

  /** A hash of (key, candidate) mapped into the open interval (0, 1). */
  static double unitHash(NodeId key, NodeId candidate) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
    sha.update(key.toBytes());
    sha.update(candidate.toBytes());
    long bits = ByteBuffer.wrap(sha.digest()).getLong() >>> 11; // 53 bits
    return (bits + 0.5) / (double) (1L << 53);
  }
}
