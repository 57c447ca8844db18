package dev.mycelium.overlay;

import com.google.protobuf.ByteString;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.Gossip;
import dev.mycelium.wire.proto.Graft;
import dev.mycelium.wire.proto.IHave;
import dev.mycelium.wire.proto.Prune;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * Epidemic broadcast trees (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007).
 *
 * <p>Every active neighbour starts as an eager peer: a new message is pushed to all of them.
 * A duplicate tells the receiver that the link that brought it is redundant, so it prunes the
 * sender to lazy; what remains eager is a spanning tree, and a broadcast then costs about one
 * payload copy per node. Lazy peers get only message IDs (IHave, batched per tick). When an
 * announced message has not arrived by the graft timeout, the node grafts the announcer back
 * into its tree and pulls the message, which repairs the tree after losses or failures.
 *
 * <p>Messages carry an origin signature (checked through a {@link Verifier} before delivery or
 * relay), a TTL in hops and a priority. A message is known by its key, SHA-256(origin || ID),
 * remembered in a bounded window to drop duplicates: keyed by ID alone, a relay could
 * suppress anyone's message by sending its own first under the same ID. The origin signs the
 * largest TTL it allows ({@code max_ttl}), so a relay can lower a TTL but not raise it.
 * Outgoing payloads wait in a queue bounded in messages and bytes, drained at a fixed rate;
 * when it overflows the lowest priority message is dropped and counted. Payloads are capped
 * ({@link #MAX_PAYLOAD_BYTES}) and the cache that answers grafts is bounded in bytes
 * ({@link #MAX_CACHE_BYTES}), so what a peer can make this node hold does not grow with what
 * it sends. A node delivers only topics it subscribed to, but relays all of them so the tree
 * does not depend on interests.
 */
public final class Plumtree {
  /** Bytes in a message ID. */
  public static final int ID_LENGTH = 32;

  /** The largest payload a broadcast may carry. */
  public static final int MAX_PAYLOAD_BYTES = 256 * 1024;

  /** The longest topic, in UTF-8 bytes. */
  public static final int MAX_TOPIC_BYTES = 256;

  /** The highest priority; a higher one is malformed. */
  public static final int MAX_PRIORITY = 255;

  /** Bytes of cached broadcasts kept to answer grafts. */
  public static final long MAX_CACHE_BYTES = 64L * 1024 * 1024;

  /** Bytes of broadcasts waiting to be sent. */
  public static final long MAX_QUEUE_BYTES = 64L * 1024 * 1024;

  /** Keys one IHave may carry. */
  public static final int MAX_IHAVE_IDS = 1024;

  /** Announcers remembered for one missing message. */
  public static final int MAX_ANNOUNCERS = 8;

  /** Grafts tried for one missing message before giving up on it. */
  private static final int MAX_GRAFTS = 30;

  /** Recent message IDs announced to a new neighbour. */
  private static final int RECENT_ON_NEW_LINK = 64;

  /** What became of a received Gossip. */
  public enum Outcome { DELIVERED, DUPLICATE, BAD_SIGNATURE }

  private record Queued(NodeId to, Gossip gossip, long seq, int priority, int bytes) {}

  private static final class Received {
    Gossip gossip;
    final long at;
    final int bytes;

    Received(Gossip gossip, long at) {
      this.gossip = gossip;
      this.at = at;
      this.bytes = gossip.getSerializedSize();
    }
  }

  private static final class Missing {
    final ArrayDeque<NodeId> announcers = new ArrayDeque<>();
    long deadline;
    int attempts;
  }

  private final OverlayConfig config;
  private final NodeId self;
  private final ByteString selfBytes;
  private final Verifier verifier;
  private final Signer signer;
  private final long idSalt;

  private final Set<NodeId> eager = new LinkedHashSet<>();
  private final Set<NodeId> lazy = new LinkedHashSet<>();
  private final Set<String> topics = new HashSet<>();
  /** Received messages by key; the payload is dropped once it leaves the cache. */
  private final LinkedHashMap<ByteString, Received> seen = new LinkedHashMap<>();
  /** Keys whose payload is still cached, oldest first. */
  private final ArrayDeque<ByteString> cached = new ArrayDeque<>();
  private final LinkedHashMap<ByteString, Missing> missing = new LinkedHashMap<>();
  private final Map<NodeId, List<ByteString>> lazyQueue = new LinkedHashMap<>();
  private final TreeSet<Queued> outbound = new TreeSet<>(
      Comparator.comparingInt(Queued::priority).reversed().thenComparingLong(Queued::seq));
  private long cachedBytes;
  /** When {@link #tick} last ran: batched work is due a tick period after it. */
  private long lastTick;
  private long queuedBytes;
  private final TokenBucket sendBudget;
  private long queueSeq;
  private long ownSeq;

  private long delivered;
  private long received;
  private long duplicates;
  private long dropped;
  private long graftsSent;
  private long prunesSent;
  private long badSignatures;

  public Plumtree(OverlayConfig config, NodeId self, Signer signer, Verifier verifier,
      RandomGenerator random, long now) {
    this.config = config;
    this.self = self;
    this.selfBytes = ByteString.copyFrom(self.toBytes());
    this.signer = signer;
    this.verifier = verifier;
    this.idSalt = random.nextLong();
    this.sendBudget = new TokenBucket(config.broadcastSendsPerSecond(),
        Math.max(1, config.broadcastSendsPerSecond()), now);
    this.lastTick = now;
  }

  public void subscribe(String topic) {
    topics.add(topic);
  }

  public void unsubscribe(String topic) {
    topics.remove(topic);
  }

  /**
   * A new active neighbour starts eager, and is told the IDs of recent messages: a node whose
   * view churns (after failures, or under loss) may have missed both the push and every
   * announcement of a message, and a new link is its chance to pull it.
   */
  public void neighborUp(NodeId peer) {
    lazy.remove(peer);
    eager.add(peer);
    List<ByteString> recent = new ArrayList<>();
    for (Iterator<ByteString> it = cached.descendingIterator();
        it.hasNext() && recent.size() < RECENT_ON_NEW_LINK; ) {
      recent.add(it.next());
    }
    if (!recent.isEmpty()) {
      Collections.reverse(recent);
      lazyQueue.computeIfAbsent(peer, k -> new ArrayList<>()).addAll(recent);
    }
  }

  public void neighborDown(NodeId peer) {
    eager.remove(peer);
    lazy.remove(peer);
    lazyQueue.remove(peer);
    // Announcers stay: a peer that left our view (often only demoted on a suspicion) may
    // still hold the message, and a graft to a peer that is really gone just times out.
    for (Iterator<Queued> it = outbound.iterator(); it.hasNext(); ) {
      Queued q = it.next();
      if (q.to().equals(peer)) {
        it.remove();
        queuedBytes -= q.bytes();
      }
    }
  }

  /**
   * The bytes an origin signs: ID, priority, the largest TTL it allows, topic and payload,
   * unambiguously framed.
   */
  public static byte[] signedBytes(ByteString id, int priority, int maxTtl, String topic,
      ByteString payload) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(id.size() + 4 + 4 + 4 + t.length + payload.size());
    b.put(id.asReadOnlyByteBuffer()).putInt(priority).putInt(maxTtl).putInt(t.length).put(t)
        .put(payload.asReadOnlyByteBuffer());
    return b.array();
  }

  /**
   * The key a message is known by: SHA-256(origin || ID). Two origins choosing the same ID
   * make different keys.
   */
  public static ByteString key(ByteString origin, ByteString id) {
    MessageDigest sha = sha256();
    sha.update(origin.asReadOnlyByteBuffer());
    sha.update(id.asReadOnlyByteBuffer());
    return ByteString.copyFrom(sha.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** Starts a broadcast from this node with the configured TTL; returns its ID. */
  public ByteString broadcast(long now, String topic, ByteString payload, int priority,
      Outbox out) {
    return broadcast(now, topic, payload, priority, config.broadcastTtl(), out);
  }

  /**
   * Starts a broadcast from this node that travels at most {@code ttl} hops; returns its ID.
   * A smaller TTL keeps a message near its origin (shared knowledge of local interest).
   */
  public ByteString broadcast(long now, String topic, ByteString payload, int priority, int ttl,
      Outbox out) {
    if (priority < 0 || priority > MAX_PRIORITY) {
      throw new IllegalArgumentException("priority must be in 0.." + MAX_PRIORITY + ", got "
          + priority);
    }
    if (ttl < 0) {
      throw new IllegalArgumentException("ttl must be >= 0, got " + ttl);
    }
    if (payload.size() > MAX_PAYLOAD_BYTES) {
      throw new IllegalArgumentException("a broadcast payload is at most " + MAX_PAYLOAD_BYTES
          + " bytes, got " + payload.size());
    }
    if (topic.getBytes(StandardCharsets.UTF_8).length > MAX_TOPIC_BYTES) {
      throw new IllegalArgumentException("a topic is at most " + MAX_TOPIC_BYTES + " bytes");
    }
    ByteString id = newId();
    byte[] signature = signer.sign(signedBytes(id, priority, ttl, topic, payload));
    Gossip g = Gossip.newBuilder().setId(id).setOrigin(selfBytes)
        .setSignature(ByteString.copyFrom(signature)).setTtl(ttl).setMaxTtl(ttl)
        .setPriority(priority).setTopic(topic).setPayload(payload).build();
    ByteString key = key(selfBytes, id);
    remember(now, key, g);
    if (topics.contains(topic)) {
      delivered++;
      out.report(new OverlayEvent.Delivered(id, self, topic, priority, payload));
    }
    relay(now, null, key, g, out);
    return id;
  }

  private ByteString newId() {
    MessageDigest sha = sha256();
    sha.update(self.toBytes());
    sha.update(ByteBuffer.allocate(16).putLong(idSalt).putLong(ownSeq++).array());
    return ByteString.copyFrom(sha.digest());
  }

  /**
   * Handles a pushed message.
   *
   * @throws IllegalArgumentException if the message is malformed (caller penalises the sender)
   */
  public Outcome onGossip(long now, NodeId from, Gossip g, Outbox out) {
    if (g.getId().size() != ID_LENGTH) {
      throw new IllegalArgumentException("a broadcast ID is " + ID_LENGTH + " bytes");
    }
    if (g.getPayload().size() > MAX_PAYLOAD_BYTES) {
      throw new IllegalArgumentException("a broadcast payload of " + g.getPayload().size()
          + " bytes, over " + MAX_PAYLOAD_BYTES);
    }
    if (g.getTopic().length() > MAX_TOPIC_BYTES
        || g.getTopic().getBytes(StandardCharsets.UTF_8).length > MAX_TOPIC_BYTES) {
      throw new IllegalArgumentException("a topic over " + MAX_TOPIC_BYTES + " bytes");
    }
    if (Integer.compareUnsigned(g.getPriority(), MAX_PRIORITY) > 0) {
      throw new IllegalArgumentException("priority " + Integer.toUnsignedString(g.getPriority())
          + " over " + MAX_PRIORITY);
    }
    if (Integer.compareUnsigned(g.getTtl(), g.getMaxTtl()) > 0) {
      throw new IllegalArgumentException("ttl " + Integer.toUnsignedString(g.getTtl())
          + " over the origin's max_ttl " + Integer.toUnsignedString(g.getMaxTtl()));
    }
    NodeId origin = NodeId.of(g.getOrigin().toByteArray());
    received++;
    ByteString key = key(g.getOrigin(), g.getId());
    if (seen.containsKey(key)) {
      duplicates++;
      if (eager.remove(from)) {
        lazy.add(from);
        prunesSent++;
        out.send(from, Envelope.newBuilder().setPrune(Prune.getDefaultInstance()).build());
      }
      return Outcome.DUPLICATE;
    }
    if (!verifier.verify(origin, signedBytes(g.getId(), g.getPriority(), g.getMaxTtl(),
        g.getTopic(), g.getPayload()), g.getSignature().toByteArray())) {
      badSignatures++;
      return Outcome.BAD_SIGNATURE;
    }
    remember(now, key, g);
    missing.remove(key);
    if (lazy.remove(from)) {
      eager.add(from);
    }
    if (topics.contains(g.getTopic())) {
      delivered++;
      out.report(new OverlayEvent.Delivered(g.getId(), origin, g.getTopic(), g.getPriority(),
          g.getPayload()));
    }
    // A relay lowers the TTL by one hop and keeps it within the local bound, whatever the
    // previous relay claimed.
    int ttl = Integer.compareUnsigned(g.getTtl(), config.broadcastTtl()) > 0
        ? config.broadcastTtl() : g.getTtl();
    if (ttl > 0) {
      relay(now, from, key, g.toBuilder().setTtl(ttl - 1).build(), out);
    }
    return Outcome.DELIVERED;
  }

  private boolean isNeighbor(NodeId peer) {
    return eager.contains(peer) || lazy.contains(peer);
  }

  private void relay(long now, NodeId from, ByteString key, Gossip g, Outbox out) {
    NodeId origin = null;
    for (NodeId p : eager) {
      if (!p.equals(from)) {
        if (origin == null) {
          origin = NodeId.of(g.getOrigin().toByteArray());
        }
        if (!p.equals(origin)) {
          enqueue(p, g);
        }
      }
    }
    for (NodeId p : lazy) {
      if (!p.equals(from)) {
        lazyQueue.computeIfAbsent(p, k -> new ArrayList<>()).add(key);
      }
    }
    drain(now, out);
  }

  /** Announcements from a broadcast neighbour; anyone else's are ignored. */
  public void onIHave(long now, NodeId from, IHave ihave, Outbox out) {
    if (ihave.getIdsCount() > MAX_IHAVE_IDS) {
      throw new IllegalArgumentException("an IHave of " + ihave.getIdsCount() + " keys");
    }
    if (!isNeighbor(from)) {
      return;
    }
    for (ByteString id : ihave.getIdsList()) {
      if (id.size() != ID_LENGTH) {
        throw new IllegalArgumentException("a broadcast ID is " + ID_LENGTH + " bytes");
      }
      if (seen.containsKey(id)) {
        continue;
      }
      Missing m = missing.get(id);
      if (m == null) {
        m = new Missing();
        m.deadline = now + config.graftTimeoutMillis();
        missing.put(id, m);
        if (missing.size() > config.dedupWindow()) {
          Iterator<ByteString> it = missing.keySet().iterator();
          it.next();
          it.remove();
        }
      }
      if (!m.announcers.contains(from) && m.announcers.size() < MAX_ANNOUNCERS) {
        m.announcers.add(from);
      }
    }
  }

  /** A pull from a broadcast neighbour; a stranger's is ignored (it would be a free copy). */
  public void onGraft(long now, NodeId from, Graft graft, Outbox out) {
    if (!isNeighbor(from)) {
      return;
    }
    lazy.remove(from);
    eager.add(from);
    Received r = seen.get(graft.getId());
    if (r != null && r.gossip != null) {
      enqueue(from, r.gossip);
      drain(now, out);
    }
  }

  public void onPrune(NodeId from) {
    if (eager.remove(from)) {
      lazy.add(from);
    }
  }

  /**
   * The earliest time at which {@link #tick} has work, or {@link Long#MAX_VALUE}: a graft
   * timer, the oldest cached message's expiry, and, a tick period after the last tick (as
   * when it ran every period), the batched announcements and the send queue.
   */
  public long nextDeadline() {
    long batch = lastTick + config.tickMillis();
    long next = Long.MAX_VALUE;
    if (!lazyQueue.isEmpty() || !outbound.isEmpty()) {
      next = batch;
    }
    for (Missing m : missing.values()) {
      next = Math.min(next, m.deadline);
    }
    if (!cached.isEmpty()) {
      Received r = seen.get(cached.peekFirst());
      next = Math.min(next, r == null ? batch : r.at + config.messageCacheMillis());
    }
    return next;
  }

  /** Sends batched announcements, grafts missing messages, drains the queue, ages the cache. */
  public void tick(long now, Outbox out) {
    lastTick = now;
    for (Map.Entry<NodeId, List<ByteString>> e : lazyQueue.entrySet()) {
      List<ByteString> keys = e.getValue();
      for (int i = 0; i < keys.size(); i += MAX_IHAVE_IDS) {
        out.send(e.getKey(), Envelope.newBuilder().setIhave(IHave.newBuilder()
            .addAllIds(keys.subList(i, Math.min(keys.size(), i + MAX_IHAVE_IDS)))).build());
      }
    }
    lazyQueue.clear();
    for (Iterator<Map.Entry<ByteString, Missing>> it = missing.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<ByteString, Missing> e = it.next();
      Missing m = e.getValue();
      if (m.deadline > now) {
        continue;
      }
      NodeId announcer = m.announcers.poll();
      if (announcer == null || m.attempts >= MAX_GRAFTS) {
        it.remove();
        continue;
      }
      // Back of the line rather than forgotten: a graft or its answer can be lost, and the
      // announcers are the only peers known to hold the message.
      m.announcers.add(announcer);
      m.attempts++;
      if (isNeighbor(announcer)) {
        lazy.remove(announcer);
        eager.add(announcer);
      }
      graftsSent++;
      out.send(announcer, Envelope.newBuilder().setGraft(Graft.newBuilder().setId(e.getKey()))
          .build());
      m.deadline = now + config.graftRetryMillis();
    }
    drain(now, out);
    while (!cached.isEmpty()) {
      Received r = seen.get(cached.peekFirst());
      if (r != null && r.at + config.messageCacheMillis() > now) {
        break;
      }
      uncacheOldest();
    }
  }

  private void uncacheOldest() {
    Received r = seen.get(cached.pollFirst());
    if (r != null && r.gossip != null) {
      r.gossip = null;
      cachedBytes -= r.bytes;
    }
  }

  private void enqueue(NodeId to, Gossip g) {
    Queued q = new Queued(to, g, queueSeq++, Math.min(MAX_PRIORITY,
        (int) Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(g.getPriority()))),
        g.getSerializedSize());
    outbound.add(q);
    queuedBytes += q.bytes();
  }

  private void drain(long now, Outbox out) {
    while (!outbound.isEmpty() && sendBudget.tryTake(now)) {
      Queued q = outbound.pollFirst();
      queuedBytes -= q.bytes();
      out.send(q.to(), Envelope.newBuilder().setGossip(q.gossip()).build());
    }
    while (outbound.size() > config.outboundQueueCapacity() || queuedBytes > MAX_QUEUE_BYTES) {
      Queued q = outbound.pollLast();
      queuedBytes -= q.bytes();
      dropped++;
      out.report(new OverlayEvent.BroadcastDropped(q.gossip().getId(), q.gossip().getPriority()));
    }
  }

  private void remember(long now, ByteString key, Gossip g) {
    Received r = new Received(g, now);
    seen.put(key, r);
    cached.addLast(key);
    cachedBytes += r.bytes;
    while (cached.size() > config.dedupWindow() || cachedBytes > MAX_CACHE_BYTES) {
      uncacheOldest();
    }
    while (seen.size() > config.dedupWindow()) {
      Iterator<Received> it = seen.values().iterator();
      Received old = it.next();
      if (old.gossip != null) {
        old.gossip = null;
        cachedBytes -= old.bytes;
      }
      it.remove();
    }
  }

  // ---- state ----

  public Set<NodeId> eagerPeers() {
    return Collections.unmodifiableSet(eager);
  }

  public Set<NodeId> lazyPeers() {
    return Collections.unmodifiableSet(lazy);
  }

  public int queued() {
    return outbound.size();
  }

  /** Bytes of broadcasts waiting in the outbound queue. */
  public long queuedBytes() {
    return queuedBytes;
  }

  /** Bytes of payloads cached to answer grafts. */
  public long cachedBytes() {
    return cachedBytes;
  }

  /** Message keys remembered for duplicate detection. */
  public int remembered() {
    return seen.size();
  }

  /** Messages delivered to local subscribers (own broadcasts included). */
  public long delivered() {
    return delivered;
  }

  /** Payload copies received from peers, duplicates included. */
  public long received() {
    return received;
  }

  public long duplicates() {
    return duplicates;
  }

  public long dropped() {
    return dropped;
  }

  public long graftsSent() {
    return graftsSent;
  }

  public long prunesSent() {
    return prunesSent;
  }

  public long badSignatures() {
    return badSignatures;
  }
}
