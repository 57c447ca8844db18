package dev.mycelium.node.http;

/**
 * A response before it becomes Netty objects, so that routing can be tested as a plain
 * function and run on a worker thread.
 *
 * @param status HTTP status
 * @param contentType the Content-Type header
 * @param body the bytes to send
 * @param route the route template for metrics, e.g. {@code /v1/fragments/{id}}
 */
public record ApiResponse(int status, String contentType, byte[] body, String route) {
  /** JSON content type of every API answer. */
  public static final String JSON = "application/json; charset=utf-8";
}
