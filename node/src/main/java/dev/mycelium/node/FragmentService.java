package dev.mycelium.node;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.model.FragmentStore;
import dev.mycelium.model.InvalidFragmentException;
import dev.mycelium.model.StoredFragment;
import dev.mycelium.model.Visibility;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.metrics.NodeMetrics;
import dev.mycelium.node.replica.BlankReadHook;
import dev.mycelium.node.replica.RepairLedger;
import dev.mycelium.node.replica.ReplicationHooks;
import dev.mycelium.storage.Embedder;
import dev.mycelium.storage.SearchFilter;
import dev.mycelium.storage.VectorHit;
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.storage.index.Vectors;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a node does with fragments on behalf of its clients: put, get, delete and search, plus
 * the two background duties that keep the vector index in step with the store (embedding
 * text-only puts, and reconciling the index at start).
 *
 * <p>The rule it keeps: a write is acknowledged once the signed fragment is in the store. The
 * embedder and the index are derived state (ADR 0002) and catch up in the background; the
 * index searches its not-yet-built part exactly, so a stored fragment with a vector is never
 * missed by a search.
 *
 * <p>Thread-safe: request handlers call it from several threads.
 */
public final class FragmentService {
  private static final Logger LOG = LoggerFactory.getLogger(FragmentService.class);

  /**
   * A fragment to store.
   *
   * @param text its text
   * @param vector the client's embedding, or {@code null} to embed in the background
   * @param metadata string to string
   * @param visibility private or shared
   */
  public record PutRequest(
      String text, float[] vector, Map<String, String> metadata, Visibility visibility) {}

  /**
   * The outcome of a put.
   *
   * @param id the fragment's content address
   * @param state its state after the put (DELETED when a tombstone already stands for it)
   * @param createdAtMillis the creation time signed into it
   * @param embedded whether it has a vector already (false: the embedder will make one)
   */
  public record PutResult(FragmentId id, FragmentState state, long createdAtMillis,
      boolean embedded) {}

  /**
   * One search hit. A {@link FragmentState#BLANK} or {@link FragmentState#LOST} hit carries no
   * fragment: its bytes are gone or corrupt, and the hit says so instead of failing the search.
   * A substitute stands in for such a hit when no copy of it can be had: it is a surviving
   * fragment near the lost one, never the original, and says which hit it replaces.
   *
   * @param id the fragment
   * @param score cosine similarity to the query, higher is closer
   * @param state its state at the node that answered
   * @param fragment the verified fragment when PRESENT
   * @param substituteFor the unavailable hit this one stands in for, or empty for a real hit
   * @param node the node that answered with this hit
   * @param owner the fragment's owner, when known: a hit owned by someone else is another
   *     user's shared knowledge, never this user's memory, and every result says so
   */
  public record SearchHit(FragmentId id, float score, FragmentState state,
      Optional<Fragment> fragment, Optional<FragmentId> substituteFor, NodeId node,
      Optional<NodeId> owner) {

    /** A hit whose owner is the fragment's, when the fragment is here. */
    public SearchHit(FragmentId id, float score, FragmentState state,
        Optional<Fragment> fragment, Optional<FragmentId> substituteFor, NodeId node) {
      this(id, score, state, fragment, substituteFor, node, fragment.map(Fragment::owner));
    }

    /** Whether this hit stands in for an unavailable one. */
    public boolean isSubstitute() {
      return substituteFor.isPresent();
    }
  }

  /**
   * Says whether a copy of a fragment that is not PRESENT here can be had right now (from a
   * holder, by the repair path). A search shows substitutes only for hits with no reachable
   * copy: a BLANK fragment that repair can fetch is only flagged. Replication installs one; until
   * then no copy is known, so every BLANK or LOST hit gets substitutes.
   */
  @FunctionalInterface
  public interface CopyLocator {
    boolean copyReachable(FragmentId id);
  }

  /**
   * Search hits, best first.
   *
   * @param hits at most k hits
   * @param tookMillis time spent
   */
  public record SearchResult(List<SearchHit> hits, long tookMillis) {}

  /**
   * One entry of the embedding queue: a fragment to embed, or (id null) a marker whose action
   * runs once everything queued before it is done.
   */
  private record EmbedJob(FragmentId id, Runnable marker) {}

  private final Identity identity;
  private final FragmentCodec codec;
  private final FragmentStore store;
  private final VectorIndex index;
  private final Embedder embedder;
  private final int overfetch;
  private final NodeMetrics metrics;
  private final LongSupplier clock;
  private final BlockingQueue<EmbedJob> embedQueue;
  private final AtomicBoolean indexLoaded = new AtomicBoolean();
  private final AtomicBoolean queueFullLogged = new AtomicBoolean();
  private final AtomicLong embedFailures = new AtomicLong();
  private volatile ReadThrough readThrough;
  private volatile ReplicationHooks replication;
  private volatile java.time.Duration writeTimeout = java.time.Duration.ofSeconds(10);

  /** The BLANK read-through, when replication is running. */
  private record ReadThrough(BlankReadHook hook, java.time.Duration timeout, RepairLedger ledger) {}
  private final AtomicLong sharedIngested = new AtomicLong();
  private volatile SharedQuota sharedQuota = new SharedQuota(SharedQuota.DEFAULTS);
  private final AtomicBoolean sharedQuotaSeeded = new AtomicBoolean();
  private final AtomicLong sharedOverQuota = new AtomicLong();
  private volatile int substitutesPerHit = 2;
  private volatile CopyLocator copies = id -> false;
  private final List<Consumer<Fragment>> putListeners =
      new CopyOnWriteArrayList<>();
  private final MemoryMarks marks = new MemoryMarks();
  /** Serialises updates so that two cannot supersede the same version. */
  private final Object updateLock = new Object();
  /** Expired fragments of other owners: hidden here, deleted only by their owner's tombstone. */
  private final Set<FragmentId> foreignExpired = ConcurrentHashMap.newKeySet();

