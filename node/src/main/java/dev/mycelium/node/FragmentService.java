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
import dev.mycelium.storage.VectorIndex;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedFragment;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
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
 * <p>This class is the face callers use; each concept behind it lives in its own room: the
 * store-then-index write path (puts, read-through repairs, restored replicas and shared
 * fragments from other nodes are indexed through it once the store kept them), the embedding
 * queue, the index reconciliation at start and after repair, the search of this node's own
 * fragments, and the intake of other owners' shared fragments. What stays here ties them to
 * this node: signing, ownership, replication, the read-through and the memory operations.
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

  private final Identity identity;
  private final FragmentCodec codec;
  private final FragmentStore store;
  private final VectorIndex index;
  private final Embedder embedder;
  private final LongSupplier clock;
  private final MemoryMarks marks = new MemoryMarks();
  private final EmbeddingQueue embedding;
  private final FragmentWrites writes;
  private final IndexReconciler reconciler;
  private final LocalSearch search;
  private final SharedIntake shared;
  private volatile ReadThrough readThrough;
  private volatile ReplicationHooks replication;
  private volatile java.time.Duration writeTimeout = java.time.Duration.ofSeconds(10);

  /** The BLANK read-through, when replication is running. */
  private record ReadThrough(BlankReadHook hook, java.time.Duration timeout, RepairLedger ledger) {}
  private final List<Consumer<Fragment>> putListeners =
      new CopyOnWriteArrayList<>();
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
    this.clock = clock;
    this.embedding = new EmbeddingQueue(store, index, embedder, metrics, queueCapacity);
    this.writes = new FragmentWrites(store, index, marks, embedding);
    this.reconciler = new IndexReconciler(store, index, marks, embedding, writes);
    this.search = new LocalSearch(identity.nodeId(), codec, store, index, embedder, overfetch,
        clock, this::current);
    this.shared = new SharedIntake(identity.nodeId(), codec, store, writes);
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
    FragmentState state = writes.write(f);
    if (state == FragmentState.PRESENT) {
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
    reconciler.restored(id);
  }

  /** A fragment's tombstone was applied behind the service's back: drop it from the index. */
  public void forgotten(FragmentId id) {
    reconciler.forgotten(id);
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
    if (writes.write(f) != FragmentState.PRESENT) {
      return store.get(id).orElse(missing);
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
    return search.search(text, vector, k, filter);
  }

  /**
   * The query vector of a search: the client's, or the text embedded here.
   *
   * @throws InvalidFragmentException when the vector has the wrong dimension
   */
  public float[] queryVector(String text, float[] vector) {
    return search.queryVector(text, vector);
  }

  /**
   * What this node answers to another node's search: only PRESENT fragments whose owner made
   * them shared, so that private fragments (and flagged placeholders) never leave the node.
   *
   * @throws InvalidFragmentException when the vector has the wrong dimension
   */
  public List<SearchHit> searchShared(float[] vector, int k, SearchFilter filter) {
    return search.searchShared(vector, k, filter);
  }

  /** Installs the repair path's answer to "can a copy of this fragment be had now?". */
  public void setCopyLocator(CopyLocator locator) {
    search.setCopyLocator(locator);
  }

  /** Substitutes shown per unavailable hit (0 turns the semantic fallback off). */
  public int substitutesPerHit() {
    return search.substitutesPerHit();
  }

  /** Sets the substitutes shown per unavailable hit, 0 to 10. */
  public void setSubstitutesPerHit(int n) {
    search.setSubstitutesPerHit(n);
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
    return shared.ingest(signed);
  }

  /**
   * Checks a shared fragment from another node (hash, canonical form, limits, owner signature)
   * without storing it, as a network search does with the hits it receives.
   *
   * @throws InvalidFragmentException when it is forged, malformed, over a limit or private
   */
  public Fragment verifyShared(SignedFragment signed) {
    return shared.verify(signed);
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
    shared.setQuota(limits);
  }

  /** The quota on other owners' shared fragments, with what it holds. */
  public SharedQuota sharedQuota() {
    return shared.quota();
  }

  /** Shared fragments refused because their owner was over its quota, since start. */
  public long sharedOverQuota() {
    return shared.overQuota();
  }

  /** Shared fragments of other nodes stored here since start. */
  public long sharedIngested() {
    return shared.ingested();
  }

  /** Whether the index has caught up with the store after start. */
  public boolean indexLoaded() {
    return reconciler.loaded();
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
    return embedding.size();
  }

  /** Brings the index in step with the store after start; see {@link IndexReconciler}. */
  void reconcileIndex() throws InterruptedException {
    reconciler.atStart();
  }

  /** Threads that embed queued texts at once; set before the embedding loop starts. */
  public void setEmbedThreads(int threads) {
    embedding.threads(threads);
  }

  /** Embeds queued text-only fragments until interrupted. */
  void embedLoop() {
    embedding.loop();
  }

  /** Why the embedding thread stopped for good (an Error such as running out of heap). */
  public Optional<String> embedderStopped() {
    return embedding.stopped();
  }

  /** Embeds everything queued, on the calling thread (for tests and orderly stops). */
  void drainEmbedQueue() {
    embedding.drain();
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

  private List<FragmentId> allIds() {
    return IndexReconciler.allIds(store);
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
    return search.nearDuplicate(vector, metadata, similarity);
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
