package io.hicmae.driver.finetune;

import io.hicmae.driver.config.ConfigDef;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code hicmae finetune}: fine-tunes a pre-trained zoo version on labelled clips; options from {@link FinetuneConfig#DEF}. */
@Command(
        name = "finetune",
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tunes a pre-trained version from the zoo on a labelled clip dataset (classification or regression,",
            "from the dataset's label space) as one Spark barrier stage with ring all-reduce, validating after every",
            "epoch (2 clips per video averaged), and publishes the result as a new version whose lineage names the",
            "parent. Defaults are the authors' recipe; --folds K runs K-fold cross-validation, one version per fold."
        })
public final class FinetuneCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--dry-run", description = "Validate the whole configuration, print it, and exit without Spark.")
    boolean dryRun;

    /** Builds the command with one option per configuration key. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new FinetuneCommand());
        FinetuneConfig.DEF.addOptions(cl.getCommandSpec());
        return cl;
    }

    @Override
    public Integer call() throws Exception {
        FinetuneConfig cfg = FinetuneConfig.parse(FinetuneConfig.DEF.given(spec));
        if (dryRun) {
            System.out.println("finetune configuration (valid):");
            ConfigDef.describe(cfg.values()).forEach(l -> System.out.println("  " + l));
            return 0;
        }
        SparkSession spark = FinetuneJob.session(cfg);
        try {
            new FinetuneJob(cfg, System.out).run(spark);
            return 0;
        } finally {
            spark.stop();
        }
    }
}
