package io.hicmae.driver.spark;

import io.hicmae.driver.config.ConfigDef;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.Map;
import java.util.concurrent.Callable;

/**
 * A {@code bin/hicmae} command that runs one Spark job from a typed config: one option per key of the job's
 * {@link ConfigDef}, the whole config validated before Spark starts, {@code --dry-run} printing it, and the session
 * stopped in {@code finally}.
 *
 * @param <C> the job's config type
 */
public abstract class SparkJobCommand<C> implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--dry-run", description = "Validate the whole configuration, print it, and exit without Spark.")
    boolean dryRun;

    @Option(names = UserConf.OPTION, paramLabel = "KEY=VALUE", description = "A Spark setting (spark.*, e.g."
            + " spark.ui.enabled=true) or, with the spark.hadoop. prefix, a Hadoop one (e.g."
            + " spark.hadoop.fs.s3a.endpoint=http://minio:9000); wins over the job's defaults. Repeatable.")
    java.util.List<String> conf = new java.util.ArrayList<>();

    /** The job's keys. */
    protected abstract ConfigDef definition();

    /** Parses and validates the given values; throws naming the key. */
    protected abstract C parse(Map<String, String> raw);

    /** The values in force, for {@code --dry-run}. */
    protected abstract Map<String, Object> values(C cfg);

    /** A session for the job, with the command line's {@code --conf} settings in force. */
    protected abstract SparkSession session(C cfg, UserConf user);

    protected abstract void run(C cfg, SparkSession spark) throws Exception;

    /** The command line of {@code command} with one option per key of its definition. */
    protected static CommandLine commandLine(SparkJobCommand<?> command) {
        CommandLine cl = new CommandLine(command);
        command.definition().addOptions(cl.getCommandSpec());
        return cl;
    }

    @Override
    public Integer call() throws Exception {
        UserConf user = UserConf.parse(conf);
        C cfg = parse(definition().given(spec));
        if (dryRun) {
            System.out.println(spec.name() + " configuration (valid):");
            ConfigDef.describe(values(cfg)).forEach(l -> System.out.println("  " + l));
            return 0;
        }
        SparkSession spark = session(cfg, user);
        try {
            run(cfg, spark);
            return 0;
        } finally {
            spark.stop();
        }
    }
}
