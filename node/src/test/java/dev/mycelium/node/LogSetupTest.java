package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.ConsoleAppender;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LogSetupTest {
  @AfterEach
  void restore() {
    LogSetup.apply("text", "INFO");
  }

  @Test
  void jsonFormatSwitchesToOneJsonObjectPerLineAndQuietsLibraries() {
    LogSetup.apply("json", "DEBUG");
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    ConsoleAppender<?> appender = (ConsoleAppender<?>) root.getAppender("STDERR");
    assertThat(appender.getEncoder()).isInstanceOf(LogstashEncoder.class);
    assertThat(ctx.getLogger("dev.mycelium").getLevel()).isEqualTo(Level.DEBUG);
    assertThat(ctx.getLogger("net.openhft").getLevel()).isEqualTo(Level.WARN);
    assertThat(ctx.getLogger("io.netty").getLevel()).isEqualTo(Level.WARN);

    LogSetup.apply("text", "WARN");
    appender = (ConsoleAppender<?>) root.getAppender("STDERR");
    assertThat(appender.getEncoder()).isNotInstanceOf(LogstashEncoder.class);
    assertThat(ctx.getLogger("dev.mycelium").getLevel()).isEqualTo(Level.WARN);
  }
}
