package dev.mycelium.bench.cli;

import dev.mycelium.node.cli.MyceliumCli;
import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Runs the whole {@code mycelium} command in process, as the launcher would, and keeps its exit
 * code, stdout and stderr: {@code bench} is found through the ServiceLoader, so these tests also
 * check that it is plugged in.
 */
record CliRun(int exit, String out, String err) {
  static CliRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = MyceliumCli.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new CliRun(code, out.toString(), err.toString());
  }
}
