package dev.mycelium.node.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Runs the whole {@code mycelium} command in process, as the launcher would, and keeps its exit
 * code, stdout and stderr. Commands plugged in through the ServiceLoader (such as
 * {@code bench}) are there when their module is on the test's classpath; the bench module's
 * tests use this through node's test jar.
 */
public record CliRun(int exit, String out, String err) {
  public static CliRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = MyceliumCli.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new CliRun(code, out.toString(), err.toString());
  }
}
