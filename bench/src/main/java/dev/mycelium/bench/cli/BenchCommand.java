package dev.mycelium.bench.cli;

import dev.mycelium.node.cli.GroupCommand;
import picocli.CommandLine.Command;

/** {@code mycelium bench}: reproducible measurements of the store and the vector index. */
@Command(
    name = "bench",
    description = "Measure the store (bench store) and the vector index (bench search).",
    subcommands = {BenchStoreCommand.class, BenchSearchCommand.class,
        BenchReplicationCommand.class})
public final class BenchCommand extends GroupCommand {}