  FragmentService(
      Identity identity,
      FragmentCodec codec,
      FragmentStore store,
      VectorIndex index,
      Embedder embedder,
      int overfetch,
      int queueCapacity,
      NodeMetrics metrics,
      LongSupplier clock) {
    this.identity = identity;
    this.codec = codec;
    this.store = store;
    this.index = index;
    this.embedder = embedder;
    this.overfetch = overfetch;
    this.metrics = metrics;
    this.clock = clock;
    this.embedQueue = new ArrayBlockingQueue<>(queueCapacity);
  }

  /**
   * Signs and stores a fragment; a text-only one is queued for the embedder.
   *
   * @throws InvalidFragmentException when the request is over a limit
   * @throws dev.mycelium.model.StoreFullException when it no longer fits
   */
  public PutResult put(PutRequest request) {
    float[] vector = request.vector() == null ? new float[0] : request.vector();
    Fragment f =
        codec.create(
            identity.keys(),
            clock.getAsLong(),
            request.text(),
            vector,
            request.metadata() == null ? Map.of() : request.metadata(),
            request.visibility() == null ? Visibility.PRIVATE : request.visibility());
    FragmentState state = store.put(f);
    if (state == FragmentState.PRESENT) {
      marks.note(f);
      if (f.hasVector()) {
        index.add(f.id(), f.vector());
      } else {
        queueForEmbedding(f.id());
      }
      ReplicationHooks r = replication;
      if (r != null) {
        r.stored(f.id());
      }
      for (Consumer<Fragment> l : putListeners) {
        try {
          l.accept(f);
        } catch (RuntimeException e) {
          LOG.warn("put listener failed on fragment {}: {}", f.id(), e.toString());
        }
      }
    }
    return new PutResult(f.id(), state, f.createdAtMillis(), f.hasVector());
  }

  private void queueForEmbedding(FragmentId id) {
    if (!embedQueue.offer(new EmbedJob(id, null))) {
      metrics.embedDeferred();
      if (queueFullLogged.compareAndSet(false, true)) {
        LOG.warn("the embedding queue is full; fragment {} and later text-only puts are stored "
            + "but embedded only at the next start (raise embedder.queue-capacity)", id);
      }
    }
  }

  /**
   * Makes reads of BLANK or LOST fragments ask one holder through {@code hook} first, waiting at
   * most {@code timeout}; what the holder sends is checked here before it is stored, and the
   * outcome is reported to {@code ledger}. Set by the replication service once it runs.
   */
  public void readThrough(BlankReadHook hook, java.time.Duration timeout, RepairLedger ledger) {
    this.readThrough = new ReadThrough(hook, timeout, ledger);
  }

  /**
   * Reads one fragment; unknown IDs answer empty. A BLANK or LOST fragment is first asked of one
   * holder (when replication runs), so the read answers PRESENT when that holder has a good copy
   * within the read timeout, and the state otherwise.
   */
  public Optional<StoredFragment> get(FragmentId id) {
    Optional<StoredFragment> sf = store.get(id);
    if (sf.isEmpty()) {
      return sf;
    }
    FragmentState state = sf.get().state();
    if (state != FragmentState.BLANK && state != FragmentState.LOST) {
      return sf;
    }
    ReplicationHooks r = replication;
    if (r != null && state == FragmentState.BLANK) {
      r.blank(id);
    }
    ReadThrough rt = readThrough;
    return rt == null ? sf : Optional.of(readThrough(rt, sf.get()));
  }

  /**
   * Connects replication: every durable put and delete of an own fragment, and every BLANK
   * read, is passed on from now on.
   */
  public void replication(ReplicationHooks hooks, java.time.Duration writeTimeout) {
    this.writeTimeout = writeTimeout;
    this.replication = hooks;
  }

  /**
   * Waits up to the write timeout ({@code mycelium.replication.write-timeout}) for {@code w}
   * holders to confirm a fragment just put.
   *
   * @return the holders that confirmed (fewer than {@code w} when the timeout passed first)
   * @throws NotReadyException when the node runs no replication
   */
  public Set<NodeId> awaitReplicas(FragmentId id, int w) {
    java.time.Duration timeout = writeTimeout;
    ReplicationHooks r = replication;
    if (r == null) {
      throw new NotReadyException("this node runs no replication, so no holder can confirm "
          + "\"replicas\": " + w + "; replication needs mycelium.peer.enabled = true");
    }
    try {
      return r.awaitConfirmed(id, w).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      return r.confirmed(id);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return r.confirmed(id);
    } catch (ExecutionException e) {
      return r.confirmed(id);
    }
  }

  /**
   * Like {@link #awaitReplicas} without holding the caller's thread: completes with the
   * holders that confirmed once {@code w} have, or with those that had when the write timeout
   * passed. Never completes exceptionally.
   *
   * @throws NotReadyException when the node runs no replication
   */
  public java.util.concurrent.CompletableFuture<Set<NodeId>> replicasLater(FragmentId id,
      int w) {
    ReplicationHooks r = replication;
    if (r == null) {
      throw new NotReadyException("this node runs no replication, so no holder can confirm "
          + "\"replicas\": " + w + "; replication needs mycelium.peer.enabled = true");
    }
    java.util.concurrent.CompletableFuture<Set<NodeId>> waiting = r.awaitConfirmed(id, w);
    return waiting
        .orTimeout(writeTimeout.toNanos(), TimeUnit.NANOSECONDS)
        .handle((confirmed, e) -> {
          if (e == null) {
            return confirmed;
          }
          // orTimeout failed the waiter itself, which tells the replication service to drop it.
          return r.confirmed(id);
        });
  }

