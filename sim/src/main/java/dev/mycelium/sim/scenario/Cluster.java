package dev.mycelium.sim.scenario;

import dev.mycelium.sim.engine.GraphStats;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * The network a scenario runs on, whichever substrate it is: simulated nodes on a virtual
 * clock ({@link SimCluster}) or real node processes on loopback, driven through their HTTP API
 * ({@code dev.mycelium.sim.real.RealCluster}). A scenario written against this interface is
 * written once and runs on both (docs/adr/0016).
 *
 * <p>Nodes are numbered 0 .. {@link #size()} - 1 in the order they were first started. Time is
 * in milliseconds: virtual on a simulated network, wall time since the network started on a
 * real one. What a substrate cannot measure it says through an empty answer (for example
 * {@link #copies(String)}), and the scenario reports the measure as absent.
 */
public interface Cluster {
  /** The run's configuration, seed, random streams and report. */
  ScenarioContext ctx();

  /** Whether the nodes are simulated (virtual time, exact observation, injected latency). */
  boolean simulated();

  /**
   * Brings the network to its starting state: grown to {@code nodes} and settled. On a
   * simulated network every call builds and grows a new one from the same seed. Real processes
   * are reused: the first call starts them, a later call restarts every killed node on its
   * files and waits until all of them form one component again (reported as a finding).
   */
  void fresh();

  /**
   * Grows a new network one node at a time, calling {@code atCheckpoint} with the number of
   * nodes joined at {@code checkpoints} evenly spaced sizes; the last call comes after the
   * network has settled.
   */
  void growWithCheckpoints(int checkpoints, IntConsumer atCheckpoint);

  /** The current time in milliseconds. */
  long now();

  /** Lets the network run until {@code time} (at least one step, even if it is now). */
  void runUntil(long time, String phase);

  /**
   * Lets the network run until {@code done} holds or {@code timeoutMillis} have passed; returns
   * the milliseconds it took, or -1 if it did not hold in time.
   */
  long waitFor(BooleanSupplier done, long timeoutMillis, String phase);

  /** Nodes ever started. */
  int size();

  /** Whether node {@code i} is running and reachable. */
  boolean isLive(int i);

  /** Nodes running and reachable. */
  default int liveCount() {
    return (int) IntStream.range(0, size()).filter(this::isLive).count();
  }

  /** A random running node, drawn from {@code random}. */
  int randomLive(SplittableRandom random);

  /** The graph of the running nodes' active views, as the nodes hold them now. */
  GraphStats graph();

  /** For each node index, how many running nodes list it in their active or passive view. */
  int[] knownBy();

  /** {@link #knownBy()} of the running nodes only, in index order. */
  default int[] knownByLive() {
    int[] known = knownBy();
    return IntStream.range(0, Math.min(size(), known.length)).filter(this::isLive)
        .map(i -> known[i]).toArray();
  }

  /**
   * Drops this share of messages on every node from now on (0 ends it), on every message or,
   * where the substrate can tell them apart, on broadcast traffic only.
   */
  void loss(double rate, boolean broadcastOnly);

  /** Messages (frames, on real nodes) that the injected loss has dropped so far. */
  long droppedByLoss();

  /**
   * Cuts the nodes in {@code a} off from those in {@code b} from now on: what {@code a} sends
   * to {@code b} is dropped and, if {@code bothWays}, what {@code b} sends to {@code a} too.
   * On real nodes a node that cuts a peer drops their TCP link and refuses its dials, so every
   * cut blocks both directions; the real substrate says so in the report when a one-way cut was
   * asked for.
   */
  void partition(BitSet a, BitSet b, boolean bothWays);

  /**
   * Lifts every cut {@link #partition} made, at time {@code at} (now or later); returns the
   * time the last cut was lifted.
   */
  long heal(long at);

  /**
   * Broadcasts a payload from node {@code origin} at time {@code at} (now or later) to the topic
   * every node subscribes to: a Plumtree gossip on a simulated network, a shared fragment put on
   * a real one. Returns the label under which {@link #reach(String)} reports it.
   */
  String broadcast(int origin, long at, String label);

  /** When each node first had the broadcast, so far. */
  Reach reach(String label);

  /** Payload copies sent for a broadcast, where the substrate counts them. */
  OptionalDouble copies(String label);

  /**
   * Adds the traffic section and plot (messages or frames, and bytes, per node per second) to
   * the report, labelled when a scenario reports several.
   */
  void traffic(String label);

  /** Records the heap the nodes use, where the substrate runs them in this JVM. */
  void measureMemory();

  /** What a node came to hold about a peer, as {@link #verdicts(Opinion)} lists it. */
  enum Opinion {
    /** A probe of the peer failed and its suspicion period started. */
    SUSPECTED,
    /** The suspicion ran out: the peer is declared dead. */
    DEAD,
    /** A suspected peer proved it is alive. */
    REFUTED,
    /** The peer left the active view (it may stay in the passive view). */
    LEFT_VIEW,
    /** The peer entered the active view. */
    ENTERED_VIEW,
    /** The connection to a peer in the active view closed. */
    LINK_LOST
  }

  /**
   * Drops this share of node {@code i}'s messages from now on (0 ends it): every message to or
   * from it on a simulated network, the frames it receives on a real one.
   */
  void nodeLoss(int i, double rate);

  /**
   * Freezes node {@code i} at {@code at} (now or later) for {@code millis}, as a long GC pause
   * does: it neither runs nor answers, and its links stay open (SIGSTOP, then SIGCONT, on a
   * real node).
   */
  void pause(int i, long at, long millis);

  /**
   * From {@code at}, for {@code millis}, has node {@code i} take {@code perMessageMillis} over
   * every message it handles. Returns false, leaving the node as it is, where the substrate
   * cannot slow one node alone.
   */
  boolean slow(int i, long at, long perMessageMillis, long millis);

  /**
   * Crashes node {@code i} at {@code at}, without a goodbye (SIGKILL on a real node). A time
   * not after {@link #now()} is now: a real node is killed before this returns unless an action
   * scheduled with {@link #at} before it is due first; a simulated node crashes at the next
   * step, as every simulated event does.
   */
  void crash(int i, long at);

  /**
   * Runs {@code action} at {@code time} (now or later); what is due at the same time runs in
   * the order it was scheduled.
   */
  void at(long time, Runnable action);

  /**
   * The running nodes other than {@code peer} whose active view lists it now; on real nodes
   * as they answer now, a paused one as it last answered while verdicts were recorded.
   */
  int[] activeHolders(int peer);

  /**
   * Records, from now on, what the nodes hold about their peers for {@link #verdicts(Opinion)}.
   * A simulated network records every verdict from its start; real nodes are polled for it.
   */
  void recordVerdicts();

  /**
   * Every verdict of one kind so far, in time order (a peer the network does not know has
   * index -1), or empty where the substrate cannot see that kind.
   */
  Optional<List<Metrics.Verdict>> verdicts(Opinion kind);

  /**
   * Starts the network, as {@link #fresh()} does, with every node replicating the fragments it
   * writes to {@code factor} holders, and returns the operations on the nodes' stores. On real
   * nodes the factor is a node setting: the scenario's {@link ClusterScenario#nodeSettings}
   * must give the same one.
   */
  Replication replicating(int factor);

  /**
   * The stores of a replicating network. A fragment is named by the number {@link #write}
   * gave it; every count and check is of a node's own fragments.
   */
  interface Replication {
    /**
     * Whether fragments are private and sealed before they leave their owner (real nodes), or
     * shared (simulated nodes, whose stores replicate shared fragments only).
     */
    boolean sealed();

    /**
     * Writes a fragment of about {@code textBytes} bytes of text on node {@code owner} now;
     * the simulated substrate draws its text and vector from {@code random}.
     */
    int write(int owner, int textBytes, SplittableRandom random);

    /**
     * Lets the network run until every fragment written so far is placed on its R holders or
     * {@code timeoutMillis} have passed.
     */
    Placement awaitPlaced(long timeoutMillis);

    /**
     * Damages node {@code node}'s fragments {@code lost}, the way this substrate can: on a
     * simulated store half lose their bytes (BLANK) and half get a flipped byte, both through
     * the store's test hooks; on a real node every copy of their text in the stopped node's
     * Chronicle file gets a flipped bit, and the node starts again. Repairs count from here.
     */
    Damage damage(int node, List<Integer> lost);

    /**
     * Reads the fragment on node {@code node} as a user's lookup does; a read that finds it
     * BLANK or damaged queues its repair.
     */
    Lookup lookup(int node, int fragment);

    /**
     * Has node {@code node} check every own fragment now, as its scrubber does, and queue the
     * repair of those not readable; how many it found, or empty where the node scrubs on its
     * own schedule only (real nodes).
     */
    OptionalInt scrub(int node);

    /**
     * Node {@code node}'s own fragments by state now, without reading them; empty when the
     * node does not answer.
     */
    Optional<Tally> tally(int node);

    /** Node {@code node}'s repairs since its last damage or wipe. */
    Repairs repairs(int node);

    /** Node {@code node}'s own fragments that read PRESENT with exactly the bytes written. */
    int identical(int node);

    /**
     * Node {@code node} loses its store but keeps its identity, and starts restoring from its
     * holders; returns what it lost, in words. Repairs count from here.
     */
    String wipe(int node);

    /** Replication bytes sent on the network so far, where the substrate counts them. */
    OptionalLong networkBytes();
  }

  /**
   * How placement went: the milliseconds it took (on real nodes -1 when not done in time), the
   * fewest and mean copies of a fragment where other nodes' copies can be seen (simulated), and
   * the fewest holders an owner's manifest lists where the owners report them (real).
   */
  record Placement(long millis, OptionalInt minCopies, OptionalDouble meanCopies,
      OptionalInt fewestHolders) {}

  /** What {@link Replication#damage} did: fragments blanked, fragments corrupted, in words. */
  record Damage(int blanked, int corrupted, String how) {}

  /** What a lookup got. */
  enum Lookup {
    /** No answer, or an answer without the fragment. */
    FAILED,
    /** The fragment flagged BLANK or LOST, without bytes: its repair is queued. */
    BLANK,
    /** PRESENT with exactly the bytes written. */
    INTACT,
    /** Anything else: other bytes, or a BLANK fragment carrying bytes. */
    WRONG
  }

  /**
   * A node's own fragments by state: PRESENT, BLANK and LOST as its store says (a damaged
   * fragment not yet read still says PRESENT; a simulated store counts missing ones as BLANK),
   * and the intact ones where the substrate can check the bytes without a read (simulated).
   */
  record Tally(int present, int blank, int lost, OptionalInt intact) {}

  /** Repairs done and failed and the bytes they fetched; -1 each where the node did not answer. */
  record Repairs(long done, long failed, long bytesMoved) {}

  // ---- nodes leaving and returning, and fragments replicated among them ----

  /** Node {@code i} leaves now, telling its neighbours (SIGTERM on a real node). */
  void leave(int i);

  /**
   * Starts node {@code i}, which left or crashed, again now, joining through {@code seeds}
   * (node indexes; a repeated one counts once). It keeps its stored fragments and held
   * replicas. A simulated node comes back with empty overlay state at once; a real one
   * restarts on its own files, so it also knows the peers it saved, and this returns when it
   * answers, which takes seconds.
   */
  void restart(int i, List<Integer> seeds);

  /**
   * Writes a fragment of about {@code textBytes} bytes, made unique by {@code serial}, on node
   * {@code owner} now, to be replicated to its holders; its ID, or empty when the node did not
   * take it (down, or no answer in time). Simulated text and vector are drawn from
   * {@code random}; real nodes are given a private fragment. Simulated nodes store data only
   * on a network started with {@link #replicating}; {@link Replication#write} is the same
   * write for a scenario that keeps the fragments' bytes to check and damage them.
   */
  Optional<String> write(int owner, int serial, int textBytes, SplittableRandom random);

  /**
   * Whether fragment {@code id}, written with {@link #write} on node {@code owner}, reads as
   * PRESENT there now; false when the owner is down or does not answer in time.
   */
  boolean readable(int owner, String id);

  /**
   * Copies of each of {@code ids} (written with {@link #write}) that running nodes other than
   * the owner hold readable now, or empty where the substrate cannot see which fragments a node
   * holds: a real node's API counts the replicas it holds, but does not list them.
   */
  Optional<Map<String, Integer>> liveCopies(Collection<String> ids);

  /** Replicas that the running nodes hold readable for other owners, summed over them. */
  long heldReplicas();

  /**
   * The holders node {@code owner}'s manifest lists now, as node indexes; none before placement
   * or when the owner is down (a real owner that does not answer in time counts as down).
   */
  List<Integer> holders(int owner);

  /**
   * One reading of the running nodes' active views.
   *
   * @param graph the graph of their linked active-view entries
   * @param answered running nodes whose views were read (a real node may not answer in time)
   * @param entries active-view entries of those nodes, linked or not
   * @param stale those of the entries that point at nodes that are down
   * @param empty running nodes whose views were read and hold no entry
   */
  record ViewReading(GraphStats graph, int answered, int entries, int stale, int empty) {
    /**
     * Stale entries plus running nodes with an empty view: what must reach zero for the views
     * to be healed.
     */
    public int unhealed() {
      return stale + empty;
    }
  }

  /** Reads every running node's active view once. */
  ViewReading readViews();
}
