package dev.mycelium.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.mycelium.wire.proto.Envelope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Keeps docs/PROTOCOL.md and the wire schema together: every message an Envelope can carry,
 * and the Hello, must have a row saying who may send it, about whom, how often and how big.
 */
class ProtocolDocTest {
  /** A table row whose first cell is a message name in backticks. */
  private static final Pattern ROW = Pattern.compile("^\\|\\s*`([A-Za-z0-9_]+)`\\s*\\|(.*)$");

  /**
   * Every message that travels as a frame of its own: the bodies an Envelope carries, and the
   * top-level messages of the Envelope's schema file that no other message contains (the
   * link's handshake frames, such as the Hello).
   */
  static Set<String> wireMessages() {
    Set<String> names = new TreeSet<>();
    for (FieldDescriptor f : Envelope.getDescriptor().getOneofs().get(0).getFields()) {
      names.add(f.getMessageType().getName());
    }
    Set<String> contained = new TreeSet<>();
    for (Descriptor d : Envelope.getDescriptor().getFile().getMessageTypes()) {
      for (FieldDescriptor f : d.getFields()) {
        if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
          contained.add(f.getMessageType().getName());
        }
      }
    }
    for (Descriptor d : Envelope.getDescriptor().getFile().getMessageTypes()) {
      if (!contained.contains(d.getName()) && !d.equals(Envelope.getDescriptor())) {
        names.add(d.getName());
      }
    }
    return names;
  }

  static Set<String> documented(String doc) {
    Set<String> names = new TreeSet<>();
    for (String line : doc.split("\n")) {
      Matcher m = ROW.matcher(line.strip());
      if (m.matches()) {
        String[] cells = m.group(2).split("\\|");
        long filled = java.util.Arrays.stream(cells).filter(c -> !c.isBlank()).count();
        // Message, who, about whom, how often, how big, what the receiver allocates.
        if (filled >= 5) {
          names.add(m.group(1));
        }
      }
    }
    return names;
  }

  private static String doc() throws IOException {
    Path p = Path.of("..", "docs", "PROTOCOL.md");
    if (!Files.exists(p)) {
      p = Path.of("docs", "PROTOCOL.md");
    }
    return Files.readString(p);
  }

  @Test
  void everyMessageOnTheWireHasARule() throws IOException {
    Set<String> missing = new TreeSet<>(wireMessages());
    missing.removeAll(documented(doc()));
    assertThat(missing).as("message types without a rule in docs/PROTOCOL.md").isEmpty();
  }

  @Test
  void theHandshakeFramesAreFound() {
    assertThat(wireMessages()).contains("Hello", "Gossip", "Ping")
        .doesNotContain("Envelope", "PeerAddress", "Capacity");
  }

  @Test
  void aMessageWithoutARowIsCaught() {
    String partial = "| `Ping` | any | itself | bucket | small | an Ack |\n";
    Set<String> missing = new TreeSet<>(wireMessages());
    missing.removeAll(documented(partial));
    assertThat(missing).contains("Gossip", "Hello").doesNotContain("Ping");
  }
}