  /** Whether replication is connected (so a put may wait for holders). */
  public boolean replicating() {
    return replication != null;
  }

  /**
   * Where an own fragment's replicas stand, for the explorer.
   *
   * @param holders this node's holders (its signed manifest): every own fragment is placed on
   *     them, so they are the same for all its fragments
   * @param confirmed the holders that acknowledged storing this fragment's replica since the
   *     node started (remembered for its most recent puts only)
   */
  public record Replicas(List<NodeId> holders, Set<NodeId> confirmed) {}

  /**
   * Where the replicas of one of this node's own fragments stand; empty when the node runs no
   * replication or the fragment has another owner (this node keeps no holders for it).
   */
  public Optional<Replicas> replicas(FragmentId id, Optional<NodeId> owner) {
    ReplicationHooks r = replication;
    if (r == null || owner.isEmpty() || !owner.get().equals(identity.nodeId())) {
      return Optional.empty();
    }
    return Optional.of(new Replicas(r.holders(), r.confirmed(id)));
  }

  /**
   * A fragment was restored into the store behind the service's back (by repair): put it in
   * the index, as a put would.
   */
  public void restored(FragmentId id) {
    Optional<StoredFragment> sf = store.get(id);
    if (sf.isEmpty() || sf.get().fragment().isEmpty()) {
      return;
    }
    Fragment f = sf.get().fragment().get();
    marks.note(f);
    if (f.hasVector()) {
      index.add(id, f.vector());
    } else {
      queueForEmbedding(id);
    }
  }

  /** A fragment's tombstone was applied behind the service's back: drop it from the index. */
  public void forgotten(FragmentId id) {
    index.remove(id);
    marks.forgotten(id);
    foreignExpired.remove(id);
  }

