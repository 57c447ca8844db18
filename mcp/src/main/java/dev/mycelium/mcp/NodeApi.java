package dev.mycelium.mcp;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The part of the node's HTTP API the memory tools use. A failure comes back as an exception
 * whose message a person (or an agent) can act on, as the CLI's client makes them.
 */
public interface NodeApi {
  /** GET; throws on any non-2xx answer. */
  JsonNode get(String path);

  /** POST of a JSON body; throws on any non-2xx answer. */
  JsonNode post(String path, Object body);

  /** DELETE; throws on any non-2xx answer. */
  JsonNode delete(String path);
}
