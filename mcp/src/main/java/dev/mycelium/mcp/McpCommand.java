package dev.mycelium.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mycelium.node.cli.ApiClient;
import dev.mycelium.node.cli.ApiTarget;
import dev.mycelium.node.cli.CliException;
import dev.mycelium.node.cli.HelpOption;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mycelium mcp}: a Model Context Protocol server on stdin/stdout that gives an AI agent
 * the node's memory (remember, recall, get, list, update, history, forget). It holds no data of
 * its own: every tool is a call to the local node's HTTP API, found the way every other command
 * finds it, so any number of agents can share one node without racing on files.
 *
 * <p>Stdout carries the protocol and nothing else: before the server starts, {@code System.out}
 * is pointed at stderr, so a stray print or a logging backend's status message cannot corrupt
 * the stream the client parses.
 */
@Command(
    name = "mcp",
    description = {
      "Run a Model Context Protocol server over stdio for AI agents (Claude Desktop, Cursor,"
          + " any MCP client): tools to remember, recall, get, list, update, forget memories and"
          + " read their history, kept by the local node.",
      "Start it from the MCP client's configuration; it talks to the node found through"
          + " --data (api.json, api.key) or --api/--api-key, and needs the node running when a"
          + " tool is called, not at start."
    })
public final class McpCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(McpCommand.class);

  @Mixin ApiTarget target;

  @Mixin HelpOption help;

  @Option(
      names = "--agent",
      paramLabel = "NAME",
      defaultValue = "${env:MYCELIUM_AGENT}",
      description = "The agent this server remembers for: stored with every memory and the"
          + " default scope of recall and list (also $MYCELIUM_AGENT).")
  String agent;

  @Option(
      names = "--run",
      paramLabel = "ID",
      defaultValue = "${env:MYCELIUM_RUN}",
      description = "The run (session) this server remembers for, stored with every memory"
          + " (also $MYCELIUM_RUN).")
  String run;

  @Option(
      names = "--dedup-similarity",
      paramLabel = "S",
      defaultValue = "0.95",
      description = "remember returns an existing memory of the same agent and run whose"
          + " vector is at least this similar (cosine, 0..1) instead of storing a copy;"
          + " 0 turns this off. Default: ${DEFAULT-VALUE}.")
  double dedupSimilarity = 0.95;

  @Override
  public Integer call() {
    if (dedupSimilarity < 0 || dedupSimilarity > 1) {
      System.err.println("error: --dedup-similarity must be from 0 to 1, got " + dedupSimilarity);
      return 2;
    }
    PrintStream protocolOut = System.out;
    System.setOut(System.err);
    CountDownLatch stdinClosed = new CountDownLatch(1);
    InputStream in = new FilterInputStream(System.in) {
      @Override
      public int read() throws IOException {
        return eof(super.read());
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return eof(super.read(b, off, len));
      }

      private int eof(int n) {
        if (n < 0) {
          stdinClosed.countDown();
        }
        return n;
      }
    };
    MemoryTools tools = new MemoryTools(new LazyNodeApi(target),
        new MemoryTools.Defaults(blankToNull(agent), blankToNull(run), dedupSimilarity));
    JacksonMcpJsonMapper json = new JacksonMcpJsonMapper(new ObjectMapper());
    java.util.List<io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification> specs =
        tools.specifications(json);
    StdioServerTransportProvider transport =
        new StdioServerTransportProvider(json, in, protocolOut);
    McpSyncServer server =
        McpServer.sync(transport)
            .serverInfo("mycelium", MemoryTools.VERSION)
            .jsonMapper(json)
            .instructions(MemoryTools.INSTRUCTIONS)
            .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
            .tools(specs)
            .build();
    LOG.info("MCP server on stdio: agent {}, run {}, {} tools", agent, run, specs.size());
    try {
      stdinClosed.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.closeGracefully();
    return 0;
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  /**
   * Connects on first use and again after a failure to find the node, so that the MCP client
   * may start this server before the node runs, and a restarted node (new port in api.json) is
   * found again.
   */
  static final class LazyNodeApi implements NodeApi {
    private final ApiTarget target;
    private volatile NodeApi api;

    LazyNodeApi(ApiTarget target) {
      this.target = target;
    }

    private NodeApi api() {
      NodeApi a = api;
      if (a == null) {
        a = new HttpNodeApi(ApiClient.connect(target));
        api = a;
      }
      return a;
    }

    private <T> T call(java.util.function.Function<NodeApi, T> f) {
      try {
        return f.apply(api());
      } catch (CliException e) {
        if (e.exitCode() == dev.mycelium.node.cli.ExitCodes.UNREACHABLE) {
          api = null;
        }
        throw e;
      }
    }

    @Override
    public JsonNode get(String path) {
      return call(a -> a.get(path));
    }

    @Override
    public JsonNode post(String path, Object body) {
      return call(a -> a.post(path, body));
    }

    @Override
    public JsonNode delete(String path) {
      return call(a -> a.delete(path));
    }
  }
}
