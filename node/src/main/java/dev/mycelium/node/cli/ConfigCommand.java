package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mycelium.node.config.ConfigException;
import dev.mycelium.node.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mycelium config validate|show}: check a config file before a restart, and see which
 * layer (default, preset, file, environment, flag) set each effective value, so that "why does
 * my node listen there?" has an answer without reading code.
 */
@Command(
    name = "config",
    description = "Validate a config file, or show the effective configuration.",
    subcommands = {ConfigCommand.Validate.class, ConfigCommand.Show.class})
public final class ConfigCommand extends GroupCommand {
  /** {@code config validate FILE}. */
  @Command(
      name = "validate",
      description = "Check FILE as a node would at start: every key must be documented and"
          + " every value valid. Prints the first problem, naming its key.")
  static final class Validate extends ClientCommand {
    @Parameters(index = "0", paramLabel = "FILE", description = "A HOCON config file.")
    Path file;

    @Option(names = "--preset", paramLabel = "NAME",
        description = "Validate on top of this preset (local, lan, wan, test).")
    String preset;

    @Override
    protected int run() {
      if (!Files.isRegularFile(file)) {
        throw new CliException(ExitCodes.USAGE, "no such file: " + file);
      }
      ObjectNode o = ApiClient.mapper().createObjectNode();
      o.put("file", file.toString());
      try {
        ConfigLoader loader = new ConfigLoader();
        if (preset != null) {
          loader.preset(preset);
        }
        // The start refuses a plain-HTTP API beyond loopback; so does the check before it.
        dev.mycelium.node.http.ApiServer.checkExposure(loader.file(file).load().api());
      } catch (ConfigException e) {
        if (json()) {
          o.put("valid", false);
          o.put("key", e.key());
          o.put("message", e.getMessage());
          printJson(o);
        } else {
          err().println("error: " + file + ": " + e.getMessage());
          err().flush();
        }
        return ExitCodes.USAGE;
      }
      if (json()) {
        o.put("valid", true);
        printJson(o);
      } else {
        print(file + ": valid\n");
      }
      return ExitCodes.OK;
    }
  }

  /** {@code config show [--resolved]}. */
  @Command(
      name = "show",
      description = {
        "Print every setting with its effective value: the shipped defaults, then the"
            + " service's directory ($STATE_DIRECTORY), then --preset, then --config FILE"
            + " (else $MYCELIUM_CONFIG, else $CONFIGURATION_DIRECTORY/mycelium.conf), then"
            + " MYCELIUM_* environment variables, then the flags of `mycelium run`.",
        "With --resolved, also show which of those layers set each value (default, service,"
            + " preset, file, env, flag)."
      })
  static final class Show extends ClientCommand {
    @Option(names = "--resolved", description = "Show the origin of each value.")
    boolean resolved;

    @Option(names = {"--config", "-c"}, paramLabel = "FILE", description = "A config file.")
    Path file;

    @Option(names = "--preset", paramLabel = "NAME",
        description = "A preset (local, lan, wan, test).")
    String preset;

    @picocli.CommandLine.Mixin NodeFlags flags = new NodeFlags();

    @Override
    protected int run() {
      List<ConfigLoader.ResolvedSetting> settings;
      try {
        // The same layers as `mycelium run`, flags included, so both see the same values.
        ConfigLoader loader =
            RunCommand.loader(preset, file, System.getenv(), flags.flagKeys());
        settings = loader.resolvedWithOrigins();
      } catch (ConfigException e) {
        throw new CliException(ExitCodes.USAGE, e.getMessage());
      }
      if (json()) {
        ArrayNode a = ApiClient.mapper().createArrayNode();
        for (ConfigLoader.ResolvedSetting s : settings) {
          ObjectNode o = a.addObject().put("key", s.key()).put("value", s.value());
          if (resolved) {
            o.put("origin", s.origin());
          }
        }
        printJson(a);
        return ExitCodes.OK;
      }
      Table t = resolved ? new Table("KEY", "VALUE", "ORIGIN") : new Table("KEY", "VALUE");
      for (ConfigLoader.ResolvedSetting s : settings) {
        t.row(s.key(), s.value(), s.origin());
      }
      print(t.render());
      return ExitCodes.OK;
    }
  }
}
