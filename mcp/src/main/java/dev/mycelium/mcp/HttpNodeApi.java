package dev.mycelium.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mycelium.node.cli.ApiClient;

/** {@link NodeApi} over the CLI's HTTP client. */
final class HttpNodeApi implements NodeApi {
  private final ApiClient client;

  HttpNodeApi(ApiClient client) {
    this.client = client;
  }

  @Override
  public JsonNode get(String path) {
    return client.get(path);
  }

  @Override
  public JsonNode post(String path, Object body) {
    return client.post(path, body);
  }

  @Override
  public JsonNode delete(String path) {
    return client.delete(path);
  }
}
