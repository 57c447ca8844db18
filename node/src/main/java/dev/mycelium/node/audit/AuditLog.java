package dev.mycelium.node.audit;

import static net.logstash.logback.argument.StructuredArguments.kv;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Security events, on their own logger ({@value #LOGGER}) so that they reach their own file
 * (config/logback-audit.xml: {@code audit.log} in {@code $LOGS_DIRECTORY} or the data
 * directory) and not only the main log, which is busy and kept for a shorter time. An operator
 * answering "who tried to get in, and what did the node do about it?" reads one file.
 *
 * <p>Each event is one line: an {@code event} name and key-value fields, which the JSON log
 * format turns into JSON fields (so they can be queried) and the text format prints as
 * {@code key=value}. Secrets are never logged: a network key appears as its public network
 * ID, an API key not at all.
 */
public final class AuditLog {
  /** Name of the audit logger. */
  public static final String LOGGER = "mycelium.audit";

  private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

  private AuditLog() {}

  /** A request to the HTTP API without the right API key (answered 401). */
  public static void apiKeyRefused(String remote, String method, String route) {
    LOG.warn("API key refused {} {} {} {}", kv("event", "api_key_refused"),
        kv("remote", remote), kv("method", method), kv("route", route));
  }

  /**
   * A request to the HTTP API with a {@code Host} that is not one of the node's names
   * (answered 421): a web page that rebinds its DNS name to this machine looks like this. The
   * header is the client's text, so it is cut to 100 characters and anything unprintable is
   * shown as {@code ?}.
   */
  public static void apiHostRefused(String remote, String host, String route) {
    LOG.warn("API Host refused {} {} {} {}", kv("event", "api_host_refused"),
        kv("remote", remote), kv("host", printable(host, 100)), kv("route", route));
  }

  /** Text a client or peer supplied, made safe for one log line: capped, printable ASCII. */
  static String printable(String text, int max) {
    if (text == null) {
      return "(none)";
    }
    StringBuilder sb = new StringBuilder(Math.min(text.length(), max) + 3);
    for (int i = 0; i < text.length() && i < max; i++) {
      char c = text.charAt(i);
      sb.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    if (text.length() > max) {
      sb.append("...");
    }
    return sb.toString();
  }

  /**
   * A peer link refused during its handshake: a certificate that does not match the claimed
   * node ID, another network key, or another protocol version.
   */
  public static void handshakeRefused(String remote, String peer, String reason) {
    LOG.warn("peer handshake refused {} {} {} {}", kv("event", "handshake_refused"),
        kv("remote", remote), kv("peer", peer), kv("reason", reason));
  }

  /** A peer banned for misbehaving (its score fell below the threshold). */
  public static void peerBanned(String peer, long forMillis, String reason) {
    LOG.warn("peer banned {} {} {} {}", kv("event", "peer_banned"), kv("peer", peer),
        kv("for_ms", forMillis), kv("reason", reason));
  }

  /**
   * An operator's change to the network keys this node accepts or presents ({@code install},
   * {@code use}, {@code remove}, through {@code mycelium keyring} or {@code POST /v1/keyring}),
   * named by the key's public network ID.
   */
  public static void networkKey(String action, String networkId) {
    LOG.warn("network key {} {} {}", kv("event", "network_key_" + action),
        kv("action", action), kv("network_id", networkId));
  }
}
