package io.hicmae.driver.pretrain;

import io.hicmae.driver.config.ConfigDef;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code hicmae pretrain}: distributed HiCMAE pre-training on Spark; options come from {@link PretrainConfig#DEF}. */
@Command(
        name = "pretrain",
        mixinStandardHelpOptions = true,
        description = {
            "Pre-trains HiCMAE on a clip dataset as one Spark barrier stage with ring all-reduce, then publishes it.",
            "Runs in local mode unless spark-submit (or --master) says otherwise. Checkpoints go to the zoo's run",
            "area; a failed stage is resubmitted from the last checkpoint; the result becomes a new zoo version."
        })
public final class PretrainCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--dry-run", description = "Validate the whole configuration, print it, and exit without Spark.")
    boolean dryRun;

    /** Builds the command with one option per configuration key. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new PretrainCommand());
        PretrainConfig.DEF.addOptions(cl.getCommandSpec());
        return cl;
    }

    @Override
    public Integer call() throws Exception {
        PretrainConfig cfg = PretrainConfig.parse(PretrainConfig.DEF.given(spec));
        if (dryRun) {
            System.out.println("pretrain configuration (valid):");
            ConfigDef.describe(cfg.values()).forEach(l -> System.out.println("  " + l));
            return 0;
        }
        SparkSession spark = PretrainJob.session(cfg);
        try {
            new PretrainJob(cfg, System.out).run(spark);
            return 0;
        } finally {
            spark.stop();
        }
    }
}