  private StoredFragment readThrough(ReadThrough rt, StoredFragment missing) {
    FragmentId id = missing.id();
    CompletableFuture<Optional<BlankReadHook.Fetched>> asked;
    Optional<BlankReadHook.Fetched> got;
    try {
      asked = rt.hook().fetchOne(id, missing.owner());
      got = asked.get(rt.timeout().toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      rt.ledger().failed(id, null, "no holder answered within " + rt.timeout().toMillis()
          + " ms (replication.read-timeout); answering " + missing.state());
      return missing;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return missing;
    } catch (ExecutionException | RuntimeException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      rt.ledger().failed(id, null, "asking a holder failed: " + cause);
      return missing;
    }
    if (got.isEmpty()) {
      rt.ledger().failed(id, null, "no holder had a good copy");
      return missing;
    }
    Fragment f;
    try {
      f = codec.verify(id, got.get().fragment());
    } catch (InvalidFragmentException e) {
      rt.ledger().failed(id, got.get().source(), "the copy does not check: " + e.getMessage());
      return missing;
    }
    FragmentState after = store.put(f);
    if (after != FragmentState.PRESENT) {
      return store.get(id).orElse(missing);
    }
    marks.note(f);
    if (f.hasVector()) {
      index.add(id, f.vector());
    } else {
      queueForEmbedding(id);
    }
    rt.ledger().repaired(id, got.get().source(), f.signed().getSerializedSize(), false);
    return StoredFragment.present(f);
  }

  /**
   * Deletes one of this node's fragments with a signed tombstone.
   *
   * @return the state afterwards (DELETED), or empty when the ID is unknown
   * @throws NotOwnerException when another node owns the fragment
   */
  public Optional<FragmentState> delete(FragmentId id) {
    Optional<StoredFragment> current = store.get(id);
    if (current.isEmpty()) {
      return Optional.empty();
    }
    StoredFragment sf = current.get();
    if (sf.state() == FragmentState.DELETED) {
      return Optional.of(FragmentState.DELETED);
    }
    if (sf.owner().isPresent() && !sf.owner().get().equals(identity.nodeId())) {
      throw new NotOwnerException(
          "fragment " + id + " belongs to node " + sf.owner().get()
              + "; only its owner can delete it");
    }
    SignedTombstone tombstone = codec.tombstone(identity.keys(), id, clock.getAsLong());
    store.delete(id, tombstone);
    index.remove(id);
    marks.forgotten(id);
    ReplicationHooks r = replication;
    if (r != null) {
      r.deleted(id, tombstone);
    }
    return Optional.of(FragmentState.DELETED);
  }

  /**
   * The {@code k} fragments nearest to the query that pass the filter, best first. Fragments
   * that are BLANK or LOST here come back flagged (no text), never as errors; when no copy of
   * such a hit can be had (see {@link CopyLocator}), up to {@link #substitutesPerHit()} of its
   * surviving nearest neighbours follow it, marked as substitutes for it. Substitutes are
   * extra: the result may hold more than {@code k} entries, but at most {@code k} real hits.
   *
   * @param text the query text (embedded here), or {@code null} when a vector is given
   * @param vector the query vector, or {@code null}
   * @throws InvalidFragmentException when the vector has the wrong dimension
   */
  public SearchResult search(String text, float[] vector, int k, SearchFilter filter) {
    long start = System.nanoTime();
    float[] query = queryVector(text, vector);
    List<SearchHit> hits = nearest(query, k, filter, false);
    return new SearchResult(withSubstitutes(query, hits, filter),
        (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * The query vector of a search: the client's, or the text embedded here.
   *
   * @throws InvalidFragmentException when the vector has the wrong dimension
   */
  public float[] queryVector(String text, float[] vector) {
    float[] query = vector != null ? vector : embedder.embed(text);
    if (query.length != codec.limits().dimension()) {
      throw new InvalidFragmentException(
          "vector",
          "the query vector has " + query.length + " dimensions; this store uses "
              + codec.limits().dimension() + " (storage.dimension)");
    }
    return query;
  }

  /**
   * What this node answers to another node's search: only PRESENT fragments whose owner made
   * them shared, so that private fragments (and flagged placeholders) never leave the node.
   *
   * @throws InvalidFragmentException when the vector has the wrong dimension
   */
  public List<SearchHit> searchShared(float[] vector, int k, SearchFilter filter) {
    return nearest(queryVector(null, vector), k, filter, true);
  }

  private List<SearchHit> nearest(float[] query, int k, SearchFilter filter, boolean sharedOnly) {
    boolean unfiltered = filter.equals(SearchFilter.NONE) && !sharedOnly;
    long now = clock.getAsLong();
    Map<FragmentId, StoredFragment> seen = new ConcurrentHashMap<>();
    // Without a filter every indexed ID is a candidate and only the returned ones are looked
    // up; with one, each candidate is read and checked (a read verifies the hash, so this is
    // reserved for filtered searches).
    Predicate<FragmentId> accept =
        unfiltered
            ? id -> current(id, now)
            : id -> {
                if (!current(id, now)) {
                  return false;
                }
                Optional<StoredFragment> sf = store.get(id);
                sf.ifPresent(s -> seen.put(id, s));
                return sf.isPresent() && passes(sf.get(), filter, sharedOnly);
              };
    int want = (int) Math.min((long) k * overfetch, Math.max(k, 10_000));
    List<VectorHit> candidates = index.search(query, want, accept);
    List<SearchHit> hits = new ArrayList<>(k);
    for (VectorHit h : candidates) {
      if (hits.size() == k) {
        break;
      }
      StoredFragment sf = seen.get(h.id());
      if (sf == null) {
        Optional<StoredFragment> read = store.get(h.id());
        if (read.isEmpty()) {
          continue;
        }
        sf = read.get();
      }
      if (!passes(sf, filter, sharedOnly) || !current(h.id(), now)) {
        continue;
      }
      hits.add(new SearchHit(h.id(), h.score(), sf.state(), sf.fragment(), Optional.empty(),
          identity.nodeId(), sf.owner()));
    }
    return hits;
  }

  /**
   * Puts the surviving nearest neighbours of every unavailable hit right after it. The lost
   * fragment's vector is still in the index, so "near the lost one" is measured from what it
   * meant, not from the query; each substitute is scored against the query like any hit.
   */
  private List<SearchHit> withSubstitutes(float[] query, List<SearchHit> hits,
      SearchFilter filter) {
    int per = substitutesPerHit;
    if (per == 0 || hits.stream().allMatch(h -> h.state() == FragmentState.PRESENT)) {
      return hits;
    }
    Set<FragmentId> used = new HashSet<>();
    hits.forEach(h -> used.add(h.id()));
    long now = clock.getAsLong();
    List<SearchHit> out = new ArrayList<>(hits.size() + per);
    for (SearchHit h : hits) {
      out.add(h);
      if (h.state() == FragmentState.PRESENT || copyReachable(h.id())) {
        continue;
      }
      Optional<float[]> lost = index.vector(h.id());
      if (lost.isEmpty()) {
        continue;
      }
      Map<FragmentId, StoredFragment> read = new HashMap<>();
      Predicate<FragmentId> survivor = id -> {
        if (used.contains(id) || !current(id, now)) {
          return false;
        }
        Optional<StoredFragment> sf = store.get(id);
        if (sf.isEmpty() || sf.get().state() != FragmentState.PRESENT
            || !passes(sf.get(), filter, false)) {
          return false;
        }
        read.put(id, sf.get());
        return true;
      };
      for (VectorHit n : index.search(lost.get(), per, survivor)) {
        StoredFragment sf = read.get(n.id());
        if (sf == null || !used.add(n.id())) {
          continue;
        }
        float score = index.vector(n.id()).map(v -> Vectors.cosine(query, v)).orElse(0f);
        out.add(new SearchHit(n.id(), score, FragmentState.PRESENT, sf.fragment(),
            Optional.of(h.id()), identity.nodeId()));
      }
    }
    return out;
  }

  private boolean copyReachable(FragmentId id) {
    try {
      return copies.copyReachable(id);
    } catch (RuntimeException e) {
      LOG.debug("copy locator failed for {}: {}", id, e.toString());
      return false;
    }
  }

  /** Installs the repair path's answer to "can a copy of this fragment be had now?". */
  public void setCopyLocator(CopyLocator locator) {
    this.copies = Objects.requireNonNull(locator, "copy locator");
  }

  /** Substitutes shown per unavailable hit (0 turns the semantic fallback off). */
  public int substitutesPerHit() {
    return substitutesPerHit;
  }

  /** Sets the substitutes shown per unavailable hit, 0 to 10. */
  public void setSubstitutesPerHit(int n) {
    if (n < 0 || n > 10) {
      throw new IllegalArgumentException("substitutes per hit must be from 0 to 10, got " + n);
    }
    this.substitutesPerHit = n;
  }

  /**
   * Stores and indexes another owner's shared fragment that arrived over the network, after
   * checking its hash, canonical form, limits and owner signature.
   *
   * @return the fragment's state here afterwards (DELETED when a tombstone stands for it)
   * @throws InvalidFragmentException when it is forged, malformed, over a limit or private
   * @throws dev.mycelium.model.StoreFullException when it no longer fits
   * @throws SharedQuota.Exceeded when its owner (or all other owners) are over their quota
   */
  public FragmentState ingestShared(SignedFragment signed) {
    Fragment f = verifyShared(signed);
    Optional<StoredFragment> before = store.get(f.id());
    if (before.isPresent() && before.get().state() == FragmentState.PRESENT) {
      return FragmentState.PRESENT;
    }
    boolean charged = false;
    if (!f.owner().equals(identity.nodeId())) {
      seedSharedQuota();
      long size = signed.getSerializedSize();
      if (!sharedQuota.tryAdd(f.owner(), size)) {
        sharedOverQuota.incrementAndGet();
        throw new SharedQuota.Exceeded("owner " + f.owner().shortString()
            + " is over its shared quota here (" + sharedQuota.entries(f.owner()) + " fragments, "
            + sharedQuota.bytes(f.owner()) + " bytes kept)");
      }
      charged = true;
    }
    FragmentState state;
    try {
      state = store.put(f);
    } catch (RuntimeException e) {
      if (charged) {
        sharedQuota.release(f.owner(), signed.getSerializedSize());
      }
      throw e;
    }
    if (state != FragmentState.PRESENT && charged) {
      sharedQuota.release(f.owner(), signed.getSerializedSize());
    }
    if (state == FragmentState.PRESENT) {
      marks.note(f);
      sharedIngested.incrementAndGet();
      if (f.hasVector()) {
        index.add(f.id(), f.vector());
      } else {
        queueForEmbedding(f.id());
      }
    }
    return state;
  }

  /**
   * Checks a shared fragment from another node (hash, canonical form, limits, owner signature)
   * without storing it, as a network search does with the hits it receives.
   *
   * @throws InvalidFragmentException when it is forged, malformed, over a limit or private
   */
  public Fragment verifyShared(SignedFragment signed) {
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

  /**
   * Calls {@code listener} after every put by this node's own client that stored a new
   * fragment (state PRESENT), on the calling thread: publishing shared fragments and placing
   * replicas start from here. A listener that throws is logged; the put still succeeds.
   */
  public void addPutListener(Consumer<Fragment> listener) {
    putListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /**
   * Replaces the quota on other owners' shared fragments (config, tests). What the store
   * already holds is counted against the new one on the next ingest.
   */
  public void setSharedQuota(SharedQuota.Limits limits) {
    this.sharedQuota = new SharedQuota(limits);
    sharedQuotaSeeded.set(false);
  }

  /** The quota on other owners' shared fragments, with what it holds. */
  public SharedQuota sharedQuota() {
    return sharedQuota;
  }

  /** Shared fragments refused because their owner was over its quota, since start. */
  public long sharedOverQuota() {
    return sharedOverQuota.get();
  }

  /** Counts, once, the other owners' fragments the store already holds against the quota. */
  private void seedSharedQuota() {
    if (sharedQuotaSeeded.getAndSet(true)) {
      return;
    }
    SharedQuota q = sharedQuota;
    store.forEachId(id -> store.get(id).ifPresent(sf -> {
      if (sf.state() == FragmentState.PRESENT && sf.owner().isPresent()
          && !sf.owner().get().equals(identity.nodeId())) {
        q.account(sf.owner().get(), sf.fragment().orElseThrow().signed().getSerializedSize());
      }
    }));
  }

  /** Shared fragments of other nodes stored here since start. */
  public long sharedIngested() {
    return sharedIngested.get();
  }

  private static boolean passes(StoredFragment sf, SearchFilter filter, boolean sharedOnly) {
    if (sharedOnly) {
      return sf.state() == FragmentState.PRESENT
          && sf.fragment().orElseThrow().visibility() == Visibility.SHARED
          && filter.test(sf.fragment().orElseThrow());
    }
    switch (sf.state()) {
      case PRESENT:
        return filter.test(sf.fragment().orElseThrow());
      case BLANK:
      case LOST:
        // Only the owner is known of a fragment without bytes: it passes a filter on the owner
        // alone, flagged, so the caller learns that a match may be missing its text.
        return filter.metadata().isEmpty()
            && filter.fromMillis().isEmpty()
            && filter.toMillis().isEmpty()
            && (filter.owner().isEmpty() || filter.owner().equals(sf.owner()));
      default:
        return false;
    }
  }

  /** Whether the index has caught up with the store after start. */
  public boolean indexLoaded() {
    return indexLoaded.get();
  }

  /** Bytes of embedding-model weights the embedder holds in memory. */
  public long embedderModelBytes() {
    return embedder.modelBytes();
  }

  /**
   * Bytes the vector index holds in memory, estimated from its size: the float vectors and the
   * graph's neighbour lists (jvector keeps both on the heap).
   */
  public long indexMemoryBytes(int dimension, int maxDegree) {
    return index.size() * (4L * dimension + 4L * maxDegree + 64);
  }

  /** Text-only fragments waiting to be embedded. */
  public long embedQueueSize() {
    return embedQueue.size();
  }

  /**
   * Brings the index in step with the store after start: when the index holds as many vectors
   * as the store holds present fragments it is current; otherwise every fragment is re-added
   * (adds replace) or queued for embedding, and deleted ones are removed. Runs on its own
   * thread; interruptible.
   */
  void reconcileIndex() throws InterruptedException {
    loadMarks();
    long present = store.stats().byState().getOrDefault(FragmentState.PRESENT, 0L);
    long indexed = index.size();
    if (present == indexed) {
      LOG.info("vector index is current ({} vectors)", indexed);
      indexLoaded.set(true);
      return;
    }
    LOG.info("vector index has {} vectors for {} present fragments; rebuilding from the store",
        indexed, present);
    long start = System.nanoTime();
    AtomicLong added = new AtomicLong();
    AtomicLong queued = new AtomicLong();
    List<FragmentId> ids = new ArrayList<>();
    store.forEachId(ids::add);
    for (FragmentId id : ids) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("index rebuild stopped");
      }
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isEmpty()) {
        continue;
      }
      if (sf.get().state() == FragmentState.PRESENT) {
        Fragment f = sf.get().fragment().orElseThrow();
        if (f.hasVector()) {
          index.add(id, f.vector());
          added.incrementAndGet();
        } else {
          embedQueue.put(new EmbedJob(id, null));
          queued.incrementAndGet();
        }
      } else if (sf.get().state() == FragmentState.DELETED) {
        index.remove(id);
      }
    }
    LOG.info("vector index refilled: {} vectors added, {} texts queued for embedding, in {} ms",
        added.get(), queued.get(), (System.nanoTime() - start) / 1_000_000);
    if (queued.get() == 0) {
      indexLoaded.set(true);
      return;
    }
    // Ready once the texts queued above are embedded too: until then they are not searchable.
    embedQueue.put(
        new EmbedJob(
            null,
            () -> {
              indexLoaded.set(true);
              LOG.info("vector index loaded: {} vectors", index.size());
            }));
  }

  /** Embeds queued text-only fragments until interrupted. */
  void embedLoop() {
    try {
      // The built-in model loads lazily and takes seconds; load it now, off the request path,
      // so that the first search by text does not pay for it.
      try {
        embedder.embed("mycelium");
      } catch (RuntimeException e) {
        LOG.warn("the embedder failed to warm up: {}", e.toString());
      }
      while (!Thread.currentThread().isInterrupted()) {
        EmbedJob job;
        try {
          job = embedQueue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        run(job);
      }
    } catch (Error e) {
      // Nothing embeds any more: say so where an operator looks (/ready, the log), since texts
      // are still stored and would otherwise wait for a vector that never comes.
      embedderStopped = e.toString();
      LOG.error("the embedder stopped ({}); texts are stored but not embedded until the node "
          + "restarts", e.toString(), e);
      throw e;
    }
  }

  private volatile String embedderStopped;

  /** Why the embedding thread stopped for good (an Error such as running out of heap). */
  public Optional<String> embedderStopped() {
    return Optional.ofNullable(embedderStopped);
  }

  private void run(EmbedJob job) {
    if (job.id() == null) {
      job.marker().run();
    } else {
      embedOne(job.id());
    }
  }

  /** Embeds one queued fragment, if it is still present and has no vector of its own. */
  void embedOne(FragmentId id) {
    try {
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isEmpty() || sf.get().state() != FragmentState.PRESENT) {
        return;
      }
      Fragment f = sf.get().fragment().orElseThrow();
      if (f.hasVector()) {
        return;
      }
      index.add(id, embedder.embed(f.text()));
      metrics.embedded();
      // A delete that ran while the text was being embedded removed nothing from the index.
      Optional<StoredFragment> after = store.get(id);
      if (after.isEmpty() || after.get().state() == FragmentState.DELETED) {
        index.remove(id);
      }
    } catch (RuntimeException e) {
      if (embedFailures.incrementAndGet() <= 10) {
        LOG.warn("could not embed fragment {}: {}", id, e.toString());
      }
    }
  }

  /** Embeds everything queued, on the calling thread (for tests and orderly stops). */
  void drainEmbedQueue() {
    EmbedJob job;
    while ((job = embedQueue.poll()) != null) {
      run(job);
    }
  }

  // ---- memory operations: updates, expiry, listing, bulk delete, export -------------------

  /**
   * Whether a fragment is current: neither superseded by a newer version of the same owner nor
   * expired. Searches and listings show only current fragments; a read by ID shows any.
   */
  private boolean current(FragmentId id, long nowMillis) {
    if (marks.isEmpty()) {
      return true;
    }
    return !marks.expired(id, nowMillis) && supersededBy(id).isEmpty();
  }

  /** The newer version of {@code id} (same owner), if an update superseded it. */
  public Optional<FragmentId> supersededBy(FragmentId id) {
    return marks.supersededBy(id, this::ownerOf);
  }

  /** The owner of a stored fragment as the store knows it, without a read-through. */
  public Optional<NodeId> ownerOf(FragmentId id) {
    return store.get(id).flatMap(StoredFragment::owner);
  }

  /** This node's ID: the owner of every fragment its clients put. */
  public NodeId nodeId() {
    return identity.nodeId();
  }

  /** The IDs in the store, read before any is looked up (no reads inside the iteration). */
  private List<FragmentId> allIds() {
    List<FragmentId> ids = new ArrayList<>();
    store.forEachId(ids::add);
    return ids;
  }

  /** Reads every stored fragment's links and expiry into the marks (at start). */
  private void loadMarks() throws InterruptedException {
    List<FragmentId> ids = allIds();
    long noted = 0;
    for (FragmentId id : ids) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("loading memory marks stopped");
      }
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isPresent() && sf.get().fragment().isPresent()) {
        Fragment f = sf.get().fragment().get();
        if (f.metadata().containsKey(MemoryMarks.SUPERSEDES)
            || f.metadata().containsKey(MemoryMarks.EXPIRES_AT)) {
          marks.note(f);
          noted++;
        }
      }
    }
    if (noted > 0) {
      LOG.info("{} fragments carry an update link or an expiry", noted);
    }
  }

