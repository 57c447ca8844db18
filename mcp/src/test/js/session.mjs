// An agent's session through `mycelium mcp`, printed as a transcript for docs/AGENTS.md.
// Usage: node session.mjs before|after <command> [args...]
// "before" remembers, recalls, updates, reads the history and forgets; "after" (run once the
// node has been wiped and restored from its neighbours) recalls again.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [phase, command, ...args] = process.argv.slice(2);
const client = new Client({ name: "session", version: "1.0.0" });
await client.connect(new StdioClientTransport({ command, args, stderr: "ignore" }));

async function call(name, a) {
  const r = await client.callTool({ name, arguments: a });
  console.log(`> ${name} ${JSON.stringify(a)}`);
  console.log(r.content[0].text.split("\n").map((l) => "  " + l).join("\n"));
  return r.structuredContent;
}

if (phase === "before") {
  const tea = await call("remember", { text: "Ana takes her tea green, without sugar" });
  await call("remember", { text: "Ana's daughter is called Lía and starts school in September" });
  await call("remember", { text: "Ana takes her tea green, without sugar" });
  await call("remember", { text: "The office door code this week is 4711", ttl_seconds: 604800 });
  await call("recall", { query: "how does Ana like her tea?", k: 2 });
  const up = await call("update", { id: tea.id, text: "Ana takes her tea green, with a little honey" });
  await call("history", { id: up.id });
  await call("remember", { text: "Remind Ana to call the plumber at 17:00", scope: "run" });
  const dry = await call("forget", { scope: "run" });
  await call("forget", { scope: "run", dry_run: false, expect: dry.matched });
  await call("list", {});
} else {
  await call("recall", { query: "how does Ana like her tea?", k: 2 });
  await call("list", {});
}
await client.close();
