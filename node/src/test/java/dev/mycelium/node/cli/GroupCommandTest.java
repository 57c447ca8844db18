package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A command that only groups subcommands, run without one, prints its usage listing them; the
 * root's help ends with the exit codes, as every command's does.
 */
class GroupCommandTest {
  @Test
  void theRootHelpListsTheExitCodes() {
    for (CliRun r : new CliRun[] {CliRun.of(), CliRun.of("--help")}) {
      assertThat(r.exit()).isZero();
      assertThat(r.out()).contains("Usage: mycelium", "Exit codes:",
          "3   cannot reach the node", "4   unauthorized");
    }
  }

  @Test
  void eachGroupRunAlonePrintsItsSubcommands() {
    String[][] groups = {
        {"config", "validate", "show"},
        {"repair", "status", "run"},
        {"keyring", "install", "remove"},
        {"identity", "show", "export"},
    };
    for (String[] g : groups) {
      CliRun r = CliRun.of(g[0]);
      assertThat(r.exit()).as(g[0]).isZero();
      assertThat(r.err()).as(g[0]).contains("Usage: mycelium " + g[0]).contains(g[1], g[2]);
    }
  }
}