  /**
   * Stores a new version of one of this node's fragments: the request's metadata must name
   * {@code older} under {@link MemoryMarks#SUPERSEDES} (so that the link is signed into the new
   * fragment). Only the newest version of a present fragment of this node can be updated, so a
   * history never forks.
   *
   * @throws IllegalArgumentException when {@code older} is unknown, not PRESENT, or not the
   *     newest version (the message names the newer one)
   * @throws NotOwnerException when another node owns {@code older}
   */
  public PutResult update(PutRequest request, FragmentId older) {
    if (!older.toString().equals(request.metadata().get(MemoryMarks.SUPERSEDES))) {
      throw new IllegalStateException("the update's metadata must name the version it replaces");
    }
    synchronized (updateLock) {
      Optional<StoredFragment> old = store.get(older);
      if (old.isEmpty()) {
        throw new IllegalArgumentException("no fragment " + older + " at this node to update");
      }
      if (old.get().owner().isPresent() && !old.get().owner().get().equals(identity.nodeId())) {
        throw new NotOwnerException("fragment " + older + " belongs to node "
            + old.get().owner().get() + "; only its owner can update it");
      }
      if (old.get().state() != FragmentState.PRESENT) {
        throw new IllegalArgumentException("fragment " + older + " is " + old.get().state()
            + "; only a PRESENT fragment can be updated");
      }
      Optional<FragmentId> newer = supersededBy(older);
      if (newer.isPresent()) {
        throw new IllegalArgumentException("fragment " + older + " was already updated by "
            + newer.get() + "; update the newest version (see its history)");
      }
      return put(request);
    }
  }

