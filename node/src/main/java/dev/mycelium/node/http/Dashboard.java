package dev.mycelium.node.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

/**
 * The web dashboard's files (classpath folder {@code ui/}: HTML, CSS, JavaScript), served at
 * {@code /ui} by the API server itself so that an operator needs nothing but a browser: no
 * build toolchain, no separate web server, nothing fetched from elsewhere. The files hold no
 * data and are served without the API key; the page asks for the key and sends it with every
 * API call it makes, so the data stays behind the key like any other client's.
 */
final class Dashboard {
  /** The route (metrics label) of every dashboard file. */
  static final String ROUTE = "/ui";

  private static final Map<String, String> FILES = Map.of(
      "/ui", "index.html",
      "/ui/index.html", "index.html",
      "/ui/app.js", "app.js",
      "/ui/app.css", "app.css",
      "/ui/explore.html", "explore.html",
      "/ui/explore.js", "explore.js");

  private Dashboard() {}

  /** Whether a path belongs to the dashboard. */
  static boolean owns(String path) {
    return path.equals(ROUTE) || path.startsWith(ROUTE + "/");
  }

  /** The file at {@code path}, or empty when the dashboard has no such file. */
  static Optional<ApiResponse> serve(String path) {
    String name = FILES.get(path);
    if (name == null) {
      return Optional.empty();
    }
    try (InputStream in = Dashboard.class.getClassLoader().getResourceAsStream("ui/" + name)) {
      if (in == null) {
        return Optional.empty();
      }
      return Optional.of(new ApiResponse(200, contentType(name), in.readAllBytes(), ROUTE));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read dashboard file " + name, e);
    }
  }

  private static String contentType(String name) {
    if (name.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    }
    if (name.endsWith(".css")) {
      return "text/css; charset=utf-8";
    }
    return "text/html; charset=utf-8";
  }
}
