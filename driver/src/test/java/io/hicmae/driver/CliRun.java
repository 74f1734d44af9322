package io.hicmae.driver;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** bin/hicmae's command line run in-process, keeping what each run printed to stdout and stderr. */
public final class CliRun {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    /** Runs {@code hicmae args...} after clearing what the last run printed; returns its exit code. */
    public int run(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = HicmaeCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    /** What the last run printed to stdout. */
    public String out() {
        return out.toString();
    }

    /** What the last run printed to stderr. */
    public String err() {
        return err.toString();
    }
}
