package dev.mycelium.node.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mycelium.node.identity.Identity;
import dev.mycelium.node.identity.IdentityException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mycelium identity show|export|import}: the node's key pair, which a user must keep,
 * because with it a node that lost its disk proves ownership and pulls its fragments back from
 * neighbours. Works on the data directory directly; no running node is needed.
 */
@Command(
    name = "identity",
    description = "Show, export or import the node's identity (its Ed25519 key pair).",
    subcommands = {
      IdentityCommand.Show.class,
      IdentityCommand.Export.class,
      IdentityCommand.Import.class
    })
public final class IdentityCommand extends GroupCommand {
  /** Options shared by the identity subcommands. */
  abstract static class OnDataDir extends ClientCommand {
    @Option(
        names = "--data",
        paramLabel = "DIR",
        defaultValue = "data",
        description = "The node's data directory. Default: ${DEFAULT-VALUE}.")
    Path data;

    Path keyFile() {
      return data.resolve(Identity.FILE_NAME);
    }

    Identity existing() {
      try {
        return Identity.read(keyFile());
      } catch (NoSuchFileException e) {
        throw new CliException(
            ExitCodes.FAILURE,
            "no identity in " + data.toAbsolutePath().normalize() + " (no "
                + Identity.FILE_NAME + "); `mycelium run` makes one on first start, and"
                + " `mycelium identity import FILE` restores a saved one");
      } catch (IdentityException e) {
        throw new CliException(ExitCodes.USAGE, keyFile() + ": " + e.getMessage());
      } catch (IOException e) {
        throw new CliException(ExitCodes.FAILURE, "cannot read " + keyFile() + ": " + e);
      }
    }

    void report(String action, Identity id, Path file) {
      if (json()) {
        ObjectNode o = ApiClient.mapper().createObjectNode();
        o.put("node_id", id.nodeId().toString());
        o.put("data_dir", data.toAbsolutePath().normalize().toString());
        if (file != null) {
          o.put(action, file.toAbsolutePath().normalize().toString());
        }
        printJson(o);
        return;
      }
      List<String[]> kv = new ArrayList<>();
      kv.add(new String[] {"Node ID", id.nodeId().toString()});
      kv.add(new String[] {"Data dir", data.toAbsolutePath().normalize().toString()});
      if (file != null) {
        kv.add(new String[] {capitalized(action), file.toAbsolutePath().normalize().toString()});
      }
      print(Table.keyValues(kv));
    }

    private static String capitalized(String s) {
      return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
  }

  /** {@code identity show}. */
  @Command(name = "show", description = "Print the node ID of the data directory's identity.")
  static final class Show extends OnDataDir {
    @Override
    protected int run() {
      report("file", existing(), keyFile());
      return ExitCodes.OK;
    }
  }

  /** {@code identity export FILE}. */
  @Command(
      name = "export",
      description = {
        "Copy the identity to FILE (mode 0600) for safekeeping.",
        "FILE holds the node's private key: keep it offline and secret."
      })
  static final class Export extends OnDataDir {
    @Parameters(index = "0", paramLabel = "FILE", description = "Where to write it.")
    Path file;

    @Option(names = "--force", description = "Overwrite FILE if it exists.")
    boolean force;

    @Override
    protected int run() {
      Identity id = existing();
      if (Files.exists(file) && !force) {
        throw new CliException(
            ExitCodes.USAGE, file + " already exists; choose another FILE or add --force");
      }
      try {
        id.export(file);
      } catch (IOException e) {
        throw new CliException(ExitCodes.FAILURE, "cannot write " + file + ": " + e);
      }
      report("exported_to", id, file);
      if (!json()) {
        err().println("keep " + file + " secret: it is this node's private key");
        err().flush();
      }
      return ExitCodes.OK;
    }
  }

  /** {@code identity import FILE}. */
  @Command(
      name = "import",
      description = {
        "Install the identity saved in FILE as this data directory's identity.",
        "The node must be stopped. A different identity already there is kept unless --force."
      })
  static final class Import extends OnDataDir {
    @Parameters(index = "0", paramLabel = "FILE", description = "An exported identity.")
    Path file;

    @Option(names = "--force", description = "Replace a different identity already there.")
    boolean force;

    @Override
    protected int run() {
      runningPid().ifPresent(pid -> {
        throw new CliException(
            ExitCodes.FAILURE,
            "a node (pid " + pid + ") is running on " + data + "; stop it before importing");
      });
      Identity id;
      try {
        Files.createDirectories(data);
        id = Identity.importFrom(file, data, force);
      } catch (NoSuchFileException e) {
        throw new CliException(ExitCodes.USAGE, "no such file: " + file);
      } catch (IdentityException e) {
        throw new CliException(ExitCodes.USAGE, e.getMessage());
      } catch (IOException e) {
        throw new CliException(ExitCodes.FAILURE, "cannot import " + file + ": " + e);
      }
      report("imported_from", id, file);
      return ExitCodes.OK;
    }

    /** The pid in api.json when that process is alive: a node holds this data dir. */
    private Optional<Long> runningPid() {
      Path apiJson = data.resolve("api.json");
      try {
        long pid = ApiClient.mapper()
            .readTree(Files.readString(apiJson, StandardCharsets.UTF_8)).path("pid").asLong(-1);
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
            ? Optional.of(pid) : Optional.empty();
      } catch (IOException e) {
        return Optional.empty();
      }
    }
  }
}
