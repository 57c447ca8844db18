// Drives `mycelium mcp` with the official TypeScript SDK's client, the way an agent's host
// (Claude Desktop, an IDE) does: spawn the server, initialize, list the tools, call each one.
// Usage: node client.mjs <command> [args...]   (the command that starts the server)
// Prints one line "MCP-CLIENT-RESULT <json>" and exits 0 when every check passed; on a failed
// check prints "MCP-CLIENT-FAILED <message>" and exits 1.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node client.mjs <command> [args...]");
  process.exit(2);
}

const transport = new StdioClientTransport({ command, args, stderr: "inherit" });
const client = new Client({ name: "mycelium-mcp-client-test", version: "1.0.0" });
const log = (...a) => console.error("[client]", ...a);

/** Calls a tool; returns its structured content, or throws with the tool's error text. */
async function call(name, args, { expectError = false } = {}) {
  const r = await client.callTool({ name, arguments: args });
  const text = r.content?.[0]?.text ?? "";
  if (expectError) {
    assert.equal(r.isError, true, `${name} should have failed: ${text}`);
    return text;
  }
  assert.notEqual(r.isError, true, `${name} failed: ${text}`);
  // Every answer comes twice: as text for the model and as structured content.
  assert.deepEqual(JSON.parse(text), r.structuredContent, `${name}: text and structure differ`);
  return r.structuredContent;
}

const result = {};
try {
  await client.connect(transport);
  const server = client.getServerVersion();
  assert.equal(server.name, "mycelium");
  assert.ok(client.getServerCapabilities().tools, "the server offers tools");
  assert.match(client.getInstructions() ?? "", /recall/);
  result.server = server;

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, ["forget", "get", "history", "list", "recall", "remember", "update"]);
  for (const t of tools) {
    assert.equal(t.inputSchema.type, "object", `${t.name} has an object schema`);
    assert.ok(t.description.length > 80, `${t.name} has a description an agent can act on`);
  }
  result.tools = names;

  // remember, then the same again: a near-duplicate returns the first one.
  const tea = await call("remember", { text: "The user drinks green tea without sugar", metadata: { topic: "food" } });
  assert.equal(tea.deduplicated, false);
  assert.match(tea.id, /^[0-9a-f]{64}$/);
  const again = await call("remember", { text: "The user drinks green tea without sugar" });
  assert.equal(again.deduplicated, true);
  assert.equal(again.id, tea.id);
  const meeting = await call("remember", { text: "Standup is at 9:30 on Mondays", scope: "run", ttl_seconds: 3600 });
  assert.equal(meeting.run, "run-1");
  assert.ok(meeting.expires_at);
  await call("remember", { text: "Scratch note for this run only", scope: "run" });

  // recall: the best hit is the tea; every hit carries state and owner.
  const recalled = await call("recall", { query: "green tea without sugar", k: 3 });
  assert.ok(recalled.hits.length >= 1);
  assert.equal(recalled.hits[0].id, tea.id);
  assert.equal(recalled.hits[0].state, "PRESENT");
  assert.match(recalled.hits[0].owner, /.+/);
  assert.equal(recalled.hits[0].agent, "test-agent");
  assert.deepEqual(recalled.hits[0].metadata, { topic: "food" });
  const runOnly = await call("recall", { query: "standup monday", scope: "run", k: 10 });
  assert.ok(runOnly.hits.every((h) => h.run === "run-1"), "scope run returns this run's only");
  assert.ok(runOnly.hits.some((h) => h.id === meeting.id));

  // get and list.
  const got = await call("get", { id: tea.id });
  assert.equal(got.text, "The user drinks green tea without sugar");
  assert.equal(got.agent, "test-agent");
  const listed = await call("list", { limit: 10 });
  assert.equal(listed.total, 3);

  // update: a new version supersedes the old one; recall returns only the new one.
  const updated = await call("update", { id: tea.id, text: "The user drinks green tea with honey" });
  assert.equal(updated.supersedes, tea.id);
  assert.notEqual(updated.id, tea.id);
  const afterUpdate = await call("recall", { query: "green tea", k: 10 });
  const ids = afterUpdate.hits.map((h) => h.id);
  assert.ok(ids.includes(updated.id) && !ids.includes(tea.id), "the old version left recall");
  const carried = await call("get", { id: updated.id });
  assert.deepEqual(carried.metadata, { topic: "food" }, "update keeps the labels");

  // history: both versions, oldest first.
  const history = await call("history", { id: tea.id });
  assert.equal(history.current, updated.id);
  assert.deepEqual(history.versions.map((v) => v.id), [tea.id, updated.id]);
  assert.equal(history.versions[0].superseded_by, updated.id);
  assert.equal(history.versions[0].text, "The user drinks green tea without sugar");

  // forget by filter: a dry run counts, the real run needs that count.
  const dry = await call("forget", { scope: "run" });
  assert.equal(dry.dry_run, true);
  assert.equal(dry.matched, 2);
  assert.equal(dry.forgotten, 0);
  const refused = await call("forget", { scope: "run", dry_run: false }, { expectError: true });
  assert.match(refused, /expect/);
  const done = await call("forget", { scope: "run", dry_run: false, expect: 2 });
  assert.equal(done.forgotten, 2);

  // forget by ID takes the earlier versions with it.
  const gone = await call("forget", { id: updated.id });
  assert.deepEqual([...gone.forgotten].sort(), [tea.id, updated.id].sort());
  const empty = await call("list", {});
  assert.equal(empty.total, 0);
  const deleted = await call("get", { id: tea.id });
  assert.equal(deleted.state, "DELETED");

  // Bad input is a tool error the model can read, not a crash.
  const bad = await call("remember", { text: "x", expires_at: "next tuesday" }, { expectError: true });
  assert.match(bad, /ISO-8601/);

  result.calls = "ok";
  console.log("MCP-CLIENT-RESULT " + JSON.stringify(result));
  await client.close();
  process.exit(0);
} catch (e) {
  console.log("MCP-CLIENT-FAILED " + (e?.stack ?? e));
  try {
    await client.close();
  } catch {
    // the server may be gone already
  }
  process.exit(1);
}