  /**
   * One version in a fragment's history.
   *
   * @param id the version's ID
   * @param stored its state here and, when PRESENT, the fragment; empty when this node does
   *     not know the ID (an older version that never reached it)
   * @param supersededBy the next version, or empty for the newest
   */
  public record Version(FragmentId id, Optional<StoredFragment> stored,
      Optional<FragmentId> supersededBy) {}

  /** Most versions a history walks, each way. */
  static final int MAX_HISTORY = 1000;

  /**
   * Every version of the fragment {@code id} belongs to, oldest first: back through the links
   * each version signed, forward through the versions that supersede it.
   *
   * @return empty when {@code id} is unknown here
   */
  public Optional<List<Version>> history(FragmentId id) {
    Optional<StoredFragment> start = store.get(id);
    if (start.isEmpty()) {
      return Optional.empty();
    }
    java.util.ArrayDeque<FragmentId> older = new java.util.ArrayDeque<>();
    Set<FragmentId> seen = new HashSet<>();
    seen.add(id);
    Optional<StoredFragment> at = start;
    while (older.size() < MAX_HISTORY && at.isPresent() && at.get().fragment().isPresent()) {
      Optional<FragmentId> prev = MemoryMarks.supersedesOf(at.get().fragment().get());
      if (prev.isEmpty() || !seen.add(prev.get())) {
        break;
      }
      older.addFirst(prev.get());
      at = store.get(prev.get());
    }
    List<FragmentId> chain = new ArrayList<>(older);
    chain.add(id);
    FragmentId last = id;
    for (int i = 0; i < MAX_HISTORY; i++) {
      Optional<FragmentId> next = supersededBy(last);
      if (next.isEmpty() || !seen.add(next.get())) {
        break;
      }
      chain.add(next.get());
      last = next.get();
    }
    List<Version> out = new ArrayList<>(chain.size());
    for (int i = 0; i < chain.size(); i++) {
      FragmentId v = chain.get(i);
      out.add(new Version(v, store.get(v),
          i + 1 < chain.size() ? Optional.of(chain.get(i + 1)) : Optional.empty()));
    }
    return Optional.of(out);
  }

