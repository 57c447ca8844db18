package dev.mycelium.node;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.net.URL;
import org.slf4j.LoggerFactory;

/**
 * Switches logging to the configured format and level once the configuration is known. Done
 * programmatically because the format may come from a config file or the environment, which
 * are read after logging has started with the text default.
 */
public final class LogSetup {
  private LogSetup() {}

  /**
   * Applies a format ({@code text} or {@code json}) and the level of Mycelium's loggers. Does
   * nothing when Logback is not the logging backend (e.g. embedded in another application).
   */
  public static void apply(String format, String level) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return;
    }
    String resource = "json".equals(format) ? "logback-json.xml" : "logback.xml";
    URL url = LogSetup.class.getClassLoader().getResource(resource);
    if (url != null) {
      ctx.reset();
      JoranConfigurator configurator = new JoranConfigurator();
      configurator.setContext(ctx);
      try {
        configurator.doConfigure(url);
      } catch (JoranException e) {
        System.err.println("mycelium: logging configuration " + resource + " failed: " + e);
      }
    }
    ctx.getLogger("dev.mycelium").setLevel(Level.toLevel(level, Level.INFO));
  }
}
