package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.node.peer.PeerFaults;
import dev.mycelium.node.peer.PeerService;
import dev.mycelium.node.replica.ReplicaFaults;
import dev.mycelium.node.replica.ReplicaService;
import dev.mycelium.overlay.MemberState;
import dev.mycelium.storage.replica.ChronicleReplicaStore;
import dev.mycelium.storage.replica.HeldReplica;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication and self-healing between whole nodes on loopback (issue 4): a killed holder is
 * replaced, a crashed holder (no leave) is found by the failure detector and replaced, a wiped
 * node restores, a corrupted holder store is repaired, fragments lost on the owner stay
 * searchable (flagged) and come back byte for byte, a holder serving forged replicas is
 * penalized and routed around, and a delete made while a holder was down stays a delete.
 */
class ReplicationIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SETTLE = Duration.ofSeconds(60);
  private static final int FRAGMENTS = 12;

  @TempDir Path tmp;
  @RegisterExtension final TestNodes fixture = new TestNodes(() -> tmp);

  private List<Node> cluster(int n) throws IOException {
    List<Node> nodes = new ArrayList<>();
    nodes.add(fixture.startWithFixedPort("n0", null));
    for (int i = 1; i < n; i++) {
      nodes.add(fixture.startWithFixedPort("n" + i, fixture.seedOf("n0")));
    }
    return nodes;
  }

  private List<String> holders(Node owner) throws Exception {
    List<String> out = new ArrayList<>();
    fixture.call(owner, "GET", "/v1/repair", null).path("holders")
        .forEach(h -> out.add(h.asText()));
    return out;
  }

  private Node byId(String id) {
    return fixture.nodes().stream().filter(n -> n.nodeId().toString().equals(id)).findFirst()
        .orElse(null);
  }

  private String nameOf(String id) {
    return fixture.running().entrySet().stream()
        .filter(e -> e.getValue().nodeId().toString().equals(id))
        .map(Map.Entry::getKey).findFirst().orElseThrow();
  }

  /** Puts fragments, half private, half shared; answers their IDs and texts. */
  private Map<FragmentId, String> putSome(Node owner, String tag) throws Exception {
    Map<FragmentId, String> out = new LinkedHashMap<>();
    for (int i = 0; i < FRAGMENTS; i++) {
      String text = tag + " fragment " + i + " of the replication test";
      String vis = i % 2 == 0 ? "private" : "shared";
      JsonNode r = fixture.call(owner, "POST", "/v1/fragments",
          "{\"text\":\"" + text + "\",\"visibility\":\"" + vis + "\"}");
      out.put(FragmentId.parse(r.get("id").asText()), text);
    }
    return out;
  }

  private static Optional<FragmentState> heldState(Node holder, FragmentId id) {
    return holder.replicaStore().get(id).map(HeldReplica::state);
  }

  private static boolean holdsAll(Node holder, Iterable<FragmentId> ids) {
    for (FragmentId id : ids) {
      if (heldState(holder, id).orElse(null) != FragmentState.PRESENT) {
        return false;
      }
    }
    return true;
  }

  /** Waits until the owner has R holders and each holds every given fragment. */
  private List<String> awaitReplicated(Node owner, Iterable<FragmentId> ids) {
    List<List<String>> out = new ArrayList<>();
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() -> {
      List<String> hs = holders(owner);
      if (hs.size() < 3) {
        return false;
      }
      for (String h : hs) {
        Node n = byId(h);
        if (n == null || !holdsAll(n, ids)) {
          return false;
        }
      }
      out.clear();
      out.add(hs);
      return true;
    });
    return out.get(0);
  }

  @Test
  void privateReplicasAreSealedAndAPutCanWaitForHolders() throws Exception {
    List<Node> nodes = cluster(4);
    Node owner = nodes.get(0);
    await().atMost(SETTLE).until(() -> holders(owner).size() == 3);
    JsonNode r = fixture.call(owner, "POST", "/v1/fragments",
        "{\"text\":\"a secret nobody else may read\",\"replicas\":3}");
    assertThat(r.path("replicas").path("met").asBoolean()).as(r.toString()).isTrue();
    assertThat(r.path("replicas").path("confirmed")).hasSize(3);
    FragmentId id = FragmentId.parse(r.get("id").asText());
    for (String h : holders(owner)) {
      Node holder = byId(h);
      HeldReplica held = holder.replicaStore().get(id).orElseThrow();
      assertThat(held.owner()).isEqualTo(owner.nodeId());
      String bytes = held.replica().orElseThrow().toByteString().toString(StandardCharsets.UTF_8);
      assertThat(bytes).doesNotContain("secret nobody");
    }
  }

  @Test
  void aKilledHolderIsReplacedAndTheFactorIsWholeAgain() throws Exception {
    List<Node> nodes = cluster(5);
    Node owner = nodes.get(0);
    Map<FragmentId, String> frags = putSome(owner, "kill");
    List<String> before = awaitReplicated(owner, frags.keySet());
    String victim = before.get(0);
    fixture.stop(nameOf(victim));
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() -> {
      List<String> hs = holders(owner);
      return hs.size() == 3 && !hs.contains(victim);
    });
    List<String> after = awaitReplicated(owner, frags.keySet());
    assertThat(after).doesNotContain(victim).hasSize(3);
  }

  @Test
  void aWipedNodeRestoresEveryFragmentFromItsHolders() throws Exception {
    List<Node> nodes = cluster(4);
    Node owner = nodes.get(0);
    Map<FragmentId, String> frags = putSome(owner, "wipe");
    awaitReplicated(owner, frags.keySet());
    fixture.stopAndLoseData("n0");
    Node back = fixture.startWithFixedPort("n0", fixture.seedOf("n1"));
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      for (Map.Entry<FragmentId, String> e : frags.entrySet()) {
        JsonNode f = fixture.call(back, "GET", "/v1/fragments/" + e.getKey(), null);
        assertThat(f.path("state").asText()).as(e.getKey().toString()).isEqualTo("PRESENT");
        assertThat(f.path("text").asText()).isEqualTo(e.getValue());
      }
    });
    JsonNode hits = fixture.call(back, "POST", "/v1/search",
        "{\"text\":\"wipe fragment 3\",\"k\":3}");
    assertThat(hits.path("hits").size()).isPositive();
  }

  @Test
  void aCorruptedHolderStoreIsScrubbedAndRepaired() throws Exception {
    List<Node> nodes = cluster(4);
    Node owner = nodes.get(0);
    Map<FragmentId, String> frags = putSome(owner, "rot");
    List<String> hs = awaitReplicated(owner, frags.keySet());
    String holderName = nameOf(hs.get(0));
    fixture.stop(holderName);
    Path file = tmp.resolve(holderName).resolve(ChronicleReplicaStore.FILES.generation(0));
    // Shared fragments travel in the clear, so their text is in the file: damage two of them.
    byte[] bytes = Files.readAllBytes(file);
    int damaged = 0;
    for (String text : List.of(frags.values().toArray(new String[0])[1],
        frags.values().toArray(new String[0])[3])) {
      int at = TestBytes.indexOf(bytes, text.getBytes(StandardCharsets.UTF_8));
      assertThat(at).as("text in " + file).isNotNegative();
      bytes[at + 2] ^= 0x20;
      damaged++;
    }
    Files.write(file, bytes);
    assertThat(damaged).isEqualTo(2);
    Node holder = fixture.startWithFixedPort(holderName, fixture.seedOf("n0"));
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250))
        .until(() -> holdsAll(holder, frags.keySet()));
    assertThat(holder.replicaStore().stats().blankDetections()).isGreaterThanOrEqualTo(2);
    JsonNode repair = fixture.call(holder, "GET", "/v1/repair", null);
    assertThat(repair.path("held").path("PRESENT").asLong()).isEqualTo(FRAGMENTS);
  }

  @Test
  void aDeleteMadeWhileAHolderIsDownStaysDeleted() throws Exception {
    List<Node> nodes = cluster(4);
    Node owner = nodes.get(0);
    Map<FragmentId, String> frags = putSome(owner, "gone");
    List<String> hs = awaitReplicated(owner, frags.keySet());
    String holderName = nameOf(hs.get(0));
    FragmentId doomed = frags.keySet().iterator().next();
    fixture.stop(holderName);
    fixture.call(owner, "DELETE", "/v1/fragments/" + doomed, null);
    Node holder = fixture.startWithFixedPort(holderName, fixture.seedOf("n0"));
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() ->
        heldState(holder, doomed).orElse(null) == FragmentState.DELETED);
    // Several anti-entropy rounds later it is still deleted everywhere.
    fixture.call(owner, "POST", "/v1/repair/run", null);
    fixture.call(holder, "POST", "/v1/repair/run", null);
    await().pollDelay(Duration.ofSeconds(5)).atMost(SETTLE).untilAsserted(() -> {
      assertThat(fixture.call(owner, "GET", "/v1/fragments/" + doomed, null).path("state").asText())
          .isEqualTo("DELETED");
      for (Node n : fixture.nodes()) {
        assertThat(heldState(n, doomed).orElse(FragmentState.DELETED))
            .as(n.nodeId().shortString()).isEqualTo(FragmentState.DELETED);
      }
    });
  }

  /** Puts {@code n} fragments with metadata, alternately private and shared. */
  private Map<FragmentId, String> putMany(Node owner, String tag, int n) throws Exception {
    Map<FragmentId, String> out = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String text = tag + " memory " + i + " about topic " + (i % 17) + " and item " + i * 7;
      String vis = i % 2 == 0 ? "private" : "shared";
      JsonNode r = fixture.call(owner, "POST", "/v1/fragments", "{\"text\":\"" + text
          + "\",\"visibility\":\"" + vis + "\",\"metadata\":{\"n\":\"" + i + "\"}}");
      out.put(FragmentId.parse(r.get("id").asText()), text);
    }
    return out;
  }

  private static FragmentState ownState(Node owner, FragmentId id) {
    return owner.store().get(id).map(f -> f.state()).orElse(null);
  }

  /** Marks some own fragments BLANK in the owner's store, as lost or rotten bytes would. */
  private static void lose(Node owner, List<FragmentId> ids) {
    for (FragmentId id : ids) {
      owner.store().markBlank(id);
      assertThat(ownState(owner, id)).isEqualTo(FragmentState.BLANK);
    }
  }

  /** Tells replication of the losses (what a read or the scrubber reports) and runs repair. */
  private void reportAndRepair(Node owner, List<FragmentId> ids) throws Exception {
    ReplicaService rs = owner.replication().orElseThrow();
    ids.forEach(rs::blank);
    fixture.call(owner, "POST", "/v1/repair/run", null);
  }

  @Test
  void fragmentsLostOnTheOwnerStaySearchableAndComeBackByteIdentical() throws Exception {
    int total = 200;
    List<Node> nodes = cluster(4);
    Node owner = nodes.get(0);
    Map<FragmentId, String> frags = putMany(owner, "proto", total);
    awaitReplicated(owner, frags.keySet());
    List<FragmentId> ids = new ArrayList<>(frags.keySet());
    // Every fragment is indexed: searching its exact text finds it first.
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      assertThat(owner.fragments().embedQueueSize()).isZero();
      for (FragmentId id : ids.subList(total - 5, total)) {
        JsonNode h = fixture.call(owner, "POST", "/v1/search",
            JSON.writeValueAsString(Map.of("text", frags.get(id), "k", 1)));
        assertThat(h.path("hits").path(0).path("id").asText()).isEqualTo(id.toString());
      }
    });
    Random rnd = new Random(42);
    List<FragmentId> shuffled = new ArrayList<>(ids);
    java.util.Collections.shuffle(shuffled, rnd);
    List<FragmentId> lost = shuffled.subList(0, total * 15 / 200); // 7.5 %
    Map<FragmentId, JsonNode> before = new HashMap<>();
    for (FragmentId id : lost) {
      before.put(id, content(fixture.call(owner, "GET", "/v1/fragments/" + id, null)));
    }
    lose(owner, lost);
    Set<String> lostIds = new java.util.HashSet<>();
    lost.forEach(id -> lostIds.add(id.toString()));
    int lostHits = 0;
    for (int q = 0; q < 1000; q++) {
      // Half the queries aim at a lost fragment, half at any fragment.
      FragmentId target = q % 2 == 0 ? lost.get(rnd.nextInt(lost.size()))
          : ids.get(rnd.nextInt(total));
      HttpResponse<String> r = fixture.send(owner, "POST", "/v1/search",
          JSON.writeValueAsString(Map.of("text", frags.get(target), "k", 5)));
      assertThat(r.statusCode()).as("search " + q + ": " + r.body()).isEqualTo(200);
      for (JsonNode hit : JSON.readTree(r.body()).path("hits")) {
        String id = hit.path("id").asText();
        String state = hit.path("state").asText();
        if (lostIds.contains(id) && !state.equals("PRESENT")) {
          lostHits++;
          assertThat(state).as(hit.toString()).isIn("BLANK", "LOST");
          assertThat(hit.path("text").isNull()).as(hit.toString()).isTrue();
        } else {
          // A present hit (a lost one repaired meanwhile included) carries its own text.
          assertThat(state).as(hit.toString()).isEqualTo("PRESENT");
          assertThat(hit.path("text").asText())
              .isEqualTo(frags.get(FragmentId.parse(id)));
        }
      }
    }
    assertThat(lostHits).as("searches that met a lost fragment").isPositive();
    reportAndRepair(owner, lost);
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() ->
        lost.stream().allMatch(id -> ownState(owner, id) == FragmentState.PRESENT));
    for (FragmentId id : lost) {
      assertThat(content(fixture.call(owner, "GET", "/v1/fragments/" + id, null)))
          .as(id.toString()).isEqualTo(before.get(id));
    }
  }

  @Test
  void aCrashedHolderIsFoundByTheFailureDetectorAndReplaced() throws Exception {
    List<Node> nodes = cluster(5);
    Node owner = nodes.get(0);
    Map<FragmentId, String> frags = putSome(owner, "crash");
    List<String> before = awaitReplicated(owner, frags.keySet());
    String victim = before.get(0);
    Node crashed = byId(victim);
    PeerFaults.crash(crashed.peerService().orElseThrow());
    PeerService ownerPeers = owner.peerService().orElseThrow();
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() -> {
      // No leave was sent, so the owner must never see the victim as having left.
      for (PeerService.PeerInfo p : ownerPeers.peers()) {
        if (p.nodeId().toString().equals(victim)) {
          assertThat(p.state()).isNotEqualTo(MemberState.LEFT);
        }
      }
      List<String> hs = holders(owner);
      return hs.size() == 3 && !hs.contains(victim);
    });
    assertThat(ownerPeers.activeView().stream().map(Object::toString)).doesNotContain(victim);
    List<String> after = awaitReplicated(owner, frags.keySet());
    assertThat(after).doesNotContain(victim).hasSize(3).containsAll(before.subList(1, 3));
  }

  @Test
  void aHolderServingForgedReplicasIsPenalizedAndRepairUsesAnother() throws Exception {
    List<Node> nodes = cluster(4);
    Node owner = nodes.get(0);
    Map<FragmentId, String> frags = putSome(owner, "forge");
    List<String> hs = awaitReplicated(owner, frags.keySet());
    // The first holder in the manifest is the first source every repair asks.
    Node forger = byId(hs.get(0));
    ReplicaFaults.forgeFetchReplies(forger.replication().orElseThrow());
    PeerService ownerPeers = owner.peerService().orElseThrow();
    assertThat(ownerPeers.score(forger.nodeId())).isGreaterThanOrEqualTo(0.0);
    List<FragmentId> lost = new ArrayList<>(frags.keySet()).subList(0, 6);
    Map<FragmentId, JsonNode> before = new HashMap<>();
    for (FragmentId id : lost) {
      before.put(id, content(fixture.call(owner, "GET", "/v1/fragments/" + id, null)));
    }
    lose(owner, lost);
    reportAndRepair(owner, lost);
    await().atMost(SETTLE).pollInterval(Duration.ofMillis(250)).until(() ->
        lost.stream().allMatch(id -> ownState(owner, id) == FragmentState.PRESENT));
    assertThat(ownerPeers.score(forger.nodeId())).as("score of the forger").isNegative();
    for (FragmentId id : lost) {
      assertThat(content(fixture.call(owner, "GET", "/v1/fragments/" + id, null)))
          .isEqualTo(before.get(id));
    }
  }

  /**
   * A fragment as the owner shows it, without where its replicas are: a repair may place them
   * on other holders, but the fragment itself must come back byte for byte.
   */
  private static JsonNode content(JsonNode fragment) {
    com.fasterxml.jackson.databind.node.ObjectNode copy =
        ((com.fasterxml.jackson.databind.node.ObjectNode) fragment).deepCopy();
    copy.remove("replicas");
    return copy;
  }
}