  /**
   * A page of a listing.
   *
   * @param total how many fragments match
   * @param fragments the newest {@code limit} of them, newest first
   */
  public record Listing(long total, List<StoredFragment> fragments) {}

  /**
   * Stored fragments that pass the filter, newest first, without a query. Superseded and
   * expired ones are left out unless {@code includeHidden}. Reads every stored fragment: meant
   * for browsing, export and bulk deletes, not for the hot path.
   */
  public Listing list(SearchFilter filter, boolean includeHidden, int limit) {
    return list(filter, includeHidden, Set.of(FragmentState.PRESENT), limit);
  }

  /**
   * Like {@link #list(SearchFilter, boolean, int)}, over the given states. A fragment without
   * bytes here (BLANK, LOST, DELETED) is known only by its ID and maybe its owner: it passes a
   * filter on the owner only, has no creation time, and comes before the PRESENT ones (it is
   * what needs attention), in ID order.
   */
  public Listing list(SearchFilter filter, boolean includeHidden, Set<FragmentState> states,
      int limit) {
    boolean plainFilter = filter.metadata().isEmpty() && filter.fromMillis().isEmpty()
        && filter.toMillis().isEmpty();
    List<StoredFragment> flagged = new ArrayList<>();
    long flaggedTotal = 0;
    if (plainFilter && states.stream().anyMatch(st -> st != FragmentState.PRESENT)) {
      java.util.PriorityQueue<StoredFragment> first = new java.util.PriorityQueue<>(
          java.util.Comparator.comparing((StoredFragment sf) -> sf.id().toString())
              .reversed());
      for (FragmentId id : allIds()) {
        Optional<StoredFragment> sf = store.get(id);
        if (sf.isEmpty() || sf.get().state() == FragmentState.PRESENT
            || !states.contains(sf.get().state())
            || (filter.owner().isPresent() && !filter.owner().equals(sf.get().owner()))) {
          continue;
        }
        flaggedTotal++;
        first.add(sf.get());
        if (first.size() > limit) {
          first.poll();
        }
      }
      while (!first.isEmpty()) {
        flagged.add(first.poll());
      }
      java.util.Collections.reverse(flagged);
    }
    if (!states.contains(FragmentState.PRESENT)) {
      return new Listing(flaggedTotal, flagged);
    }
    Listing present = listPresent(filter, includeHidden, limit - flagged.size());
    List<StoredFragment> out = new ArrayList<>(flagged);
    out.addAll(present.fragments());
    return new Listing(flaggedTotal + present.total(), out);
  }

