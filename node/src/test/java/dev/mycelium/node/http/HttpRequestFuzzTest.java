package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mycelium.node.metrics.NodeMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Any bytes a local client sends to the API port, through the same pipeline as the server's
 * (codec, keep-alive, the bounded aggregator, the handler; no socket): every answer is a
 * well-formed HTTP response that is not a 500, and nothing escapes the pipeline. The input is
 * fed in two pieces, split where its first byte says, as a slow client would send it.
 */
class HttpRequestFuzzTest {
  private static final String KEY = "fuzz-key";
  private static final int MAX_BODY = 1024;
  private static final NodeMetrics METRICS = new NodeMetrics(() -> null);
  private static final ApiRoutes ROUTES = new ApiRoutes(new StubBackend() {
    @Override
    public List<String> notReadyReasons() {
      return List.of("store opening");
    }

    @Override
    public Map<String, Object> status() {
      return Map.of("node_id", "x");
    }
  }, ApiKey.of(KEY), 4);

  @FuzzTest
  void rawRequest(byte[] input) {
    if (input.length == 0) {
      return;
    }
    EmbeddedChannel ch = new EmbeddedChannel(
        new HttpServerCodec(),
        new HttpServerKeepAliveHandler(),
        new JsonObjectAggregator(MAX_BODY),
        new ApiHandler(ROUTES, Runnable::run, METRICS));
    int split = 1 + (input[0] & 0xff) % input.length;
    ch.writeInbound(Unpooled.wrappedBuffer(input, 1, split - 1));
    if (ch.isOpen()) {
      ch.writeInbound(Unpooled.wrappedBuffer(input, split, input.length - split));
    }
    StringBuilder out = new StringBuilder();
    ByteBuf o;
    while ((o = ch.readOutbound()) != null) {
      out.append(o.toString(StandardCharsets.ISO_8859_1));
      o.release();
    }
    ch.checkException();
    ch.finishAndReleaseAll();
    // Responses one after another: status line, headers, Content-Length bytes of body.
    String text = out.toString();
    int at = 0;
    while (at < text.length()) {
      assertThat(text.startsWith("HTTP/1.1 ", at)).as("a status line at %d in %s", at, text)
          .isTrue();
      String status = text.substring(at + 9, Math.min(text.length(), at + 12));
      assertThat(status).as("status line in %s", text).matches("[1-5][0-9][0-9]");
      assertThat(status).as("answer to a client's bytes: %s", text).isNotEqualTo("500");
      int end = text.indexOf("\r\n\r\n", at);
      assertThat(end).as("end of headers in %s", text).isPositive();
      String headers = text.substring(at, end).toLowerCase(java.util.Locale.ROOT);
      int cl = headers.indexOf("content-length: ");
      int length = 0;
      if (cl >= 0) {
        int eol = headers.indexOf("\r\n", cl);
        length = Integer.parseInt(headers.substring(cl + 16, eol < 0 ? headers.length() : eol)
            .trim());
      }
      at = end + 4 + length;
    }
  }
}
