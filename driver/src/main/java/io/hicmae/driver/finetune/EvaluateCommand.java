package io.hicmae.driver.finetune;

import io.hicmae.driver.config.ConfigDef;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code hicmae evaluate}: scores a fine-tuned zoo version on labelled clips; options from {@link EvaluateConfig#DEF}. */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        description = {
            "Scores a fine-tuned version on labelled clips as upstream tests: 2 clips per video, outputs averaged per",
            "video. Prints WAR, UAR, macro and weighted F1 and the confusion matrix (categories) or PCC and CCC per",
            "dimension (regression); writes metrics.json and confusion-matrix.png to the zoo's evaluations area",
            "(<zoo>/_evaluations/<model>/<version>/<id>/), never into the version itself; --folds K scores each fold."
        })
public final class EvaluateCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--dry-run", description = "Validate the whole configuration, print it, and exit without Spark.")
    boolean dryRun;

    /** Builds the command with one option per configuration key. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EvaluateCommand());
        EvaluateConfig.DEF.addOptions(cl.getCommandSpec());
        return cl;
    }

    @Override
    public Integer call() throws Exception {
        EvaluateConfig cfg = EvaluateConfig.parse(EvaluateConfig.DEF.given(spec));
        if (dryRun) {
            System.out.println("evaluate configuration (valid):");
            ConfigDef.describe(cfg.values()).forEach(l -> System.out.println("  " + l));
            return 0;
        }
        SparkSession spark = EvaluateJob.session(cfg);
        try {
            new EvaluateJob(cfg, System.out).run(spark);
            return 0;
        } finally {
            spark.stop();
        }
    }
}