  private Listing listPresent(SearchFilter filter, boolean includeHidden, int limit) {
    long now = clock.getAsLong();
    java.util.PriorityQueue<Fragment> newest = new java.util.PriorityQueue<>(
        java.util.Comparator.comparingLong(Fragment::createdAtMillis)
            .thenComparing(f -> f.id().toString(), java.util.Comparator.reverseOrder()));
    long total = 0;
    for (FragmentId id : allIds()) {
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isEmpty() || sf.get().state() != FragmentState.PRESENT
          || !filter.test(sf.get().fragment().orElseThrow())
          || (!includeHidden && !current(id, now))) {
        continue;
      }
      total++;
      newest.add(sf.get().fragment().get());
      if (newest.size() > limit) {
        newest.poll();
      }
    }
    List<StoredFragment> out = new ArrayList<>(newest.size());
    while (!newest.isEmpty()) {
      out.add(StoredFragment.present(newest.poll()));
    }
    java.util.Collections.reverse(out);
    return new Listing(total, out);
  }

  /**
   * The outcome of a delete by filter.
   *
   * @param matched how many of this node's fragments matched
   * @param deleted how many were deleted (0 on a dry run)
   * @param sample up to 100 of the matching IDs
   */
  public record ForgetResult(long matched, long deleted, List<FragmentId> sample) {}

  /**
   * Deletes every fragment of this node that passes {@code filter}, superseded and expired
   * versions included, with signed tombstones; a dry run only counts. A real run takes the
   * count the caller saw ({@code expect}) and refuses when the filter now matches another
   * number, so that what is deleted is what the caller counted.
   *
   * @throws IllegalStateException when {@code expect} differs from the count
   */
  public ForgetResult forget(SearchFilter filter, boolean dryRun, long expect) {
    SearchFilter own = new SearchFilter(Optional.of(identity.nodeId()), filter.metadata(),
        filter.fromMillis(), filter.toMillis());
    List<FragmentId> matching = new ArrayList<>();
    for (FragmentId id : allIds()) {
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isPresent() && sf.get().state() == FragmentState.PRESENT
          && own.test(sf.get().fragment().orElseThrow())) {
        matching.add(id);
      }
    }
    matching.sort(java.util.Comparator.comparing(FragmentId::toString));
    List<FragmentId> sample = List.copyOf(matching.subList(0, Math.min(100, matching.size())));
    if (dryRun) {
      return new ForgetResult(matching.size(), 0, sample);
    }
    if (expect != matching.size()) {
      throw new IllegalStateException("the filter matches " + matching.size()
          + " fragments now, not " + expect + "; count again with a dry run");
    }
    long deleted = 0;
    for (FragmentId id : matching) {
      if (delete(id).isPresent()) {
        deleted++;
      }
    }
    return new ForgetResult(matching.size(), deleted, sample);
  }

  /**
   * Deletes this node's expired fragments with signed tombstones (which replication carries to
   * every holder), at most {@code max} per call. Another owner's expired fragment is only hidden
   * here: its owner's tombstone deletes it.
   *
   * @return how many were deleted
   */
  public int sweepExpired(int max) {
    long now = clock.getAsLong();
    int deleted = 0;
    for (FragmentId id : marks.expiredBy(now, max + foreignExpired.size())) {
      if (deleted >= max) {
        break;
      }
      if (foreignExpired.contains(id)) {
        continue;
      }
      Optional<NodeId> owner = ownerOf(id);
      if (owner.isPresent() && !owner.get().equals(identity.nodeId())) {
        foreignExpired.add(id);
        continue;
      }
      try {
        if (delete(id).isPresent()) {
          deleted++;
        } else {
          marks.forgotten(id);
        }
      } catch (RuntimeException e) {
        LOG.warn("could not delete expired fragment {}: {}", id, e.toString());
      }
    }
    if (deleted > 0) {
      LOG.info("deleted {} expired fragments", deleted);
    }
    return deleted;
  }

  /**
   * The nearest current fragment of this node whose agent and run equal those of
   * {@code metadata} (both absent counts as equal) and whose vector is at least
   * {@code similarity} close to {@code vector}: the near-duplicate a put may return instead of
   * storing a copy.
   */
  public Optional<SearchHit> nearDuplicate(float[] vector, Map<String, String> metadata,
      double similarity) {
    Map<String, String> scope = new HashMap<>();
    for (String key : List.of(MemoryMarks.AGENT, MemoryMarks.RUN)) {
      if (metadata.containsKey(key)) {
        scope.put(key, metadata.get(key));
      }
    }
    SearchFilter filter = new SearchFilter(Optional.of(identity.nodeId()), scope,
        Optional.empty(), Optional.empty());
    for (SearchHit h : nearest(queryVector(null, vector), 10, filter, false)) {
      if (h.score() < similarity) {
        break;
      }
      if (h.state() != FragmentState.PRESENT) {
        continue;
      }
      Map<String, String> md = h.fragment().orElseThrow().metadata();
      if (Objects.equals(md.get(MemoryMarks.AGENT), metadata.get(MemoryMarks.AGENT))
          && Objects.equals(md.get(MemoryMarks.RUN), metadata.get(MemoryMarks.RUN))) {
        return Optional.of(h);
      }
    }
    return Optional.empty();
  }

  /**
   * This node's own PRESENT fragments, oldest first (by creation time, then ID), current or
   * not: what an export writes, in an order that does not depend on how the store was filled.
   */
  public List<Fragment> ownFragments() {
    List<Fragment> out = new ArrayList<>();
    for (FragmentId id : allIds()) {
      Optional<StoredFragment> sf = store.get(id);
      if (sf.isPresent() && sf.get().state() == FragmentState.PRESENT
          && sf.get().fragment().get().owner().equals(identity.nodeId())) {
        out.add(sf.get().fragment().get());
      }
    }
    out.sort(java.util.Comparator.comparingLong(Fragment::createdAtMillis)
        .thenComparing(f -> f.id().toString()));
    return out;
  }

  FragmentStore store() {
    return store;
  }

  VectorIndex index() {
    return index;
  }
}
