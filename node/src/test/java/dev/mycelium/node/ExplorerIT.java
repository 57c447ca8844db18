package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.node.http.HeadlessChromium;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory explorer end to end: a three-node cluster on loopback, fragments put on the first
 * node (one updated, one made BLANK on the owner and on every holder so that no repair can
 * bring it back, one whose text is markup), and {@code /ui/explore.html} opened in headless
 * Chromium against the real API. The rendered page must show the texts, the flagged state, the
 * chain of versions and the confirmed replicas, and must show the markup as text; a screenshot
 * goes to {@code target/explorer.png} (the one in docs/img/ comes from here). Without Chromium
 * the browser part is skipped, saying so; the API fields the page relies on are still checked.
 */
class ExplorerIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration POLL = Duration.ofMillis(200);
  private static final String HOSTILE = "<script>document.title='pwned'</script>"
      + "<img src=x onerror=\"document.title='pwned'\"> remember to escape this";

  @TempDir Path tmp;

  private final HttpClient http = HttpClient.newHttpClient();
  @RegisterExtension final TestNodes nodes = new TestNodes(() -> tmp);

  private Node start(String name, String seed) {
    return nodes.start(name, nodes.config(name, seed));
  }

  private JsonNode call(Node n, String method, String path, Object body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(n.apiUrl() + path))
        .header("Authorization", "Bearer " + n.apiKey().value())
        .header("Content-Type", "application/json");
    b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
        : b.method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body),
            StandardCharsets.UTF_8));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 299);
    return JSON.readTree(r.body());
  }

  private String put(Node n, String text, String agent, String supersedes) throws Exception {
    ObjectNode body = JSON.createObjectNode().put("text", text).put("agent", agent)
        .put("run", "run-7").put("replicas", 2);
    body.putObject("metadata").put("topic", "planning");
    if (supersedes != null) {
      body.put("supersedes", supersedes);
    }
    JsonNode r = call(n, "POST", "/v1/fragments", body);
    assertThat(r.path("replicas").path("met").asBoolean()).as(r.toString()).isTrue();
    return r.get("id").asText();
  }

  private List<String> holders(Node n) throws Exception {
    List<String> out = new ArrayList<>();
    call(n, "GET", "/v1/repair", null).path("holders").forEach(h -> out.add(h.asText()));
    return out;
  }

  private Node byId(String id) {
    return nodes.running().values().stream().filter(n -> n.nodeId().toString().equals(id))
        .findFirst().orElseThrow();
  }

  @Test
  void theExplorerShowsTextsStatesHistoryAndReplicasAndEscapesMarkup() throws Exception {
    Node one = start("one", null);
    String seed = call(one, "GET", "/v1/status", null).get("peer").asText();
    start("two", seed);
    start("three", seed);
    await().atMost(WAIT).pollInterval(POLL).until(() -> holders(one).size() == 2);

    String first = put(one, "first plan: meet on monday", "planner", null);
    String second = put(one, "second plan: meet on tuesday", "planner", first);
    String hostile = put(one, HOSTILE, "<b>scribe</b>", null);
    String rotten = put(one, "a note whose every copy rots", "scribe", null);

    // The fields the page shows, from the API.
    JsonNode got = call(one, "GET", "/v1/fragments/" + second, null);
    assertThat(got.at("/replicas/holders")).hasSize(2);
    assertThat(got.at("/replicas/confirmed")).hasSize(2);
    JsonNode chain = call(one, "GET", "/v1/fragments/" + second + "/history", null);
    assertThat(chain.get("versions")).hasSize(2);

    // Rot every copy of one fragment: the owner's and the holders' (no repair can succeed).
    FragmentId rottenId = FragmentId.parse(rotten);
    for (String h : holders(one)) {
      byId(h).replicaStore().markBlank(rottenId, one.nodeId());
    }
    one.store().markBlank(rottenId);
    assertThat(one.store().get(rottenId).orElseThrow().state()).isEqualTo(FragmentState.BLANK);

    JsonNode listed = call(one, "POST", "/v1/fragments/list",
        JSON.readTree("{\"states\":[\"PRESENT\",\"BLANK\",\"LOST\"]}"));
    assertThat(listed.get("total").asLong()).isEqualTo(3);
    assertThat(listed.at("/fragments/0/id").asText()).isEqualTo(rotten);
    assertThat(listed.at("/fragments/0/state").asText()).isIn("BLANK", "LOST");
    assertThat(listed.at("/fragments/0/replicas/holders")).hasSize(2);

    // The page's files are public (they hold no data) and hold no key.
    for (String file : List.of("/ui/explore.html", "/ui/explore.js")) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(one.apiUrl() + file))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(file).isEqualTo(200);
      assertThat(r.body()).doesNotContain(one.apiKey().value());
    }
    assertThat(http.send(HttpRequest.newBuilder(URI.create(one.apiUrl() + "/ui/explore.js"))
        .build(), HttpResponse.BodyHandlers.ofString()).body())
        .contains("textContent").doesNotContain("innerHTML =");

    Optional<HeadlessChromium> chromium = HeadlessChromium.find(tmp);
    assumeTrue(chromium.isPresent(), "no chromium on PATH (Debian package chromium);"
        + " the browser part of the explorer test is skipped");
    String url = one.apiUrl() + "/ui/explore.html#key=" + one.apiKey().value();
    String dom = chromium.get().dumpDom(url);

    // Texts and scope.
    assertThat(dom).contains("second plan: meet on tuesday", "agent planner", "run run-7",
        "topic=planning");
    // The BLANK one is listed first, marked, without text.
    assertThat(dom).containsPattern("class=\"card fragment flagged (BLANK|LOST)\" data-id=\""
        + rotten + "\" data-state=\"(BLANK|LOST)\"");
    assertThat(dom).containsPattern("<span class=\"badge state (BLANK|LOST)\">(BLANK|LOST)<");
    assertThat(dom).doesNotContain("a note whose every copy rots");
    // The update's card carries its history: both versions, the old text, the current one.
    assertThat(dom).contains("data-versions=\"2\"", "<li class=\"version PRESENT\" data-id=\""
        + first + "\"", "first plan: meet on monday", ">current<");
    // The superseded version has no card of its own (it left the listing).
    assertThat(dom).doesNotContain("data-id=\"" + first + "\" data-state=");
    // Replicas: both holders confirmed for the fragments put with "replicas": 2.
    assertThat(Pattern.compile("data-confirmed=\"2\" data-holders=\"2\"").matcher(dom)
        .results().count()).isGreaterThanOrEqualTo(2);
    // The markup in a fragment is shown as text: escaped in the DOM, no element, no script ran.
    assertThat(dom).contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x"
        + " onerror=\"document.title='pwned'\"&gt; remember to escape this");
    assertThat(dom).contains("agent &lt;b&gt;scribe&lt;/b&gt;").doesNotContain("<b>");
    assertThat(dom).doesNotContain("<img").contains("<title>Mycelium memories</title>")
        .doesNotContain("pwned</title>");
    assertThat(dom).contains("data-id=\"" + hostile + "\"");
    // The key left the address bar; the login form stayed hidden.
    assertThat(dom).containsPattern("<section id=\"login\" hidden");

    // A search from the address: the semantic search of this node, hits with their replicas.
    String found = chromium.get().dumpDom(one.apiUrl() + "/ui/explore.html#key="
        + one.apiKey().value() + "&q=tuesday");
    assertThat(found).containsPattern("\\d+ hits for .tuesday.")
        .contains("data-id=\"" + second + "\" data-state=\"PRESENT\"")
        .contains("data-confirmed=\"2\" data-holders=\"2\"");

    // Only the flagged ones, as the dashboard's BLANK and LOST links ask.
    String flagged = chromium.get().dumpDom(one.apiUrl() + "/ui/explore.html#key="
        + one.apiKey().value() + "&states=BLANK,LOST");
    assertThat(flagged).contains("1 of 1 fragments", "data-id=\"" + rotten + "\"")
        .doesNotContain("data-id=\"" + second + "\" data-state=");

    // One fragment from the address: the superseded version, marked, with its chain.
    String old = chromium.get().dumpDom(one.apiUrl() + "/ui/explore.html#key="
        + one.apiKey().value() + "&id=" + first);
    assertThat(old).contains("data-id=\"" + first + "\" data-state=\"PRESENT\"",
        "first plan: meet on monday", "data-versions=\"2\"",
        "<span class=\"badge superseded\">superseded</span>")
        .doesNotContain("data-id=\"" + second + "\" data-state=");

    Path shot = Path.of("target", "explorer.png").toAbsolutePath();
    chromium.get().screenshot(url, shot, 1100, 860);
    byte[] png = Files.readAllBytes(shot);
    assertThat(png.length).isGreaterThan(10_000);
    assertThat(new String(png, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }
}
