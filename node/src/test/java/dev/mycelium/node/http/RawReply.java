package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;

/**
 * An HTTP response that an embedded channel wrote, read back as text, for tests that drive the
 * API's Netty pipeline without a socket.
 *
 * @param headers the status line and headers, without the blank line that ends them
 */
record RawReply(int status, String headers, String body) {
  /** Reads (and releases) everything the channel wrote; a whole response head must be there. */
  static RawReply read(EmbeddedChannel ch) {
    StringBuilder out = new StringBuilder();
    ByteBuf o;
    while ((o = ch.readOutbound()) != null) {
      out.append(o.toString(StandardCharsets.UTF_8));
      o.release();
    }
    String text = out.toString();
    int split = text.indexOf("\r\n\r\n");
    assertThat(split).as("a response arrived: %s", text).isPositive();
    return new RawReply(Integer.parseInt(text.substring(9, 12)), text.substring(0, split),
        text.substring(split + 4));
  }

  /** The body, parsed as JSON. */
  JsonNode json() throws Exception {
    return RequestParser.JSON.readTree(body);
  }
}
