package dev.mycelium.node;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import dev.mycelium.node.audit.AuditLog;
import dev.mycelium.node.config.HostDefaults;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Switches logging to the configured format and level once the configuration is known. Done
 * programmatically because the format may come from a config file or the environment, which
 * are read after logging has started with the text default. Libraries that log through
 * java.util.logging (jvector) are bridged in, so every line has the same format.
 */
public final class LogSetup {
  private LogSetup() {}

  /**
   * A logging configuration file: from the installation's {@code config/} folder when the
   * launcher of the distribution names it ({@code -Dmycelium.home}), so that an operator can
   * edit the shipped files, else the copy on the classpath.
   */
  static URL configFile(String name) {
    String home = System.getProperty("mycelium.home");
    if (home != null) {
      Path file = Path.of(home, "config", name);
      if (Files.isRegularFile(file)) {
        try {
          return file.toUri().toURL();
        } catch (MalformedURLException e) {
          throw new IllegalStateException("a file path is always a URL: " + file, e);
        }
      }
    }
    return LogSetup.class.getClassLoader().getResource(name);
  }

  /**
   * Applies a format ({@code text} or {@code json}) and the level of Mycelium's loggers. Does
   * nothing when Logback is not the logging backend (e.g. embedded in another application).
   */
  public static void apply(String format, String level) {
    apply(format, level, null);
  }

  /**
   * As {@link #apply(String, String)}, and sends security events ({@link AuditLog}) to their
   * own file, in the same format (config/logback-audit.xml or logback-audit-json.xml).
   *
   * @param auditFile the audit log, e.g. from {@link HostDefaults#auditLog}; null keeps audit
   *     events in the main log
   */
  public static void apply(String format, String level, Path auditFile) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return;
    }
    if (!SLF4JBridgeHandler.isInstalled()) {
      SLF4JBridgeHandler.removeHandlersForRootLogger();
      SLF4JBridgeHandler.install();
    }
    String resource = "json".equals(format) ? "logback-json.xml" : "logback.xml";
    URL url = configFile(resource);
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
    if (auditFile != null) {
      String audit = "json".equals(format) ? "logback-audit-json.xml" : "logback-audit.xml";
      URL auditUrl = configFile(audit);
      if (auditUrl != null) {
        ctx.putProperty("mycelium.audit.file", auditFile.toAbsolutePath().toString());
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(ctx);
        try {
          configurator.doConfigure(auditUrl);
        } catch (JoranException e) {
          System.err.println("mycelium: audit log configuration " + audit + " failed: " + e);
        }
      }
    }
    ctx.getLogger("dev.mycelium").setLevel(Level.toLevel(level, Level.INFO));
  }
}
