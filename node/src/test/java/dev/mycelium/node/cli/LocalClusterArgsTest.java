package dev.mycelium.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The flags a local cluster's node processes start with: the parent JVM's, with the nodes' own
 * after them replacing the parent's collector and heap sizing, and never two collectors (a JVM given two refuses to start, which stopped every
 * node of {@code mycelium sim --real}: the simulator runs on the parallel collector and starts
 * its nodes on the serial one).
 */
class LocalClusterArgsTest {
  @Test
  void aCollectorAndAHeapChosenForTheNodesReplaceTheParentsOwn() {
    List<String> args = LocalCluster.childJvmArgs(
        List.of("--add-opens=java.base/java.lang=ALL-UNNAMED", "-XX:MaxRAMPercentage=70",
            "-XX:InitialRAMPercentage=70", "-XX:+UseParallelGC",
            "-Dchronicle.analytics.disable=true", "-Xlog:gc:file=/tmp/sim-gc.log"),
        List.of("-Xmx256m", "-XX:+UseSerialGC"));

    assertThat(args).containsExactly("--add-opens=java.base/java.lang=ALL-UNNAMED",
        "-Dchronicle.analytics.disable=true", "-Xmx256m", "-XX:+UseSerialGC");
  }

  @Test
  void withoutACollectorOfTheirOwnTheNodesKeepTheParents() {
    assertThat(LocalCluster.childJvmArgs(List.of("-XX:+UseG1GC", "-Da=1"), List.of("-Xmx1g")))
        .containsExactly("-XX:+UseG1GC", "-Da=1", "-Xmx1g");
  }
}
